"""Pure normalisation of switch events into domain events (no I/O, no Django, no clock).

``normalize(event)`` turns one parsed ESL :class:`~telephony.esl.events.Event` into a list
of :mod:`~telephony.normalize.domain` events; see :mod:`telephony.normalize.rules` for how
the call is identified, where times come from and how idempotency keys are built.
"""

from telephony.normalize.domain import (
    CALL_EVENTS,
    AgentCallEnded,
    AgentStateChanged,
    AgentStatusChanged,
    CallAnswered,
    CallBridged,
    CallCreated,
    CallDequeued,
    CallEnded,
    CallHeld,
    CallOffered,
    CallQueued,
    CallTransferred,
    CallUnbridged,
    CallUnheld,
    DomainEvent,
    Heartbeat,
    JobDone,
    LegAnswered,
    LegCreated,
    LegEnded,
    LegRinging,
    MembersCount,
    RingNoAnswer,
)
from telephony.normalize.rules import call_uuid_of, event_time, idempotency_key, normalize

__all__ = [
    "CALL_EVENTS",
    "AgentCallEnded",
    "AgentStateChanged",
    "AgentStatusChanged",
    "CallAnswered",
    "CallBridged",
    "CallCreated",
    "CallDequeued",
    "CallEnded",
    "CallHeld",
    "CallOffered",
    "CallQueued",
    "CallTransferred",
    "CallUnbridged",
    "CallUnheld",
    "DomainEvent",
    "Heartbeat",
    "JobDone",
    "LegAnswered",
    "LegCreated",
    "LegEnded",
    "LegRinging",
    "MembersCount",
    "RingNoAnswer",
    "call_uuid_of",
    "event_time",
    "idempotency_key",
    "normalize",
]
