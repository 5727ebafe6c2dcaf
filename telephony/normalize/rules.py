"""ESL :class:`Event` → domain events. Pure: no I/O, no clock, no Django, no state.

:func:`normalize` is total: any event, however mangled, gives a (possibly empty) list and
never raises; events the app does not care about (``CHANNEL_STATE``, ``CODEC``, ``API`` …)
give ``[]``. Every header is read defensively (missing or garbage → ``None``), and a domain
event whose identifying header is missing (no ``Unique-ID``, no ``CC-Agent`` …) is dropped.

Facts from the captures (``../shared/esl-captures``) the rules rely on:

* **Which uuid is "the call"** (:func:`call_uuid_of`). A hotline call is the caller's
  inbound leg: mod_callcenter calls it the member session (``CC-Member-Session-UUID``) and
  stamps it on the agent legs it originates (``variable_cc_member_session_uuid``), so offer,
  answer and agent-leg events all land on the caller's uuid. ``CC-Member-UUID`` is *not* a
  channel: it is the queue-entry id. For an originate (click-to-dial) the call is the
  originate's first leg (the agent's extension): the customer leg it bridges to carries
  ``variable_originating_leg_uuid`` and a loopback's second half
  ``variable_other_loopback_from_uuid`` pointing at it.
* **Times**: ``Event-Date-Timestamp`` is µs since the epoch; ``CC-*-Time`` and ``*_epoch``
  variables are seconds; ``Caller-Channel-*-Time`` and ``*_uepoch`` are µs, ``0`` for "never".
  All become aware UTC datetimes; the local clock is never read.
* **Outcome**: ``member-queue-end`` says how the caller left the queue (``CC-Cause:
  Terminated`` after being served, ``Cancel`` with ``CC-Cancel-Reason: BREAK_OUT`` when the
  caller hung up while waiting, ``TIMEOUT`` / ``NO_AGENT_TIMEOUT`` on max wait, after which
  the dialplan goes on). In scenario B it arrives *after* the caller leg's
  ``CHANNEL_HANGUP_COMPLETE``, in scenario D before it, so the final outcome is taken from
  ``CHANNEL_HANGUP_COMPLETE`` alone, from the variables mod_callcenter leaves on the caller's
  channel (``cc_cause`` = ``answered`` / ``cancel``, ``cc_cancel_reason``,
  ``cc_queue_joined_epoch``, ``cc_queue_answered_epoch`` / ``cc_queue_canceled_epoch``),
  the hotline dialplan's ``tvshop_callback=true`` (overflow branch) and the hangup cause.

Idempotency (:func:`idempotency_key`): ``Event-Sequence`` is the switch's event counter; it
restarts at 1 when FreeSWITCH restarts, so it is combined with ``Core-UUID`` (new on every
start). ``Core-UUID:Event-Sequence`` names one switch event on one node for ever, and is the
same for the plain and json encodings; the domain event's type is added because one switch
event can give two domain events. Without those headers (hand-made events) the key is a
digest of the event's headers and body: still stable across replays.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from telephony.esl.events import Event
from telephony.normalize.domain import (
    OUTCOME_ABANDONED,
    OUTCOME_ANSWERED,
    OUTCOME_FAILED,
    OUTCOME_OVERFLOW,
    OUTCOME_REJECTED,
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
    Direction,
    DomainEvent,
    Heartbeat,
    JobDone,
    LegAnswered,
    LegCreated,
    LegEnded,
    LegRinging,
    MembersCount,
    Outcome,
    QueueOutcome,
    RingNoAnswer,
)

CALLCENTER_SUBCLASS = "callcenter::info"

#: ``variable_tvshop_callback`` is set to ``true`` by the hotline dialplan's overflow branch
#: (the "computer seat" that records the number for a callback).
CALLBACK_MARKER = "tvshop_callback"
#: The hotline dialplan stores the dialled hotline here before any transfer changes
#: ``Caller-Destination-Number``.
DNIS_VARIABLE = "tvshop_dnis"

#: ``bridge-agent-fail`` causes that mean "the agent did not pick up in time" (RONA).
RONA_CAUSES = frozenset(
    {
        "NO_ANSWER",
        "ALLOTTED_TIMEOUT",
        "NO_USER_RESPONSE",
        "PROGRESS_TIMEOUT",
        "RECOVERY_ON_TIMER_EXPIRE",
    }
)
#: Hang-up causes of an inbound call that never reached a queue or an agent and that mean
#: the caller gave up (rather than the switch failing).
CALLER_GAVE_UP_CAUSES = frozenset({"NORMAL_CLEARING", "ORIGINATOR_CANCEL", "NORMAL_UNSPECIFIED"})
REJECTED_CAUSES = frozenset({"CALL_REJECTED"})

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- header access -------------------------------------------------------------------------------


class _Headers:
    """First value of each header, by exact name (one pass over the event's headers).

    :meth:`Event.get` scans the headers each time; a ``CHANNEL_HANGUP_COMPLETE`` has ~300,
    and a rule reads ~20 of them, so handlers use this map instead.
    """

    __slots__ = ("_map", "event")

    def __init__(self, event: Event) -> None:
        self.event = event
        first: dict[str, str] = {}
        for name, value in event.headers:
            if name not in first:
                first[name] = value
        self._map = first

    def get(self, name: str) -> str | None:
        value = self._map.get(name)
        return value if value else None

    def text(self, name: str) -> str:
        return self._map.get(name) or ""

    def var(self, name: str) -> str | None:
        return self.get(f"variable_{name}")


def _int(value: str | None) -> int | None:
    if value is None:
        return None
    value = value.strip()
    if not value or not (value.isdigit() or (value[0] == "-" and value[1:].isdigit())):
        return None
    return int(value)


def _from_us(value: str | None) -> datetime | None:
    """µs since the epoch → aware UTC; ``0``/missing/garbage → ``None``."""
    number = _int(value)
    if number is None or number <= 0:
        return None
    try:
        return _EPOCH + timedelta(microseconds=number)
    except OverflowError:
        return None


def _from_s(value: str | None) -> datetime | None:
    """Seconds since the epoch → aware UTC; ``0``/missing/garbage → ``None``."""
    number = _int(value)
    if number is None or number <= 0:
        return None
    try:
        return _EPOCH + timedelta(seconds=number)
    except OverflowError:
        return None


def _first_time(*candidates: datetime | None) -> datetime | None:
    for candidate in candidates:
        if candidate is not None:
            return candidate
    return None


def _seconds_between(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds())


def _true(value: str | None) -> bool:
    return (value or "").strip().lower() in {"true", "yes", "on", "1"}


def event_time(event: Event) -> datetime | None:
    """When the switch fired ``event``: ``Event-Date-Timestamp`` (µs), else
    ``Event-Date-GMT``; ``None`` if neither is usable. Never the local clock."""
    return _event_time(_Headers(event))


def _event_time(h: _Headers) -> datetime | None:
    at = _from_us(h.get("Event-Date-Timestamp"))
    if at is not None:
        return at
    gmt = h.get("Event-Date-GMT")
    if gmt:
        try:
            parsed = parsedate_to_datetime(gmt)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)
    return None


def _direction(h: _Headers) -> Direction:
    for name in ("Call-Direction", "Caller-Direction", "variable_direction"):
        value = h.get(name)
        if value == "inbound":
            return "inbound"
        if value == "outbound":
            return "outbound"
    return "inbound"


def _hangup_cause(h: _Headers) -> str:
    return h.get("Hangup-Cause") or h.var("hangup_cause") or ""


# -- call identity and keys ----------------------------------------------------------------------


def call_uuid_of(event: Event) -> str | None:
    """The uuid of the logical call ``event`` belongs to, or ``None`` (agent/queue/switch
    events). Stateless: decided from the event's own headers, in this order:

    1. ``CC-Member-Session-UUID`` (callcenter events: the caller's leg);
    2. ``variable_cc_member_session_uuid`` (an agent leg mod_callcenter originated);
    3. ``variable_originating_leg_uuid`` (a leg an originate/bridge created from another
       channel: the customer leg of a click-to-dial points at the agent leg);
    4. ``variable_other_loopback_from_uuid`` (a loopback's second half, same);
    5. the channel's own ``Unique-ID`` (except for a callcenter event about an agent leg),
       then ``CC-Member-UUID`` as a last resort for callcenter events without a channel.
    """
    return _call_uuid(_Headers(event))


def _call_uuid(h: _Headers) -> str | None:
    for candidate in (
        h.get("CC-Member-Session-UUID"),
        h.var("cc_member_session_uuid"),
        h.var("originating_leg_uuid"),
        h.var("other_loopback_from_uuid"),
    ):
        if candidate:
            return candidate
    unique_id = h.get("Unique-ID")
    is_callcenter = h.get("CC-Action") is not None
    if unique_id and not (is_callcenter and h.var("cc_side") == "agent"):
        return unique_id
    if is_callcenter:
        return h.get("CC-Member-UUID")
    return None


def idempotency_key(event: Event, kind: str) -> str:
    """Stable key of the domain event of type ``kind`` made from ``event``: see the module
    docstring. ``"CallOffered:ab5cb96b-…:544"``."""
    return _key(_Headers(event), kind)


def _key(h: _Headers, kind: str) -> str:
    core = h.get("Core-UUID")
    sequence = _int(h.get("Event-Sequence"))
    if core and sequence is not None:
        return f"{kind}:{core}:{sequence}"
    digest = hashlib.sha256()
    for name, value in h.event.headers:
        digest.update(name.encode("utf-8", "replace") + b"\0")
        digest.update(value.encode("utf-8", "replace") + b"\0")
    digest.update((h.event.body or "").encode("utf-8", "replace"))
    return f"{kind}:sha256:{digest.hexdigest()[:32]}"


def _base(h: _Headers, kind: type[DomainEvent]) -> dict:
    return {"key": _key(h, kind.__name__), "at": _event_time(h)}


# -- channel events ------------------------------------------------------------------------------


def _channel_create(h: _Headers) -> list[DomainEvent]:
    leg = h.get("Unique-ID")
    call = _call_uuid(h)
    if not leg or not call:
        return []
    common = {
        "direction": _direction(h),
        "caller": h.text("Caller-Caller-ID-Number"),
        "dialled": h.text("Caller-Destination-Number"),
        "channel": h.text("Channel-Name"),
    }
    if call == leg:
        return [
            CallCreated(
                **_base(h, CallCreated),
                call_uuid=call,
                caller_name=h.text("Caller-Caller-ID-Name"),
                **common,
            )
        ]
    return [
        LegCreated(
            **_base(h, LegCreated), call_uuid=call, leg_uuid=leg, agent=h.var("cc_agent"), **common
        )
    ]


def _channel_progress(h: _Headers) -> list[DomainEvent]:
    leg = h.get("Unique-ID")
    call = _call_uuid(h)
    if not leg or not call:
        return []
    return [
        LegRinging(
            **_base(h, LegRinging),
            call_uuid=call,
            leg_uuid=leg,
            dialled=h.text("Caller-Destination-Number"),
            channel=h.text("Channel-Name"),
        )
    ]


def _channel_answer(h: _Headers) -> list[DomainEvent]:
    leg = h.get("Unique-ID")
    call = _call_uuid(h)
    if not leg or not call:
        return []
    return [
        LegAnswered(
            **_base(h, LegAnswered), call_uuid=call, leg_uuid=leg, channel=h.text("Channel-Name")
        )
    ]


def _channel_bridge(h: _Headers) -> list[DomainEvent]:
    leg = h.get("Unique-ID")
    other = h.get("Other-Leg-Unique-ID")
    call = _call_uuid(h)
    if not leg or not other or not call:
        return []
    other_channel = h.text("Other-Leg-Channel-Name")
    out: list[DomainEvent] = [
        CallBridged(
            **_base(h, CallBridged),
            call_uuid=call,
            leg_uuid=leg,
            other_leg_uuid=other,
            other_channel=other_channel,
        )
    ]
    # mod_callcenter stamps the agent leg it bridges the caller to on the caller's channel
    # (``cc_agent_uuid``, already set when CHANNEL_BRIDGE fires: scenario B). A bridge of
    # the caller to any other leg afterwards is a transfer away from that agent.
    served_by = h.var("cc_agent_uuid")
    if h.var("cc_side") == "member" and served_by and served_by != other:
        out.append(
            CallTransferred(
                **_base(h, CallTransferred),
                call_uuid=call,
                from_agent=h.var("cc_agent"),
                to_queue=None,
                to_leg_uuid=other,
                to_channel=other_channel or None,
            )
        )
    return out


def _channel_unbridge(h: _Headers) -> list[DomainEvent]:
    leg = h.get("Unique-ID")
    other = h.get("Other-Leg-Unique-ID")
    call = _call_uuid(h)
    if not leg or not other or not call:
        return []
    return [
        CallUnbridged(**_base(h, CallUnbridged), call_uuid=call, leg_uuid=leg, other_leg_uuid=other)
    ]


def _channel_hold(h: _Headers) -> list[DomainEvent]:
    """``CHANNEL_HOLD``: FreeSWITCH fires it with the held channel's full data
    (``switch_channel_event_set_data``: the same header set as every ``CHANNEL_*`` event,
    ``Channel-Call-State: HELD``); the call is found like any leg's."""
    leg = h.get("Unique-ID")
    call = _call_uuid(h)
    if not leg or not call:
        return []
    return [
        CallHeld(
            **_base(h, CallHeld),
            call_uuid=call,
            leg_uuid=leg,
            channel=h.text("Channel-Name"),
            agent=h.var("cc_agent"),
        )
    ]


def _channel_unhold(h: _Headers) -> list[DomainEvent]:
    leg = h.get("Unique-ID")
    call = _call_uuid(h)
    if not leg or not call:
        return []
    accum = _int(h.get("Caller-Channel-Hold-Accum"))
    return [
        CallUnheld(
            **_base(h, CallUnheld),
            call_uuid=call,
            leg_uuid=leg,
            channel=h.text("Channel-Name"),
            agent=h.var("cc_agent"),
            hold_accum_seconds=round(accum / 1_000_000)
            if accum is not None and accum >= 0
            else None,
        )
    ]


def _final_outcome(h: _Headers, direction: Direction, cause: str, bridged: bool) -> Outcome:
    if _true(h.var(CALLBACK_MARKER)):
        return OUTCOME_OVERFLOW
    cc_cause = (h.var("cc_cause") or "").lower()
    if cc_cause == "answered" or _true(h.var("cc_agent_bridged")):
        return OUTCOME_ANSWERED
    if cause in REJECTED_CAUSES:
        return OUTCOME_REJECTED
    if cc_cause == "cancel":
        # BREAK_OUT: the caller hung up while waiting. TIMEOUT / NO_AGENT_TIMEOUT without the
        # overflow marker: the switch gave up on the caller, not the other way round.
        reason = h.var("cc_cancel_reason") or ""
        return OUTCOME_ABANDONED if reason in {"BREAK_OUT", "EXIT_WITH_KEY"} else OUTCOME_FAILED
    if bridged:
        return OUTCOME_ANSWERED
    if direction == "inbound" and cause in CALLER_GAVE_UP_CAUSES:
        return OUTCOME_ABANDONED
    return OUTCOME_FAILED


def _queue_wait(h: _Headers) -> int | None:
    joined = _from_s(h.var("cc_queue_joined_epoch"))
    left = _first_time(
        _from_s(h.var("cc_queue_answered_epoch")), _from_s(h.var("cc_queue_canceled_epoch"))
    )
    return _seconds_between(joined, left)


def _channel_hangup_complete(h: _Headers) -> list[DomainEvent]:
    leg = h.get("Unique-ID")
    call = _call_uuid(h)
    if not leg or not call:
        return []
    cause = _hangup_cause(h)
    if call != leg:
        return [
            LegEnded(
                **_base(h, LegEnded),
                call_uuid=call,
                leg_uuid=leg,
                cause=cause,
                agent=h.var("cc_agent"),
            )
        ]
    direction = _direction(h)
    answered_at = _first_time(
        _from_us(h.var("answer_uepoch")), _from_us(h.get("Caller-Channel-Answered-Time"))
    )
    bridged_at = _first_time(
        _from_us(h.var("bridge_uepoch")), _from_us(h.get("Caller-Channel-Bridged-Time"))
    )
    ended_at = _first_time(
        _from_us(h.var("end_uepoch")), _from_us(h.get("Caller-Channel-Hangup-Time"))
    )
    disposition = h.var("originate_disposition")
    return [
        CallEnded(
            **_base(h, CallEnded),
            call_uuid=call,
            direction=direction,
            cause=cause,
            outcome=_final_outcome(h, direction, cause, bridged_at is not None),
            queue=h.var("cc_queue"),
            agent=h.var("cc_agent"),
            wait_seconds=_queue_wait(h),
            talk_seconds=_seconds_between(bridged_at, ended_at),
            billsec=_int(h.var("billsec")),
            duration=_int(h.var("duration")),
            answered_at=answered_at,
            bridged_at=bridged_at,
            ended_at=ended_at,
            originate_disposition=disposition if disposition != "SUCCESS" else None,
            recording=h.var("cc_record_filename") or h.var("tvshop_recording") or None,
            callback_reason=(h.var("tvshop_callback_reason") or "")[:30]
            if _true(h.var(CALLBACK_MARKER))
            else "",
        )
    ]


def _background_job(h: _Headers) -> list[DomainEvent]:
    job = h.get("Job-UUID")
    if not job:
        return []
    body = h.event.body or ""
    text = body.strip()
    ok = text.startswith("+OK")
    if ok:
        result = text[3:].strip()
    elif text.startswith("-ERR"):
        result = text[4:].strip()
    else:
        result = text
    return [
        JobDone(
            **_base(h, JobDone),
            job_uuid=job,
            ok=ok,
            body=body,
            result=result,
            command=h.get("Job-Command"),
            command_arg=h.get("Job-Command-Arg"),
        )
    ]


def _heartbeat(h: _Headers) -> list[DomainEvent]:
    return [
        Heartbeat(
            **_base(h, Heartbeat),
            core_uuid=h.get("Core-UUID"),
            session_count=_int(h.get("Session-Count")),
            max_sessions=_int(h.get("Max-Sessions")),
            uptime_msec=_int(h.get("Uptime-msec")),
            version=h.get("FreeSWITCH-Version"),
        )
    ]


# -- callcenter events ---------------------------------------------------------------------------


def _dnis(h: _Headers) -> str:
    return h.get("CC-Member-DNIS") or h.var(DNIS_VARIABLE) or h.text("Caller-Destination-Number")


def _member_queue_start(h: _Headers) -> list[DomainEvent]:
    call = _call_uuid(h)
    queue = h.get("CC-Queue")
    if not call or not queue:
        return []
    out: list[DomainEvent] = [
        CallQueued(
            **_base(h, CallQueued),
            call_uuid=call,
            queue=queue,
            caller=h.get("CC-Member-CID-Number") or h.text("Caller-Caller-ID-Number"),
            caller_name=h.get("CC-Member-CID-Name") or h.text("Caller-Caller-ID-Name"),
            dialled=_dnis(h),
            member_uuid=h.get("CC-Member-UUID"),
            resumed=h.get("CC-Action") == "member-queue-resume",
        )
    ]
    # mod_callcenter leaves cc_agent / cc_agent_bridged on the caller's channel once an
    # agent was bridged; entering a queue again after that is a transfer to that queue.
    previous_agent = h.var("cc_agent")
    if previous_agent and _true(h.var("cc_agent_bridged")):
        out.append(
            CallTransferred(
                **_base(h, CallTransferred),
                call_uuid=call,
                from_agent=previous_agent,
                to_queue=queue,
                to_leg_uuid=None,
                to_channel=None,
            )
        )
    return out


def _agent_offering(h: _Headers) -> list[DomainEvent]:
    call = _call_uuid(h)
    agent = h.get("CC-Agent")
    if not call or not agent:
        return []
    return [
        CallOffered(
            **_base(h, CallOffered),
            call_uuid=call,
            agent=agent,
            queue=h.text("CC-Queue"),
            caller=h.text("CC-Member-CID-Number"),
            caller_name=h.text("CC-Member-CID-Name"),
            dialled=_dnis(h),
            member_uuid=h.get("CC-Member-UUID"),
        )
    ]


def _bridge_agent_start(h: _Headers) -> list[DomainEvent]:
    call = _call_uuid(h)
    agent = h.get("CC-Agent")
    if not call or not agent:
        return []
    agent_leg = h.get("CC-Agent-UUID")
    # The event carries the agent leg's channel: its answer time is in µs.
    leg_answered = (
        _from_us(h.get("Caller-Channel-Answered-Time"))
        if agent_leg and h.get("Unique-ID") == agent_leg
        else None
    )
    return [
        CallAnswered(
            **_base(h, CallAnswered),
            call_uuid=call,
            agent=agent,
            queue=h.text("CC-Queue"),
            agent_leg_uuid=agent_leg,
            answered_at=_first_time(leg_answered, _from_s(h.get("CC-Agent-Answered-Time"))),
            offered_at=_from_s(h.get("CC-Agent-Called-Time")),
            queued_at=_from_s(h.get("CC-Member-Joined-Time")),
        )
    ]


def _bridge_agent_fail(h: _Headers) -> list[DomainEvent]:
    call = _call_uuid(h)
    agent = h.get("CC-Agent")
    if not call or not agent:
        return []
    cause = h.text("CC-Hangup-Cause")
    return [
        RingNoAnswer(
            **_base(h, RingNoAnswer),
            call_uuid=call,
            agent=agent,
            queue=h.text("CC-Queue"),
            cause=cause,
            rona=cause in RONA_CAUSES,
            offered_at=_from_s(h.get("CC-Agent-Called-Time")),
        )
    ]


def _bridge_agent_end(h: _Headers) -> list[DomainEvent]:
    call = _call_uuid(h)
    agent = h.get("CC-Agent")
    if not call or not agent:
        return []
    answered_at = _from_s(h.get("CC-Agent-Answered-Time"))
    ended_at = _from_s(h.get("CC-Bridge-Terminated-Time"))
    return [
        AgentCallEnded(
            **_base(h, AgentCallEnded),
            call_uuid=call,
            agent=agent,
            queue=h.text("CC-Queue"),
            answered_at=answered_at,
            ended_at=ended_at,
            talk_seconds=_seconds_between(answered_at, ended_at),
        )
    ]


def _queue_outcome(cause: str, reason: str | None) -> QueueOutcome:
    if cause == "Terminated":
        return "answered"
    if cause == "Cancel":
        if reason == "BREAK_OUT":
            return "abandoned"
        if reason in {"TIMEOUT", "NO_AGENT_TIMEOUT"}:
            return "timeout"
        if reason == "EXIT_WITH_KEY":
            return "exited"
    return "failed"


def _member_queue_end(h: _Headers) -> list[DomainEvent]:
    call = _call_uuid(h)
    queue = h.get("CC-Queue")
    if not call or not queue:
        return []
    cause = h.text("CC-Cause")
    reason = h.get("CC-Cancel-Reason")
    queued_at = _from_s(h.get("CC-Member-Joined-Time"))
    answered_at = _from_s(h.get("CC-Agent-Answered-Time"))
    left_at = _from_s(h.get("CC-Member-Leaving-Time"))
    return [
        CallDequeued(
            **_base(h, CallDequeued),
            call_uuid=call,
            queue=queue,
            outcome=_queue_outcome(cause, reason),
            cause=cause,
            cancel_reason=reason,
            agent=h.get("CC-Agent"),
            queued_at=queued_at,
            answered_at=answered_at,
            left_at=left_at,
            wait_seconds=_seconds_between(queued_at, answered_at or left_at),
        )
    ]


def _agent_status_change(h: _Headers) -> list[DomainEvent]:
    agent = h.get("CC-Agent")
    status = h.get("CC-Agent-Status")
    if not agent or not status:
        return []
    return [AgentStatusChanged(**_base(h, AgentStatusChanged), agent=agent, status=status)]


def _agent_state_change(h: _Headers) -> list[DomainEvent]:
    agent = h.get("CC-Agent")
    state = h.get("CC-Agent-State")
    if not agent or not state:
        return []
    return [AgentStateChanged(**_base(h, AgentStateChanged), agent=agent, state=state)]


def _members_count(h: _Headers) -> list[DomainEvent]:
    queue = h.get("CC-Queue")
    count = _int(h.get("CC-Count"))
    if not queue or count is None or count < 0:
        return []
    return [MembersCount(**_base(h, MembersCount), queue=queue, count=count)]


Rule = Callable[[_Headers], list[DomainEvent]]

EVENT_RULES: dict[str, Rule] = {
    "CHANNEL_CREATE": _channel_create,
    "CHANNEL_PROGRESS": _channel_progress,
    "CHANNEL_PROGRESS_MEDIA": _channel_progress,
    "CHANNEL_ANSWER": _channel_answer,
    "CHANNEL_BRIDGE": _channel_bridge,
    "CHANNEL_UNBRIDGE": _channel_unbridge,
    "CHANNEL_HOLD": _channel_hold,
    "CHANNEL_UNHOLD": _channel_unhold,
    "CHANNEL_HANGUP_COMPLETE": _channel_hangup_complete,
    "BACKGROUND_JOB": _background_job,
    "HEARTBEAT": _heartbeat,
}

CALLCENTER_RULES: dict[str, Rule] = {
    "member-queue-start": _member_queue_start,
    "member-queue-resume": _member_queue_start,
    "agent-offering": _agent_offering,
    "bridge-agent-start": _bridge_agent_start,
    "bridge-agent-fail": _bridge_agent_fail,
    "bridge-agent-end": _bridge_agent_end,
    "member-queue-end": _member_queue_end,
    "agent-status-change": _agent_status_change,
    "agent-state-change": _agent_state_change,
    "members-count": _members_count,
}


def normalize(event: Event) -> list[DomainEvent]:
    """The domain events ``event`` means, in a fixed order; ``[]`` for anything else."""
    name = event.name
    if name == "CUSTOM":
        if event.subclass != CALLCENTER_SUBCLASS:
            return []
        headers = _Headers(event)
        rule = CALLCENTER_RULES.get(headers.text("CC-Action"))
    else:
        rule = EVENT_RULES.get(name)
        if rule is None:
            return []
        headers = _Headers(event)
    if rule is None:
        return []
    return rule(headers)
