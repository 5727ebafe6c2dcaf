"""Applying the switch's domain events to call records and seats, and what to push after.

:func:`call_apply_event` takes one :mod:`telephony.normalize` domain event and, in one
transaction, updates :class:`Call` / :class:`CallEvent` / :class:`Seat` /
:class:`AgentStatusChange`. It returns the channel-layer messages the change calls for, as
``(group, message)`` pairs whose message is exactly the JSON the browser gets (its
``type`` — ``call.offered`` … — is also the consumer's handler name).

* **Idempotent.** Every applied event leaves its key (``CallEvent.key`` /
  ``AgentStatusChange.event_key``, unique); an event whose key is already there changes
  nothing and pushes nothing. The check is folded into the query that loads the call or
  seat (``Exists``), so it costs no extra round trip.
* **The screen pop is cheap.** The customer is looked up once per call, when the call
  record is created (``customer_find_by_phone``), and kept on the call; the offer then
  costs one query for the call (with hotline, station, product and customer joined, and
  the idempotency check), one for the seat and the user holding it, one insert and one
  update; the pop is built from those objects (:func:`telephony.payloads.call_payload`).
* **Pushing after commit.** With ``publish=True`` (sync callers) the messages are sent
  from ``transaction.on_commit``. The bridge passes ``publish=False`` and sends the
  returned messages from its own event loop once this function has returned — the
  transaction has committed by then — which keeps the database thread free of Redis I/O.
* These are system writes made on the switch's word; ``CallEvent`` is their log (no audit
  entry per event). ``lead_record_call`` audits the lead it creates.

Calls the app did not start: an outbound primary leg (``CallCreated`` with direction
outbound) becomes nothing unless a :class:`Call` with that uuid exists — click-to-dial
creates its outbound call first (see the contract), and its legs' events give
``dial.progress``. Inbound calls get a record when the dialled number is a hotline, or
when they reach a queue (an offer for a call the bridge did not see start still pops).
"""

from __future__ import annotations

import dataclasses
import logging
import re
from collections.abc import Callable, Iterable
from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Exists, OuterRef, Subquery
from django.utils import timezone

from crm.phones import phone_lookup_key
from crm.selectors.customers import customer_find_by_phone
from crm.services.leads import lead_record_call
from telephony import normalize as d
from telephony.choices import (
    AgentState,
    AgentStatus,
    CallDirection,
    CallOutcome,
    NotReadyReason,
    StatusSource,
)
from telephony.groups import SUPERVISORS, WALLBOARD, agent_group
from telephony.models import AgentStatusChange, Call, CallEvent, Seat, SeatSession
from telephony.payloads import agent_status_payload, call_payload, call_summary, seat_summary
from tvshop.errors import DomainError
from tvshop.media.models import Hotline

logger = logging.getLogger("telephony.bridge")

Message = tuple[str, dict]

OUTBOUND = CallDirection.OUTBOUND.value
INBOUND = CallDirection.INBOUND.value


# -- publishing ----------------------------------------------------------------------------


async def send_messages(messages: Iterable[Message], layer=None) -> int:
    """``group_send`` each message in order; a failure is logged and counted, never raised
    (a message to a browser is a notification: the desktop re-reads on reconnect)."""
    layer = layer or get_channel_layer()
    failed = 0
    if layer is None:
        return 0
    for group, message in messages:
        try:
            await layer.group_send(group, message)
        except Exception:  # Redis down must not stop call records
            failed += 1
            logger.exception("group_send to %s failed (%s)", group, message.get("type"))
    return failed


def publish_messages(messages: list[Message]) -> None:
    """Send from sync code (``transaction.on_commit``)."""
    if messages:
        async_to_sync(send_messages)(messages)


# -- entry point -------------------------------------------------------------------------------


def call_apply_event(domain_event: d.DomainEvent, *, publish: bool = True) -> list[Message]:
    """Apply one domain event (one transaction); return the messages to push.

    ``publish=True`` sends them after commit; ``publish=False`` leaves that to the caller.
    Events the call records do not need (heartbeats, queue counts, job results) return
    ``[]`` without touching the database.
    """
    handler = _HANDLERS.get(type(domain_event))
    if handler is None:
        return []
    messages: list[Message] = []
    with transaction.atomic():
        handler(domain_event, messages)
        if publish and messages:
            transaction.on_commit(lambda: publish_messages(messages))
    return messages


