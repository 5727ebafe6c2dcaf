"""``/ws/desktop/``: the agent desktop's live channel (docs/telephony-contract.md).

The socket is a notification path only: every message it carries is already in the
database, so a socket that drops loses nothing — on every (re)connect the consumer sends
the agent's current status and, if a call is in progress, its pop again (``replay``).
The browser may only send ``{"type": "ping"}``; actions go through HTTP POST views.
"""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from telephony.choices import CallOutcome
from telephony.groups import agent_group
from telephony.models import Call, SeatSession
from telephony.payloads import agent_status_payload, call_payload

DESKTOP_PERMISSIONS = ("telephony.use_desktop", "telephony.click_to_dial")
CLOSE_FORBIDDEN = 4403


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
        await self.accept()
        status, replay = await database_sync_to_async(desktop_state)(user)
        await self.send_json(status)
        if replay is not None:
            await self.send_json(replay)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})

    # Group messages are the browser messages themselves (see telephony.services.calls).

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
