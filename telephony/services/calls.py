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
* **Batches.** :func:`calls_apply_batch` applies many events in one transaction with the
  same handlers (the bridge's write-behind): the batch's calls, seats and applied keys are
  read once, event rows and status changes inserted in one statement each, calls and seats
  updated in one statement each. The bridge sends the screen pop itself before the records
  are written (:mod:`telephony.bridge.pops`); the ``call.offered`` built here is then only
  its fallback (``hold_offers``). The customer is looked up once per call, by the bridge's
  pop path, and reused here when the record is created.
* **call.withdrawn** goes to an agent whose offered call left them before it was answered
  (RONA, the caller hung up while it rang, transferred away): the desktop drops the pop.
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
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, Subquery
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


# -- batches (the bridge's write-behind) ------------------------------------------------------


@dataclasses.dataclass
class _Batch:
    """What :func:`calls_apply_batch` holds while it applies many events in one transaction:
    the calls and seats of the batch (loaded once, locked), the keys already applied, and the
    writes it makes at the end (one bulk insert per table, one bulk update per table)."""

    customers: Mapping[str, object]
    hold_offers: bool
    calls: dict[str, Call | None] = dataclasses.field(default_factory=dict)
    seen: set[str] = dataclasses.field(default_factory=set)
    events: list[CallEvent] = dataclasses.field(default_factory=list)
    kinds: set[tuple[int, str]] = dataclasses.field(default_factory=set)
    dirty_calls: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    seats: dict[str, Seat | None] = dataclasses.field(default_factory=dict)
    seat_seen: set[str] = dataclasses.field(default_factory=set)
    changes: list[AgentStatusChange] = dataclasses.field(default_factory=list)
    dirty_seats: dict[str, set[str]] = dataclasses.field(default_factory=dict)
    holders: dict[str, tuple] = dataclasses.field(default_factory=dict)
    hotlines: dict[str, Hotline | None] = dataclasses.field(default_factory=dict)
    offers: dict[str, list[Message]] = dataclasses.field(default_factory=dict)


_local = threading.local()


def _batch() -> _Batch | None:
    return getattr(_local, "batch", None)


def _save(call: Call, fields: list[str]) -> None:
    batch = _batch()
    if batch is None:
        call.save(update_fields=fields)
    else:
        batch.dirty_calls.setdefault(call.uuid, set()).update(fields)


def _preload(batch: _Batch, events: list[d.DomainEvent]) -> None:
    """Load (and lock, in a fixed order) the batch's calls and seats; read which of its
    events were applied before. Three to five queries for the whole batch."""
    uuids = {e.call_uuid for e in events if getattr(e, "call_uuid", None)}
    call_keys = [e.key for e in events if getattr(e, "call_uuid", None)]
    if uuids:
        calls = (
            Call.objects.select_related(
                "hotline__station", "hotline__product", "customer", "seat", "agent"
            )
            .select_for_update(of=("self",))
            .filter(uuid__in=uuids)
            .order_by("pk")
        )
        batch.calls = {uuid: None for uuid in uuids}
        batch.calls.update((call.uuid, call) for call in calls)
        batch.seen = set(CallEvent.objects.filter(key__in=call_keys).values_list("key", flat=True))
    agent_events = [e for e in events if isinstance(e, d.AgentStatusChanged | d.AgentStateChanged)]
    if agent_events:
        names = {e.agent for e in agent_events}
        extensions = {_split_agent(name)[0] for name in names}
        seats = (
            Seat.objects.annotate(
                holder_id=Subquery(
                    SeatSession.objects.filter(seat=OuterRef("pk"), ended_at=None).values(
                        "user_id"
                    )[:1]
                )
            )
            .filter(extension__in=extensions)
            .select_for_update(of=("self",))
            .order_by("pk")
        )
        batch.seats = {name: None for name in names}
        batch.seats.update((seat.cc_agent, seat) for seat in seats if seat.cc_agent in names)
        batch.seat_seen = set(
            AgentStatusChange.objects.filter(
                event_key__in=[e.key for e in agent_events]
            ).values_list("event_key", flat=True)
        )


def _flush(batch: _Batch) -> None:
    """The batch's writes: events and status changes in one insert each (a key already there
    is skipped), calls and seats in one update each."""
    if batch.events:
        CallEvent.objects.bulk_create(batch.events, ignore_conflicts=True)
    if batch.dirty_calls:
        fields = sorted(set().union(*batch.dirty_calls.values()))
        calls = [batch.calls[uuid] for uuid in batch.dirty_calls]
        Call.objects.bulk_update(calls, fields)
    if batch.changes:
        AgentStatusChange.objects.bulk_create(batch.changes, ignore_conflicts=True)
    if batch.dirty_seats:
        fields = sorted(set().union(*batch.dirty_seats.values()))
        Seat.objects.bulk_update([batch.seats[name] for name in batch.dirty_seats], fields)


def calls_apply_batch(
    events: list[d.DomainEvent],
    *,
    customers: Mapping[str, object] | None = None,
    hold_offers: bool = False,
) -> tuple[list[Message], dict[str, list[Message]]]:
    """Apply many domain events in arrival order in **one** transaction (the bridge's
    write-behind); the same records and messages as :func:`call_apply_event` per event.

    The calls and seats the events touch are read once (locked), the keys already applied
    once; event rows and status changes are inserted in one statement each (a key already
    there is skipped: idempotent), calls and seats updated in one statement each.

    ``customers``: customers the bridge already looked up, by call uuid (``None``: nobody
    owns the number), so a new call's record does not look them up again.
    ``hold_offers``: the ``call.offered`` of an offer is returned separately, by the offer's
    event key (the bridge pushed the pop already and sends it only if that failed).
    Returns ``(messages, held offers)``. Raises if any event fails (nothing is written):
    the caller then applies the events one by one.
    """
    handled = [e for e in events if type(e) in _HANDLERS]
    batch = _Batch(customers=customers or {}, hold_offers=hold_offers)
    if not handled:
        return [], {}
    out: list[Message] = []
    _local.batch = batch
    try:
        with transaction.atomic():
            _preload(batch, handled)
            for event in handled:
                _HANDLERS[type(event)](event, out)
            _flush(batch)
    finally:
        _local.batch = None
    return out, batch.offers


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
    batch = _batch()
    if batch is not None:
        if uuid not in batch.calls:
            batch.calls[uuid] = (
                Call.objects.select_related(
                    "hotline__station", "hotline__product", "customer", "seat", "agent"
                )
                .select_for_update(of=("self",))
                .filter(uuid=uuid)
                .first()
            )
        call = batch.calls[uuid]
        if call is None or any(getattr(call, f) != v for f, v in filters.items()):
            return None
        call.seen = key in batch.seen
        return call
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
    row = CallEvent(
        call=call,
        key=event.key,
        kind=kind or type(event).__name__,
        at=_at(event),
        data=_event_data(event),
    )
    batch = _batch()
    if batch is None:
        row.save(force_insert=True)
        return
    batch.events.append(row)
    batch.seen.add(row.key)
    batch.kinds.add((call.pk, row.kind))


def _split_agent(cc_agent: str) -> tuple[str, str]:
    extension, _, domain = cc_agent.partition("@")
    return extension, domain or "default"


def _seat_and_user(cc_agent: str | None):
    """The seat of a mod_callcenter agent and the user logged into it (one query)."""
    if not cc_agent:
        return None, None
    batch = _batch()
    if batch is not None:
        if cc_agent not in batch.holders:
            batch.holders[cc_agent] = seat_holder(cc_agent)
        return batch.holders[cc_agent]
    return seat_holder(cc_agent)


def seat_holder(cc_agent: str):
    """``(seat, user)`` of a mod_callcenter agent: the seat and the user logged into it now
    (one query; ``(None, None)`` for an unknown seat, ``(seat, None)`` if nobody is in it)."""
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
    batch = _batch()
    if batch is not None and number in batch.hotlines:
        return batch.hotlines[number]
    hotline = hotline_by_number(number)
    if batch is not None:
        batch.hotlines[number] = hotline
    return hotline


def hotline_by_number(number: str) -> Hotline | None:
    """The active hotline with this number, its station and product joined."""
    return (
        Hotline.objects.select_related("station", "product")
        .filter(number=number, active=True)
        .first()
    )


def normalise_caller(raw: str) -> str:
    """The caller's number as a call record keeps it (E.164 when it is a phone number)."""
    return (phone_lookup_key(raw) or raw or "")[:32]


_caller = normalise_caller


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


def _withdraw(call: Call, user, reason: str, out: list[Message]) -> None:
    """``call.withdrawn`` to ``user``: the call offered to them has left them (RONA, the
    caller hung up while it rang, transferred away); the desktop removes the pop."""
    if user is None:
        return
    message = {
        "type": "call.withdrawn",
        "reason": reason,
        "call": {"id": call.pk, "uuid": call.uuid},
    }
    out.append((agent_group(user.pk), message))


def _create_inbound(
    *, uuid: str, caller: str, dialled: str, at: datetime, hotline: Hotline | None
) -> Call:
    """A new inbound call record: hotline → station and queue, the customer (the one
    lookup of the call), and the day's lead for the number."""
    batch = _batch()
    if batch is not None and uuid in batch.customers:
        customer = batch.customers[uuid]  # the bridge looked it up for the pop
    else:
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
    if batch is not None:
        batch.calls[uuid] = call
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
    _save(call, ["queued_at", "queue"])
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
    _save(call, ["offered_at", "seat", "agent", "queue"])
    batch = _batch()
    if batch is not None and batch.hold_offers:
        # The bridge pushed this pop already, straight from the event (telephony.bridge.pops);
        # it sends this copy only if that failed.
        batch.offers[event.key] = held = []
        _to_agent(call, user, "call.offered", held, replay=False)
    else:
        _to_agent(call, user, "call.offered", out, replay=False)
    _summary_messages(call, out)


def _ring_no_answer(event: d.RingNoAnswer, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    fields = []
    if event.rona:
        call.ring_no_answer_count += 1
        fields.append("ring_no_answer_count")
    # The offer leaves this agent (the queue tries the next one): the pop goes away, and the
    # call is nobody's until it is offered again.
    seat, user = _seat_and_user(event.agent)
    if seat is not None and call.seat_id == seat.pk:
        user = call.agent
        call.seat, call.agent = None, None
        fields += ["seat", "agent"]
    _withdraw(call, user, "rona" if event.rona else "not_answered", out)
    if fields:
        _save(call, fields)
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
    _save(call, ["answered_at", "offered_at", "queued_at", "wait_seconds", "seat", "agent"])
    _to_agent(call, user, "call.answered", out)
    _summary_messages(call, out)


def _agent_call_ended(event: d.AgentCallEnded, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    if call.talk_seconds is None and event.talk_seconds is not None:
        call.talk_seconds = event.talk_seconds
        _save(call, ["talk_seconds"])


def _call_transferred(event: d.CallTransferred, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen:
        return
    _record(call, event)
    call.transferred = True
    fields = ["transferred"]
    previous = call.agent
    if event.to_queue:
        call.queue = event.to_queue[:50]
        fields.append("queue")
    seat, user = _seat_and_user_of_channel(event.to_channel)
    if seat is not None:
        call.seat, call.agent = seat, user
        call.offered_at = _at(event)
        fields += ["seat", "agent", "offered_at"]
    elif event.to_queue:
        call.seat, call.agent = None, None  # back in a queue: nobody's until offered again
        fields += ["seat", "agent"]
    if previous is not None and call.agent_id != previous.pk:
        _withdraw(call, previous, "transferred", out)
    _save(call, fields)
    if seat is not None:
        # the pop follows the call to the receiving agent
        _to_agent(call, user, "call.offered", out, replay=False)
    _summary_messages(call, out)


def _call_held(event: d.CallHeld, out: list[Message]) -> None:
    """The caller is on hold: one more hold, on hold since the event. A second hold of the
    same call while it is held (both legs, or the phone's re-INVITE after ``uuid_hold``)
    is one hold: neither counted nor logged as ``CallHeld`` (the statistics count those)."""
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen or call.held_at is not None or call.ended_at is not None:
        return
    _record(call, event)
    call.held_at = _at(event)
    call.hold_count += 1
    _save(call, ["held_at", "hold_count"])
    _summary_messages(call, out)


def _call_unheld(event: d.CallUnheld, out: list[Message]) -> None:
    call = _load_call(event.call_uuid, event.key)
    if call is None or call.seen or call.held_at is None:
        return
    _record(call, event)
    _end_hold(call, _at(event))
    _summary_messages(call, out)


def _end_hold(call: Call, at: datetime) -> None:
    call.hold_seconds += max(0, round((at - call.held_at).total_seconds()))
    call.held_at = None
    _save(call, ["held_at", "hold_seconds"])


def _hold_ends_with_call(call: Call, event: d.CallEnded) -> None:
    """A call that hangs up while held: its hold ends with it (FreeSWITCH sends no
    ``CHANNEL_UNHOLD`` then); a ``CallUnheld`` row at the hang-up closes the interval the
    agent statistics measure. Its key derives from the hang-up's, so it is idempotent too."""
    at = call.ended_at or _at(event)
    row = CallEvent(
        call=call,
        key=f"CallUnheld:{event.key}"[:120],
        kind="CallUnheld",
        at=at,
        data={"call_uuid": call.uuid, "at_hangup": True},
    )
    batch = _batch()
    if batch is None:
        row.save(force_insert=True)
    else:
        batch.events.append(row)
        batch.seen.add(row.key)
    _end_hold(call, at)


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
        _save(call, fields)


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
    if event.recording:
        call.recording_path = event.recording[:300]
    if call.held_at is not None:
        _hold_ends_with_call(call, event)
    _save(
        call,
        [
            "recording_path",
            "ended_at",
            "hangup_cause",
            "outcome",
            "talk_seconds",
            "wait_seconds",
            "answered_at",
            "queue",
        ],
    )
    if call.direction == OUTBOUND:
        failed = event.outcome != CallOutcome.ANSWERED
        cause = event.originate_disposition or event.cause or ""
        _dial_progress(call, "failed" if failed else "ended", cause if failed else "", out)
        _callback_finished_on_commit(call.pk)
    elif event.outcome == CallOutcome.OVERFLOW:
        _callback_capture(call, event)
    if call.direction == INBOUND and call.answered_at is None:
        # the caller hung up while the agent's phone rang: the pop goes away
        _withdraw(call, call.agent, "caller_hung_up", out)
    else:
        _to_agent(call, call.agent, "call.ended", out)
    _summary_messages(call, out)


# -- callbacks (telephony.callbacks) ----------------------------------------------------------

CAPTURE_REASONS = ("overflow_switch", "max_wait", "after_hours")


def capture_reason(call: Call, raw: str) -> str:
    """The capture reason of an overflow call: the dialplan's ``tvshop_callback_reason``;
    the overflow switch that is on because the hotline is closed (work hours, holidays —
    the routing controller turns the same global variable on) counts as ``after_hours``."""
    reason = raw if raw in CAPTURE_REASONS else "overflow_switch"
    if reason == "overflow_switch" and call.hotline_id is not None:
        try:
            from telephony.routing.models import RoutingPolicy
        except ImportError:  # pragma: no cover - routing not installed
            return reason
        closed = RoutingPolicy.objects.filter(
            hotline_id=call.hotline_id, overflow_active=True, overflow_reason="after_hours"
        ).exists()
        if closed:
            return "after_hours"
    return reason


def _callback_capture(call: Call, event: d.CallEnded) -> None:
    """The overflow branch captured the caller: the callback request is written in the
    same transaction as the call's end (both or neither: a capture is never lost while
    its call is recorded, and a batch retried after a failure cannot half-apply it;
    :func:`~telephony.callbacks.services.callback_capture` is idempotent per call uuid,
    so the CDR reconciliation capturing the same call again changes nothing)."""
    from telephony.callbacks.services import callback_capture

    try:
        with transaction.atomic():  # a savepoint: a refusal leaves the batch usable
            callback_capture(
                number=call.caller,
                call_uuid=call.uuid,
                hotline_id=call.hotline_id,
                station_id=call.station_id,
                captured_at=call.ended_at or _at(event),
                reason=capture_reason(call, event.callback_reason),
            )
    except DomainError as exc:  # anonymous caller: nothing to call back, still accounted
        logger.info("call %s captured without a callback: %s", call.uuid, exc)


def _callback_finished_on_commit(call_id: int) -> None:
    """After an outbound call closes: if it was a callback's dial, its result (after the
    commit, on the writer's thread; cheap for calls that are no callback's)."""

    def run() -> None:
        from telephony.callbacks.services import callback_call_finished

        try:
            callback_call_finished(call_id=call_id)
        except Exception:  # the dispatcher's housekeeping settles it later
            logger.exception("callback_call_finished(%s) failed", call_id)

    transaction.on_commit(run)


# -- CDRs (telephony.cdr): the same writer of call records -------------------------------------
# The CDR ingest (telephony/cdr/services.py) decodes and stores a CDR and reads it through
# normalize() as the caller leg's CHANNEL_HANGUP_COMPLETE (its facts); the call record is
# written here, next to the event handlers, so Call rows have one writer.


def call_reconcile_cdr(facts) -> tuple[str, Call | None, str]:
    """Make the call record agree with one CDR (``telephony.cdr.services.CdrFacts``), inside
    the caller's transaction: ``(result, call, detail)`` with ``result`` one of
    ``telephony.cdr.models.CdrResult``. A missing call is created, an incomplete one
    completed, a complete one only gets blank fields filled; an overflow call is captured
    for a callback (idempotent per call uuid)."""
    from telephony.cdr.models import CdrResult

    call = Call.objects.select_for_update(of=("self",)).filter(uuid=facts.call_uuid).first()
    if not facts.is_call_leg:
        # an agent's or a customer's leg: the call record is the caller leg's business
        return CdrResult.IGNORED, call, "leg of another call"
    if call is None:
        call = _cdr_create(facts)
        if call is None:
            return CdrResult.IGNORED, None, "not a hotline call"
        result, detail = CdrResult.CREATED, ""
    else:
        changed = _cdr_complete(call, facts)
        result = CdrResult.COMPLETED if changed else CdrResult.UNCHANGED
        detail = ",".join(changed)[:300]
    if facts.outcome == CallOutcome.OVERFLOW and call.direction == INBOUND:
        detail = _cdr_capture(call, facts, detail)
    return result, call, detail


def _cdr_holder_at(cc_agent: str, at: datetime | None) -> tuple[Seat | None, object | None]:
    """The seat of a mod_callcenter agent and the user logged into it at ``at``."""
    if not cc_agent:
        return None, None
    extension, _sep, domain = cc_agent.partition("@")
    seat = Seat.objects.filter(extension=extension, domain=domain or "default").first()
    if seat is None:
        return None, None
    sessions = SeatSession.objects.select_related("user").filter(seat=seat)
    if at is not None:
        sessions = sessions.filter(started_at__lte=at).filter(
            Q(ended_at=None) | Q(ended_at__gte=at)
        )
    else:
        sessions = sessions.filter(ended_at=None)
    session = sessions.order_by("-started_at").first()
    return seat, session.user if session else None


def _cdr_create(facts) -> Call | None:
    """A call the event stream never saw, from its CDR (same rules as the bridge: inbound
    calls to a hotline or into a queue; outbound calls only exist if the app started them)."""
    if facts.direction != INBOUND:
        return None
    hotline = hotline_by_number(facts.dialled) if facts.dialled else None
    if hotline is None and not facts.queue:
        return None
    created_at = facts.created_at or facts.queued_at or facts.ended_at or timezone.now()
    seat, user = _cdr_holder_at(facts.agent, facts.answered_at or created_at)
    caller = facts.caller
    call = Call.objects.create(
        uuid=facts.call_uuid,
        direction=INBOUND,
        caller=normalise_caller(caller),
        dialled=facts.dialled,
        hotline=hotline,
        station=hotline.station if hotline else None,
        queue=facts.queue or (hotline.queue_name if hotline else ""),
        seat=seat,
        agent=user,
        customer=customer_find_by_phone(caller) if caller else None,
        created_at=created_at,
        queued_at=facts.queued_at,
        offered_at=facts.answered_at,
        answered_at=facts.answered_at,
        ended_at=facts.ended_at or created_at,
        wait_seconds=facts.wait_seconds,
        talk_seconds=facts.talk_seconds,
        hangup_cause=facts.cause,
        outcome=facts.outcome,
        recording_path=facts.recording,
    )
    _cdr_log_event(call, facts, ["created"])
    if caller:
        try:
            with transaction.atomic():
                lead_record_call(phone=caller, hotline=hotline, at=created_at)
        except DomainError as exc:  # anonymous or unusable number: no lead, still a call
            logger.info("no lead for call %s from %r: %s", call.uuid, caller, exc)
    return call


def _cdr_complete(call: Call, facts) -> list[str]:
    """Fill what the event stream left open; never overwrite what it recorded. A call still
    in progress, or ended by a resynchronisation's guess, takes the CDR's end and outcome."""
    guessed = CallEvent.objects.filter(key=f"resync:{call.uuid}").exists() and not (
        CallEvent.objects.filter(call=call, kind="CallEnded").exists()
    )
    open_call = call.outcome == CallOutcome.IN_PROGRESS or call.ended_at is None
    changed: list[str] = []

    def fill(field: str, value, *, force: bool = False) -> None:
        if value in (None, ""):
            return
        if getattr(call, field) in (None, "") or (force and getattr(call, field) != value):
            setattr(call, field, value)
            changed.append(field)

    ending = open_call or guessed
    fill("ended_at", facts.ended_at, force=ending)
    fill("outcome", facts.outcome, force=ending)
    fill("hangup_cause", facts.cause, force=ending)
    fill("talk_seconds", facts.talk_seconds, force=guessed)
    fill("answered_at", facts.answered_at)
    fill("queued_at", facts.queued_at)
    fill("wait_seconds", facts.wait_seconds)
    fill("queue", facts.queue)
    fill("recording_path", facts.recording)
    if call.seat_id is None and facts.agent and facts.outcome == CallOutcome.ANSWERED:
        seat, user = _cdr_holder_at(facts.agent, facts.answered_at or call.created_at)
        if seat is not None:
            call.seat, call.agent = seat, call.agent or user
            changed += ["seat", "agent"]
    if ending and call.held_at is not None and call.ended_at is not None:
        # held when it hung up (the bridge missed the end): the hold ends with the call
        CallEvent.objects.get_or_create(
            key=f"CallUnheld:cdr:{facts.leg_uuid}"[:120],
            defaults={
                "call": call,
                "kind": "CallUnheld",
                "at": call.ended_at,
                "data": {"call_uuid": call.uuid, "at_hangup": True},
            },
        )
        call.hold_seconds += max(0, round((call.ended_at - call.held_at).total_seconds()))
        call.held_at = None
        changed += ["hold_seconds", "held_at"]
    if changed:
        call.save(update_fields=sorted(set(changed)))
        _cdr_log_event(call, facts, changed)
    return changed


def _cdr_log_event(call: Call, facts, changed: list[str]) -> None:
    CallEvent.objects.get_or_create(
        key=f"cdr:{facts.leg_uuid}",
        defaults={
            "call": call,
            "kind": "CdrReconciled",
            "at": facts.ended_at or timezone.now(),
            "data": {"outcome": facts.outcome, "cause": facts.cause, "changed": changed},
        },
    )


def _cdr_capture(call: Call, facts, detail: str) -> str:
    from telephony.callbacks.services import callback_capture

    reason = capture_reason(call, facts.callback_reason)
    try:
        request = callback_capture(
            number=facts.caller or call.caller,
            call_uuid=call.uuid,
            hotline_id=call.hotline_id,
            station_id=call.station_id,
            captured_at=facts.ended_at or call.created_at,
            reason=reason,
        )
    except DomainError as exc:  # no number to call back: the call is still accounted
        logger.warning("CDR %s: capture without a callback: %s", facts.leg_uuid, exc)
        return ",".join(filter(None, [detail, f"no callback: {exc.message}"]))[:300]
    return ",".join(filter(None, [detail, f"callback {request.pk}"]))[:300]


# -- click-to-dial legs ----------------------------------------------------------------------


def _dial_progress(call: Call, stage: str, cause: str, out: list[Message]) -> None:
    _to_agent(call, call.agent, "dial.progress", out, stage=stage, cause=cause)


def _leg_event(event, out: list[Message]) -> None:
    """Leg events matter only for calls the app originated (``dial.progress``)."""
    call = _load_call(event.call_uuid, event.key, direction=OUTBOUND)
    if call is None or call.seen:
        return
    kind = type(event).__name__
    batch = _batch()
    first_of_kind = (batch is None or (call.pk, kind) not in batch.kinds) and not (
        CallEvent.objects.filter(call=call, kind=kind).exists()
    )
    _record(call, event)
    if isinstance(event, d.LegCreated) and first_of_kind:
        _dial_progress(call, "dialling_customer", "", out)
    elif isinstance(event, d.CallBridged) and first_of_kind:
        if call.answered_at is None:
            call.answered_at = _at(event)
            _save(call, ["answered_at"])
        _dial_progress(call, "connected", "", out)


# -- agents ------------------------------------------------------------------------------------


def _load_seat(cc_agent: str, key: str) -> Seat | None:
    batch = _batch()
    if batch is not None and cc_agent in batch.seats:
        seat = batch.seats[cc_agent]
        if seat is not None:
            seat.seen = key in batch.seat_seen
        return seat
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
    batch = _batch()
    if batch is not None and event.agent in batch.seats:
        batch.changes.append(change)
        batch.seat_seen.add(event.key)
        batch.dirty_seats.setdefault(event.agent, set()).update(fields)
    else:
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
            fields = ["outcome", "ended_at", "talk_seconds"]
            if call.held_at is not None:  # held when its channel went: the hold ends too
                CallEvent.objects.get_or_create(
                    key=f"resync-unhold:{call.uuid}",
                    defaults={
                        "call": call,
                        "kind": "CallUnheld",
                        "at": call.ended_at,
                        "data": {"call_uuid": call.uuid, "at_hangup": True},
                    },
                )
                call.hold_seconds += max(0, round((call.ended_at - call.held_at).total_seconds()))
                call.held_at = None
                fields += ["hold_seconds", "held_at"]
            call.save(update_fields=fields)
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
    d.CallHeld: _call_held,
    d.CallUnheld: _call_unheld,
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