# -- helpers -----------------------------------------------------------------------------------


def _at(event: d.DomainEvent) -> datetime:
    return event.at or timezone.now()


def _event_data(event: d.DomainEvent) -> dict:
    data = {}
    for field in dataclasses.fields(event):
        if field.name in ("key", "at"):
            continue
        value = getattr(event, field.name)
        if isinstance(value, datetime):
            value = value.isoformat()
        data[field.name] = value
    return data


def _load_call(uuid: str, key: str, **filters) -> Call | None:
    """The call (locked) with what a pop shows, and ``seen``: this event already applied."""
    return (
        Call.objects.select_related(
            "hotline__station", "hotline__product", "customer", "seat", "agent"
        )
        .select_for_update(of=("self",))
        .annotate(seen=Exists(CallEvent.objects.filter(key=key)))
        .filter(uuid=uuid, **filters)
        .first()
    )


def _record(call: Call, event: d.DomainEvent, kind: str | None = None) -> None:
    CallEvent.objects.create(
        call=call,
        key=event.key,
        kind=kind or type(event).__name__,
        at=_at(event),
        data=_event_data(event),
    )


def _split_agent(cc_agent: str) -> tuple[str, str]:
    extension, _, domain = cc_agent.partition("@")
    return extension, domain or "default"


def _seat_and_user(cc_agent: str | None):
    """The seat of a mod_callcenter agent and the user logged into it (one query)."""
    if not cc_agent:
        return None, None
    extension, domain = _split_agent(cc_agent)
    session = (
        SeatSession.objects.select_related("seat", "user")
        .filter(seat__extension=extension, seat__domain=domain, ended_at=None)
        .first()
    )
    if session is not None:
        return session.seat, session.user
    return Seat.objects.filter(extension=extension, domain=domain).first(), None


_EXTENSION_IN_CHANNEL = re.compile(r"(?:agent-|user/|/)(\d{2,10})(?:@|$)")


def _seat_and_user_of_channel(channel: str | None):
    if not channel:
        return None, None
    match = _EXTENSION_IN_CHANNEL.search(channel)
    if match is None:
        return None, None
    return _seat_and_user(f"{match.group(1)}@default")


def _hotline(number: str) -> Hotline | None:
    if not number:
        return None
    return (
        Hotline.objects.select_related("station", "product")
        .filter(number=number, active=True)
        .first()
    )


def _caller(raw: str) -> str:
    return (phone_lookup_key(raw) or raw or "")[:32]


def _summary_messages(call: Call, out: list[Message]) -> None:
    summary = {"type": "call.update", "call": call_summary(call)}
    out.append((SUPERVISORS, summary))
    out.append((WALLBOARD, summary))


def _to_agent(call: Call, user, kind: str, out: list[Message], **extra) -> None:
    if user is None:
        return
    out.append(
        (agent_group(user.pk), {"type": kind, **extra, "call": call_payload(call, user=user)})
    )


def _create_inbound(
    *, uuid: str, caller: str, dialled: str, at: datetime, hotline: Hotline | None
) -> Call:
    """A new inbound call record: hotline → station and queue, the customer (the one
    lookup of the call), and the day's lead for the number."""
    customer = customer_find_by_phone(caller) if caller else None
    call = Call.objects.create(
        uuid=uuid,
        direction=INBOUND,
        caller=_caller(caller),
        dialled=dialled[:32],
        hotline=hotline,
        station=hotline.station if hotline else None,
        queue=hotline.queue_name if hotline else "",
        customer=customer,
        created_at=at,
    )
    # The objects just loaded serve the pop later in this transaction.
    if hotline is not None:
        Call.hotline.field.set_cached_value(call, hotline)
    Call.customer.field.set_cached_value(call, customer)
    if caller:
        try:
            with transaction.atomic():
                lead_record_call(phone=caller, hotline=hotline, at=at)
        except DomainError as exc:  # anonymous or unusable number: no lead, still a call
            logger.info("no lead for call %s from %r: %s", uuid, caller, exc)
    call.seen = False
    return call


def _call_or_create(event, *, caller: str, dialled: str) -> Call | None:
    call = _load_call(event.call_uuid, event.key)
    if call is not None:
        return call
    if not caller and not dialled:
        return None
    return _create_inbound(
        uuid=event.call_uuid,
        caller=caller,
        dialled=dialled,
        at=_at(event),
        hotline=_hotline(dialled),
    )


