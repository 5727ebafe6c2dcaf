"""``/ws/desktop/``: the agent desktop's live channel (docs/telephony-contract.md).

The socket is a notification path only: every message it carries is already in the
database, so a socket that drops loses nothing — on every (re)connect the consumer sends
the agent's current status and, if a call is in progress, its pop again (``replay``).
The browser may only send ``{"type": "ping"}``; actions go through HTTP POST views.

A pop published while this process was not subscribed is gone (Redis pub/sub keeps
nothing): Redis restarted, or it disconnected a subscriber that fell too far behind
(``client-output-buffer-limit pubsub``, i.e. above the saturation point). So the process
watches its pub/sub connection (:class:`ReconnectWatch`): after every reconnect each open
desktop re-reads its current call and status, as after its own reconnect — at once and
once more :data:`REPAIR_AGAIN_AFTER` seconds later, for an offer the write-behind had not
written yet. The pop path itself (``call_offered``) touches no database.
"""

from __future__ import annotations

import asyncio
import logging
import weakref

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from telephony.choices import CallOutcome
from telephony.groups import agent_group
from telephony.models import Call, SeatSession
from telephony.payloads import agent_status_payload, call_payload

DESKTOP_PERMISSIONS = ("telephony.use_desktop", "telephony.click_to_dial")
CLOSE_FORBIDDEN = 4403
#: Group message types forwarded to the browser as they are (no database on the way).
FORWARDED = frozenset(
    {
        "call.offered",
        "call.answered",
        "call.ended",
        "call.withdrawn",
        "agent.status",
        "dial.progress",
        "callback.offered",
    }
)
#: Seconds after a channel-layer reconnect when the desktops re-read their call a second time.
REPAIR_AGAIN_AFTER = 3.0

logger = logging.getLogger("telephony.desktop")

#: The open desktops of this process (repaired after a channel-layer reconnect).
_desktops: weakref.WeakSet[DesktopConsumer] = weakref.WeakSet()


class ReconnectWatch:
    """A connect callback on the channel layer's Redis pub/sub connection. It is registered
    after the first subscription, so every call is a reconnect: what was published in
    between is lost, and every open desktop repairs its state."""

    def __init__(self) -> None:
        self.reconnects = 0

    async def on_connect(self, _connection) -> None:
        self.reconnects += 1
        logger.warning(
            "channel layer reconnected to Redis (%d); %d desktop(s) re-read their call",
            self.reconnects,
            len(_desktops),
        )
        for desktop in list(_desktops):
            desktop.repair_soon()


def watch_layer(layer) -> ReconnectWatch | None:
    """Register a :class:`ReconnectWatch` on each pub/sub connection of ``layer`` (the
    ``RedisPubSubChannelLayer`` of channels-redis 4.x, which reconnects and resubscribes
    silently); ``None`` for other layers. Idempotent per connection."""
    get_layer = getattr(layer, "_get_layer", None)
    if get_layer is None:
        return None
    watch = None
    for shard in getattr(get_layer(), "_shards", ()):
        pubsub = getattr(shard, "_pubsub", None)
        connection = getattr(pubsub, "connection", None)
        if connection is None:
            continue
        watch = getattr(connection, "_tvshop_watch", None)
        if watch is None:
            watch = ReconnectWatch()
            connection._tvshop_watch = watch  # the callback is held weakly by redis-py
            connection.register_connect_callback(watch.on_connect)
    return watch


def desktop_state(user) -> tuple[dict, dict | None]:
    """``agent.status`` and the replayed ``call.offered`` (or ``None``) for ``user``."""
    session = SeatSession.objects.select_related("seat").filter(user=user, ended_at=None).first()
    status = agent_status_payload(session.seat if session else None)
    call = (
        Call.objects.select_related("hotline__station", "hotline__product", "customer")
        .filter(agent=user, outcome=CallOutcome.IN_PROGRESS)
        .order_by("-created_at", "-id")
        .first()
    )
    replay = None
    if call is not None:
        replay = {"type": "call.offered", "replay": True, "call": call_payload(call, user=user)}
    return status, replay


def may_use_desktop(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and any(user.has_perm(perm) for perm in DESKTOP_PERMISSIONS)
    )


class DesktopConsumer(AsyncJsonWebsocketConsumer):
    group: str | None = None
    _repairs: set[asyncio.Task] | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(may_use_desktop)(user):
            # Accept then close with 4403, so the browser sees why (a refused handshake
            # only gives 1006). Nothing is joined, nothing is sent.
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = agent_group(user.pk)
        await self.channel_layer.group_add(self.group, self.channel_name)
        watch_layer(self.channel_layer)
        _desktops.add(self)
        await self.accept()
        await self.send_state()

    async def send_state(self) -> None:
        """The agent's status and, if a call is in progress, its pop (``replay``)."""
        status, replay = await database_sync_to_async(desktop_state)(self.scope["user"])
        await self.send_json(status)
        if replay is not None:
            await self.send_json(replay)

    def repair_soon(self) -> None:
        """Re-read the state now and once more a little later (see the module docstring)."""
        if self._repairs is None:
            self._repairs = set()
        task = asyncio.get_running_loop().create_task(self._repair())
        self._repairs.add(task)
        task.add_done_callback(self._repairs.discard)

    async def _repair(self) -> None:
        try:
            await self.send_state()
            await asyncio.sleep(REPAIR_AGAIN_AFTER)
            await self.send_state()
        except Exception:  # the socket went meanwhile: its own reconnect replays
            logger.debug("desktop repair failed", exc_info=True)

    async def disconnect(self, code: int) -> None:
        _desktops.discard(self)
        for task in list(self._repairs or ()):
            task.cancel()
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    # Group messages are the browser messages themselves (see telephony.services.calls).

    async def dispatch(self, message: dict) -> None:
        """Group messages go straight to the socket. Channels' own dispatch first runs
        ``close_old_connections`` on a database thread for every message (a thread hop per
        pop, and pops queue behind each other's hops); the forwarding handlers touch no
        database, so they skip it. Socket events (connect, receive, disconnect) keep it."""
        kind = message.get("type")
        if kind in FORWARDED:
            await getattr(self, kind.replace(".", "_"))(message)
            return
        await super().dispatch(message)

    async def _forward(self, message: dict) -> None:
        await self.send_json(message)

    async def call_offered(self, message: dict) -> None:
        await self._forward(message)

    async def call_answered(self, message: dict) -> None:
        await self._forward(message)

    async def call_ended(self, message: dict) -> None:
        await self._forward(message)

    async def call_withdrawn(self, message: dict) -> None:
        await self._forward(message)

    async def agent_status(self, message: dict) -> None:
        await self._forward(message)

    async def dial_progress(self, message: dict) -> None:
        await self._forward(message)

    async def callback_offered(self, message: dict) -> None:
        """A callback handed to this agent (telephony.callbacks): the preview pop."""
        await self._forward(message)
