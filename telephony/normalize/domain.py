"""Domain events: what the rest of the app needs to know about the switch, and nothing else.

Each is a frozen, slotted dataclass built by :func:`telephony.normalize.normalize` from one
ESL :class:`~telephony.esl.events.Event`. Common fields (on :class:`DomainEvent`):

* ``key`` — a stable idempotency key (see :func:`telephony.normalize.rules.idempotency_key`):
  the same switch event always gives the same key, whether it arrived as plain or json,
  the first time or replayed after a resync.
* ``at`` — when the switch fired the event (``Event-Date-Timestamp``, aware UTC), never the
  local clock; ``None`` only for a malformed event without any date header.

Call-scoped events carry ``call_uuid`` (the logical call, see
:func:`telephony.normalize.rules.call_uuid_of`) and, where a channel is concerned, ``leg_uuid``
(that channel's ``Unique-ID``; equal to ``call_uuid`` for the call's primary leg).
All times are aware UTC ``datetime``; durations are whole seconds as the switch counts them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Direction = Literal["inbound", "outbound"]

#: Final outcome of a call (``CallEnded.outcome``), the values the Call record stores.
Outcome = Literal["answered", "abandoned", "overflow", "rejected", "failed"]

#: How a caller left a queue (``CallDequeued.outcome``). ``timeout`` is mod_callcenter's
#: max-wait (``TIMEOUT`` / ``NO_AGENT_TIMEOUT``): the caller is still on the line and the
#: dialplan goes on (to the overflow branch), so the call's final outcome comes later.
QueueOutcome = Literal["answered", "abandoned", "timeout", "failed"]

OUTCOME_ANSWERED: Outcome = "answered"
OUTCOME_ABANDONED: Outcome = "abandoned"
OUTCOME_OVERFLOW: Outcome = "overflow"
OUTCOME_REJECTED: Outcome = "rejected"
OUTCOME_FAILED: Outcome = "failed"


@dataclass(frozen=True, slots=True, kw_only=True)
class DomainEvent:
    key: str
    at: datetime | None


# -- calls -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CallCreated(DomainEvent):
    """A call's primary leg appeared (``CHANNEL_CREATE``): an inbound hotline call, or the
    first leg of an originate (click-to-dial rings the agent's extension first)."""

    call_uuid: str
    direction: Direction
    caller: str  # Caller-Caller-ID-Number
    caller_name: str
    dialled: str  # Caller-Destination-Number: the hotline (DNIS) for inbound calls
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LegCreated(DomainEvent):
    """Another leg of a known call appeared: an agent leg mod_callcenter rings, or the
    customer leg of a click-to-dial (``dialled`` is then the customer's number)."""

    call_uuid: str
    leg_uuid: str
    direction: Direction
    caller: str
    dialled: str
    channel: str
    agent: str | None  # cc_agent, for agent legs of a queue call


@dataclass(frozen=True, slots=True, kw_only=True)
class LegRinging(DomainEvent):
    """A leg is ringing (``CHANNEL_PROGRESS`` / ``CHANNEL_PROGRESS_MEDIA``): for
    click-to-dial, "dialling the customer" once it is the customer leg."""

    call_uuid: str
    leg_uuid: str
    dialled: str
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LegAnswered(DomainEvent):
    """A leg was answered (``CHANNEL_ANSWER``). For a hotline call the primary leg is
    answered by the dialplan (IVR), not by an agent: that is :class:`CallAnswered`."""

    call_uuid: str
    leg_uuid: str
    channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LegEnded(DomainEvent):
    """A secondary leg hung up (``CHANNEL_HANGUP_COMPLETE``); the call may go on."""

    call_uuid: str
    leg_uuid: str
    cause: str
    agent: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallQueued(DomainEvent):
    """The caller entered a queue (``member-queue-start``; ``member-queue-resume`` when
    mod_callcenter resumes an abandoned member, ``resumed=True``)."""

    call_uuid: str
    queue: str
    caller: str
    caller_name: str
    dialled: str
    member_uuid: str | None
    resumed: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CallOffered(DomainEvent):
    """mod_callcenter rings an agent for this call (``agent-offering``): the screen pop."""

    call_uuid: str
    agent: str  # "1001@default"
    queue: str
    caller: str
    caller_name: str
    dialled: str
    member_uuid: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class RingNoAnswer(DomainEvent):
    """An offer to an agent failed (``bridge-agent-fail``). ``rona`` is true when the agent
    simply did not pick up in time (the KPI's ring-no-answer); other causes are a busy or
    rejecting phone, an unregistered one, or ``ORIGINATOR_CANCEL`` (the caller left, or
    ring-all cancelled the other agents)."""

    call_uuid: str
    agent: str
    queue: str
    cause: str
    rona: bool
    offered_at: datetime | None  # CC-Agent-Called-Time


@dataclass(frozen=True, slots=True, kw_only=True)
class CallAnswered(DomainEvent):
    """An agent answered a queue call and is bridged to the caller (``bridge-agent-start``)."""

    call_uuid: str
    agent: str
    queue: str
    agent_leg_uuid: str | None
    answered_at: datetime | None  # the agent leg's answer time (µs), else CC-Agent-Answered-Time
    offered_at: datetime | None  # CC-Agent-Called-Time: speed of answer = answered - offered
    queued_at: datetime | None  # CC-Member-Joined-Time: wait = answered - queued


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentCallEnded(DomainEvent):
    """The agent's part of a queue call is over (``bridge-agent-end``)."""

    call_uuid: str
    agent: str
    queue: str
    answered_at: datetime | None
    ended_at: datetime | None  # CC-Bridge-Terminated-Time
    talk_seconds: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallBridged(DomainEvent):
    """Two legs are connected (``CHANNEL_BRIDGE``), e.g. caller ↔ agent, agent ↔ customer."""

    call_uuid: str
    leg_uuid: str
    other_leg_uuid: str
    other_channel: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallUnbridged(DomainEvent):
    """A bridge was torn down (``CHANNEL_UNBRIDGE``)."""

    call_uuid: str
    leg_uuid: str
    other_leg_uuid: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CallTransferred(DomainEvent):
    """The call left the agent who had it: it entered a queue again after having been
    bridged to ``from_agent`` (``to_queue`` set), or the caller's leg was bridged to a leg
    other than the agent leg mod_callcenter connected (``to_leg_uuid`` set)."""

    call_uuid: str
    from_agent: str | None
    to_queue: str | None
    to_leg_uuid: str | None
    to_channel: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallHeld(DomainEvent):
    """A leg of the call was put on hold (``CHANNEL_HOLD``: ``uuid_hold <leg>`` from the
    desktop, or the phone's own hold key — a re-INVITE with ``a=sendonly``); the other
    party hears music on hold. Usually the agent's leg: its ``cc_agent`` is ``agent``."""

    call_uuid: str
    leg_uuid: str
    channel: str
    agent: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallUnheld(DomainEvent):
    """The held leg is back (``CHANNEL_UNHOLD``). ``hold_accum_seconds``: the leg's total
    time on hold so far as the switch counts it (``Caller-Channel-Hold-Accum``, µs)."""

    call_uuid: str
    leg_uuid: str
    channel: str
    agent: str | None
    hold_accum_seconds: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CallDequeued(DomainEvent):
    """The caller left a queue (``member-queue-end``); the call itself may go on."""

    call_uuid: str
    queue: str
    outcome: QueueOutcome
    cause: str  # CC-Cause: Terminated / Cancel
    cancel_reason: str | None  # CC-Cancel-Reason: BREAK_OUT, TIMEOUT, NO_AGENT_TIMEOUT …
    agent: str | None
    queued_at: datetime | None
    answered_at: datetime | None
    left_at: datetime | None
    wait_seconds: int | None  # until an agent answered, or until the caller left


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded(DomainEvent):
    """The call's primary leg hung up (``CHANNEL_HANGUP_COMPLETE``): the call record closes.

    ``outcome``: ``overflow`` if the dialplan's overflow branch took the call
    (``tvshop_callback=true``); ``answered`` if an agent (queue) or the other party
    (click-to-dial) was connected; ``rejected`` for ``CALL_REJECTED`` (blacklist);
    ``abandoned`` if the caller hung up while waiting; else ``failed``.
    """

    call_uuid: str
    direction: Direction
    cause: str
    outcome: Outcome
    queue: str | None
    agent: str | None
    wait_seconds: int | None
    talk_seconds: int | None
    billsec: int | None
    duration: int | None
    answered_at: datetime | None
    bridged_at: datetime | None
    ended_at: datetime | None
    originate_disposition: str | None  # why a click-to-dial's customer leg failed
    # the call's recording: mod_callcenter's record-template (``cc_record_filename``) or a
    # dialplan's ``record_session`` path kept in ``tvshop_recording``
    recording: str | None = None
    # why the overflow branch took the call (``tvshop_callback_reason``: overflow_switch,
    # max_wait, after_hours); empty unless ``outcome`` is ``overflow``
    callback_reason: str = ""


# -- agents and queues ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStatusChanged(DomainEvent):
    """``agent-status-change``: Available, Available (On Demand), On Break, Logged Out."""

    agent: str
    status: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentStateChanged(DomainEvent):
    """``agent-state-change``: Waiting, Receiving, In a queue call, Idle."""

    agent: str
    state: str


@dataclass(frozen=True, slots=True, kw_only=True)
class MembersCount(DomainEvent):
    """``members-count``: callers now in the queue."""

    queue: str
    count: int


# -- switch -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class JobDone(DomainEvent):
    """A ``bgapi`` command finished (``BACKGROUND_JOB``). ``result`` is the text after
    ``+OK`` / ``-ERR`` (the new channel's uuid, ``SUBSCRIBER_ABSENT`` …)."""

    job_uuid: str
    ok: bool
    body: str
    result: str
    command: str | None
    command_arg: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Heartbeat(DomainEvent):
    """The switch's periodic ``HEARTBEAT`` (every 20 s by default)."""

    core_uuid: str | None
    session_count: int | None
    max_sessions: int | None
    uptime_msec: int | None
    version: str | None


CALL_EVENTS: tuple[type[DomainEvent], ...] = (
    CallCreated,
    LegCreated,
    LegRinging,
    LegAnswered,
    LegEnded,
    CallQueued,
    CallOffered,
    RingNoAnswer,
    CallAnswered,
    AgentCallEnded,
    CallBridged,
    CallUnbridged,
    CallTransferred,
    CallHeld,
    CallUnheld,
    CallDequeued,
    CallEnded,
)