# -- call events -------------------------------------------------------------------------------


def _call_created(event: d.CallCreated, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is not None:
        if call.seen:
            return
        _record(call, event)
        if call.direction == OUTBOUND:
            # click-to-dial: the switch rings the agent's own phone first
            _dial_progress(call, "ringing_agent", "", out)
        return
    if event.direction != INBOUND:
        return  # an outbound leg the app did not start
    hotline = _hotline(event.dialled)
    if hotline is None:
        return  # not a hotline call (internal); recorded if it reaches a queue
    call = _create_inbound(
        uuid=event.call_uuid,
        caller=event.caller,
        dialled=event.dialled,
        at=_at(event),
        hotline=hotline,
    )
    _record(call, event)
    _summary_messages(call, out)


def _call_queued(event: d.CallQueued, out: list[Message]) -> None:
    call = _call_or_create(event, caller=event.caller, dialled=event.dialled)
    if call is None or call.seen:
        return
    _record(call, event)
    if call.queued_at is None:
        call.queued_at = _at(event)
    call.queue = event.queue[:50]
    call.save(update_fields=["queued_at", "queue"])
    _summary_messages(call, out)


def _call_offered(event: d.CallOffered, out: list[Message]) -> None:
    call = _call_or_create(event, caller=event.caller, dialled=event.dialled)
    if call is None or call.seen:
        return
    seat, user = _seat_and_user(event.agent)
    _record(call, event)
    call.offered_at = _at(event)
    call.seat = seat
    call.agent = user
    if not call.queue:
        call.queue = event.queue[:50]
    call.save(update_fields=["offered_at", "seat", "agent", "queue"])
    _to_agent(call, user, "call.offered", out, replay=False)
    _summary_messages(call, out)


def _ring_no_answer(event: d.RingNoAnswer, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    if event.rona:
        call.ring_no_answer_count += 1
        call.save(update_fields=["ring_no_answer_count"])
    _summary_messages(call, out)


def _call_answered(event: d.CallAnswered, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    user = call.agent
    seat_cc = call.seat.cc_agent if call.seat_id else None
    if seat_cc != event.agent:
        seat, user = _seat_and_user(event.agent)
        call.seat, call.agent = seat, user
    call.answered_at = event.answered_at or _at(event)
    if call.offered_at is None:
        call.offered_at = event.offered_at
    if call.queued_at is None:
        call.queued_at = event.queued_at
    if call.queued_at is not None and call.answered_at >= call.queued_at:
        call.wait_seconds = round((call.answered_at - call.queued_at).total_seconds())
    call.save(
        update_fields=["answered_at", "offered_at", "queued_at", "wait_seconds", "seat", "agent"]
    )
    _to_agent(call, user, "call.answered", out)
    _summary_messages(call, out)


def _agent_call_ended(event: d.AgentCallEnded, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    if call.talk_seconds is None and event.talk_seconds is not None:
        call.talk_seconds = event.talk_seconds
        call.save(update_fields=["talk_seconds"])


def _call_transferred(event: d.CallTransferred, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    call.transferred = True
    fields = ["transferred"]
    if event.to_queue:
        call.queue = event.to_queue[:50]
        fields.append("queue")
    seat, user = _seat_and_user_of_channel(event.to_channel)
    if seat is not None:
        call.seat, call.agent = seat, user
        call.offered_at = _at(event)
        fields += ["seat", "agent", "offered_at"]
    call.save(update_fields=fields)
    if seat is not None:
        # the pop follows the call to the receiving agent
        _to_agent(call, user, "call.offered", out, replay=False)
    _summary_messages(call, out)


def _call_dequeued(event: d.CallDequeued, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    fields = []
    if call.queued_at is None and event.queued_at is not None:
        call.queued_at = event.queued_at
        fields.append("queued_at")
    if call.wait_seconds is None and event.wait_seconds is not None:
        call.wait_seconds = event.wait_seconds
        fields.append("wait_seconds")
    if fields:
        call.save(update_fields=fields)


def _call_ended(event: d.CallEnded, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    call.ended_at = event.ended_at or _at(event)
    call.hangup_cause = (event.cause or "")[:50]
    call.outcome = event.outcome
    if event.talk_seconds is not None:
        call.talk_seconds = event.talk_seconds
    if call.wait_seconds is None and event.wait_seconds is not None:
        call.wait_seconds = event.wait_seconds
    if call.direction == OUTBOUND and call.answered_at is None and event.bridged_at:
        call.answered_at = event.bridged_at
    if not call.queue and event.queue:
        call.queue = event.queue[:50]
    call.save(
        update_fields=[
            "ended_at",
            "hangup_cause",
            "outcome",
            "talk_seconds",
            "wait_seconds",
            "answered_at",
            "queue",
        ]
    )
    if call.direction == OUTBOUND:
        failed = event.outcome != CallOutcome.ANSWERED
        cause = event.originate_disposition or event.cause or ""
        _dial_progress(call, "failed" if failed else "ended", cause if failed else "", out)
    _to_agent(call, call.agent, "call.ended", out)
    _summary_messages(call, out)


# -- click-to-dial legs ----------------------------------------------------------------------


def _dial_progress(call: Call, stage: str, cause: str, out: list[Message]) -> None:
    _to_agent(call, call.agent, "dial.progress", out, stage=stage, cause=cause)


def _leg_event(event, out: list[Message]) -> None:
    """Leg events matter only for calls the app originated (``dial.progress``)."""
    call = _load_call(event.call_uuid, event.key, direction=OUTBOUND)
    if call is None or call.seen:
        return
    kind = type(event).__name__
    first_of_kind = not CallEvent.objects.filter(call=call, kind=kind).exists()
    _record(call, event)
    if isinstance(event, d.LegCreated) and first_of_kind:
        _dial_progress(call, "dialling_customer", "", out)
    elif isinstance(event, d.CallBridged) and first_of_kind:
        if call.answered_at is None:
            call.answered_at = _at(event)
            call.save(update_fields=["answered_at"])
        _dial_progress(call, "connected", "", out)


# -- agents ------------------------------------------------------------------------------------


def _load_seat(cc_agent: str, key: str) -> Seat | None:
    extension, domain = _split_agent(cc_agent)
    return (
        Seat.objects.annotate(
            holder_id=Subquery(
                SeatSession.objects.filter(seat=OuterRef("pk"), ended_at=None).values("user_id")[:1]
            ),
            seen=Exists(AgentStatusChange.objects.filter(event_key=key)),
        )
        .filter(extension=extension, domain=domain)
        .select_for_update(of=("self",))
        .first()
    )


def _seat_messages(seat: Seat, user_id: int | None, out: list[Message]) -> None:
    if user_id is not None:
        out.append((agent_group(user_id), agent_status_payload(seat)))
    summary = {"type": "seat.update", "seat": seat_summary(seat, user_id=user_id)}
    out.append((SUPERVISORS, summary))
    out.append((WALLBOARD, summary))


def _agent_changed(event, out: list[Message]) -> None:
    seat = _load_seat(event.agent, event.key)
    if seat is None or seat.seen:
        return
    at = _at(event)
    change = AgentStatusChange(
        seat=seat,
        user_id=seat.holder_id,
        source=StatusSource.SWITCH,
        at=at,
        event_key=event.key,
    )
    if isinstance(event, d.AgentStatusChanged):
        seat.status = event.status[:30]
        seat.status_at = at
        fields = ["status", "status_at"]
        # The desktop owns the not-ready reason (break, meeting, after-call work); the switch
        # only tells us when the agent is ready again, which clears it. Never write back the
        # reason read here: the desktop may have set it since (lost update).
        if seat.status != AgentStatus.ON_BREAK:
            seat.reason = NotReadyReason.NONE
            fields.append("reason")
        change.status = seat.status
    else:
        seat.state = event.state[:30]
        seat.state_at = at
        change.state = seat.state
        fields = ["state", "state_at"]
    change.reason = seat.reason
    change.save()
    seat.save(update_fields=fields)
    _seat_messages(seat, seat.holder_id, out)


# -- resynchronisation -------------------------------------------------------------------------


@dataclasses.dataclass
class ResyncResult:
    calls_ended: int = 0
    seats_fixed: int = 0
    messages: list[Message] = dataclasses.field(default_factory=list)


def calls_max_id() -> int:
    """The newest call id: calls created after a resync's snapshot are left alone."""
    last = Call.objects.order_by("-id").values_list("id", flat=True).first()
    return last or 0


def _stale_outcome(call: Call) -> str:
    if call.answered_at is not None:
        return CallOutcome.ANSWERED
    if call.direction == INBOUND and (call.queued_at or call.offered_at):
        return CallOutcome.ABANDONED  # waiting when we lost sight of it: most likely gave up
    return CallOutcome.FAILED


def calls_resync(
    *,
    live_uuids: set[str],
    agents: dict[str, tuple[str, str]],
    max_call_id: int,
    at: datetime | None = None,
    publish: bool = True,
) -> ResyncResult:
    """Make the records agree with a snapshot of the switch (after a reconnect or a lost
    event): calls in progress whose channel is gone are ended (outcome from what is known:
    answered if an agent answered, abandoned if the caller was queued or offered, else
    failed); every seat takes the status and state the switch has (``Logged Out``/``Idle``
    for an agent the switch does not know). ``agent.status`` goes to every seat's holder."""
    at = at or timezone.now()
    result = ResyncResult()
    with transaction.atomic():
        stale = (
            Call.objects.select_related("hotline__station", "hotline__product", "customer", "agent")
            .select_for_update(of=("self",))
            .filter(outcome=CallOutcome.IN_PROGRESS, id__lte=max_call_id)
            .exclude(uuid__in=list(live_uuids))
        )
        for call in stale:
            call.outcome = _stale_outcome(call)
            call.ended_at = max(at, call.answered_at or at, call.created_at)
            if call.answered_at is not None:
                call.talk_seconds = round((call.ended_at - call.answered_at).total_seconds())
            call.save(update_fields=["outcome", "ended_at", "talk_seconds"])
            CallEvent.objects.get_or_create(
                key=f"resync:{call.uuid}",
                defaults={
                    "call": call,
                    "kind": "ResyncEnded",
                    "at": at,
                    "data": {"outcome": call.outcome},
                },
            )
            result.calls_ended += 1
            _to_agent(call, call.agent, "call.ended", result.messages)
            _summary_messages(call, result.messages)

        holders = dict(SeatSession.objects.filter(ended_at=None).values_list("seat_id", "user_id"))
        for seat in Seat.objects.filter(active=True):
            status, state = agents.get(
                seat.cc_agent, (AgentStatus.LOGGED_OUT.value, AgentState.IDLE.value)
            )
            user_id = holders.get(seat.pk)
            if (seat.status, seat.state) != (status, state):
                fields = []
                if seat.status != status:
                    seat.status, seat.status_at = status[:30], at
                    fields += ["status", "status_at"]
                    if status != AgentStatus.ON_BREAK:
                        seat.reason = NotReadyReason.NONE
                        fields.append("reason")
                if seat.state != state:
                    seat.state, seat.state_at = state[:30], at
                    fields += ["state", "state_at"]
                seat.save(update_fields=fields)
                AgentStatusChange.objects.create(
                    seat=seat,
                    user_id=user_id,
                    status=seat.status,
                    state=seat.state,
                    reason=seat.reason,
                    source=StatusSource.RESYNC,
                    at=at,
                )
                result.seats_fixed += 1
                _seat_messages(seat, user_id, result.messages)
            elif user_id is not None:
                result.messages.append((agent_group(user_id), agent_status_payload(seat)))
        if publish and result.messages:
            messages = result.messages
            transaction.on_commit(lambda: publish_messages(messages))
    return result


_HANDLERS: dict[type, Callable[..., None]] = {
    d.CallCreated: _call_created,
    d.CallQueued: _call_queued,
    d.CallOffered: _call_offered,
    d.RingNoAnswer: _ring_no_answer,
    d.CallAnswered: _call_answered,
    d.AgentCallEnded: _agent_call_ended,
    d.CallTransferred: _call_transferred,
    d.CallDequeued: _call_dequeued,
    d.CallEnded: _call_ended,
    d.LegCreated: _leg_event,
    d.LegRinging: _leg_event,
    d.LegAnswered: _leg_event,
    d.LegEnded: _leg_event,
    d.CallBridged: _leg_event,
    d.CallUnbridged: _leg_event,
    d.AgentStatusChanged: _agent_changed,
    d.AgentStateChanged: _agent_changed,
}
