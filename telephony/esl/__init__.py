"""FreeSWITCH event socket (ESL): protocol layer and asyncio inbound client.

Layers, from the wire up (pure asyncio + stdlib, no Django here):

* :mod:`.frames` — bytes ↔ frames (incremental, Content-Length framing, duplicate headers);
* :mod:`.events` — event frames ↔ :class:`Event` (plain URL-decoding, json duplicate keys);
* :mod:`.parse_callcenter` — ``callcenter_config … list`` and ``show … as json`` replies;
* :mod:`.client` — :class:`ESLClient`: auth, subscriptions, api/bgapi, reconnect, watchdog;
* :mod:`.testserver` — the switch's side, for tests and as the simulator's base.
"""

from telephony.esl.client import ClientStats, ESLClient, EventBuffer, OverflowPolicy
from telephony.esl.errors import (
    AccessDenied,
    AuthError,
    CommandError,
    ConnectionLost,
    ESLError,
    ProtocolError,
)
from telephony.esl.events import Event, parse_event
from telephony.esl.frames import Command, Frame, FrameParser

__all__ = [
    "AccessDenied",
    "AuthError",
    "ClientStats",
    "Command",
    "CommandError",
    "ConnectionLost",
    "ESLClient",
    "ESLError",
    "Event",
    "EventBuffer",
    "Frame",
    "FrameParser",
    "OverflowPolicy",
    "ProtocolError",
    "parse_event",
]
