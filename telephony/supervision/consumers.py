"""``/ws/wallboard/``: the supervisor wallboard's live channel.

Permission (``telephony.view_wallboard``) is checked before the socket joins any group; a
refused socket is accepted and closed with 4403 so the browser can say why. On connect the
consumer sends a full ``snapshot`` (:func:`~telephony.supervision.selectors.wallboard_snapshot`),
then forwards the bridge's ``call.update`` and ``seat.update`` summaries as they arrive on
the ``wallboard`` group; the browser applies them (``static/js/wallboard.js``). Every
``TELEPHONY_WALLBOARD_REFRESH_SECONDS`` (and when the browser sends
``{"type": "snapshot"}``) a fresh snapshot corrects whatever the deltas cannot carry (the
day's totals, a message lost on the way). The browser may send only ``ping`` and
``snapshot``; actions are HTTP POSTs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import close_old_connections

from telephony.groups import WALLBOARD
from telephony.supervision.selectors import wallboard_snapshot
from telephony.supervision.services import WALLBOARD_PERMISSION

logger = logging.getLogger("telephony.supervision")

CLOSE_FORBIDDEN = 4403
DEFAULT_REFRESH_SECONDS = 15.0
#: Snapshots a socket may ask for per refresh period (a browser cannot make us loop).
MAX_ASKED_SNAPSHOTS = 3


def may_view_wallboard(user) -> bool:
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.has_perm(WALLBOARD_PERMISSION)
    )


def _still_allowed(user) -> bool:
    """The permission re-read from the database (``has_perm`` caches it on the user)."""
    from django.contrib.auth import get_user_model

    close_old_connections()
    fresh = get_user_model().objects.filter(pk=getattr(user, "pk", None)).first()
    return may_view_wallboard(fresh)


def _snapshot() -> dict:
    close_old_connections()
    return wallboard_snapshot()


class WallboardConsumer(AsyncJsonWebsocketConsumer):
    joined = False
    refresher: asyncio.Task | None = None

    async def connect(self) -> None:
        user = self.scope.get("user")
        if not await database_sync_to_async(may_view_wallboard)(user):
            await self.accept()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(WALLBOARD, self.channel_name)
        self.joined = True
        self.asked = 0
        await self.accept()
        await self.send_snapshot()
        refresh = float(
            getattr(settings, "TELEPHONY_WALLBOARD_REFRESH_SECONDS", DEFAULT_REFRESH_SECONDS)
        )
        if refresh > 0:
            self.refresher = asyncio.ensure_future(self._refresh_every(refresh))

    async def disconnect(self, code: int) -> None:
        if self.refresher is not None:
            self.refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.refresher
        if self.joined:
            await self.channel_layer.group_discard(WALLBOARD, self.channel_name)

    async def send_snapshot(self) -> None:
        snapshot = await database_sync_to_async(_snapshot)()
        await self.send_json(snapshot)

    async def _refresh_every(self, seconds: float) -> None:
        while True:
            await asyncio.sleep(seconds)
            self.asked = 0
            # The permission may have been withdrawn since the socket opened.
            if not await database_sync_to_async(_still_allowed)(self.scope.get("user")):
                await self.close(code=CLOSE_FORBIDDEN)
                return
            try:
                await self.send_snapshot()
            except Exception:  # a refresh is a convenience; deltas keep flowing
                logger.warning("wallboard refresh failed", exc_info=True)

    async def receive_json(self, content, **kwargs) -> None:
        if not isinstance(content, dict):
            return
        kind = content.get("type")
        if kind == "ping":
            await self.send_json({"type": "pong"})
        elif kind == "snapshot" and self.asked < MAX_ASKED_SNAPSHOTS:
            self.asked += 1
            await self.send_snapshot()

    # Group messages are the browser messages themselves (telephony.services.calls).

    async def call_update(self, message: dict) -> None:
        await self.send_json(message)

    async def seat_update(self, message: dict) -> None:
        await self.send_json(message)
