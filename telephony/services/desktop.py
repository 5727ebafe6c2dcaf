"""The agent desktop's writes: seat log-in/out, ready, not ready, after-call work, transfer.

Each service checks, writes and audits in one transaction and sends the switch the matching
``callcenter_config agent set status <cc_agent> '<Status>'`` inside it: if the switch
refuses or cannot be reached the service raises a translated DomainError and nothing is
saved. The switch's own ``agent-status-change`` event then comes back through the bridge
(``AgentStatusChange`` with source "switch"), which keeps ``Seat.status`` in step; these
services also update the seat (the not-ready *reason* is known only to the app) and push
``agent.status`` to the agent's sockets after commit, so the page changes at once even
before the bridge's event arrives.

Statuses:

* **log-in** leaves the seat ``On Break`` with no reason (shown "Not ready"): the agent
  takes calls only after clicking *Ready*, never by surprise at log-in.
* **ready** → ``Available``; **not ready** (break, meeting, other) → ``On Break`` + reason.
* **after-call work** → ``On Break`` with reason ``acw`` (the agent's button, or by itself when
  an answered call ends if :func:`acw_auto`); it ends by itself after
  :func:`acw_seconds` (setting ``TELEPHONY_ACW_SECONDS``, default 30): the desktop counts
  down and then posts ``acw_end`` (→ ready); as a server-side safety net every desktop request (and
  :func:`acw_expire_due`, which a periodic task may call) puts seats whose ACW is overdue by
  more than :data:`ACW_GRACE_SECONDS` back to ready, so a closed tab cannot leave an agent in
  ACW for the rest of the shift.
* **log-out** → ``Logged Out``, refused while the seat is ringing or on a call.
"""

from __future__ import annotations

import datetime as dt
import logging

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony.choices import AgentState, AgentStatus, NotReadyReason, StatusSource
from telephony.models import AgentStatusChange, Call, Seat, SeatSession
from telephony.switch import SwitchRefused, switch_api
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError, Forbidden

logger = logging.getLogger("telephony.desktop")

DEFAULT_ACW_SECONDS = 30
ACW_GRACE_SECONDS = 5
NOT_READY_REASONS = (NotReadyReason.BREAK, NotReadyReason.MEETING, NotReadyReason.OTHER)
BUSY_STATES = (AgentState.RECEIVING, AgentState.IN_A_QUEUE_CALL)
SEAT_FIELDS = ["status", "state", "reason", "status_at"]


def acw_seconds() -> int:
    """After-call work length (``settings.TELEPHONY_ACW_SECONDS``, default 30 s)."""
    return int(getattr(settings, "TELEPHONY_ACW_SECONDS", DEFAULT_ACW_SECONDS))


def acw_auto() -> bool:
    """Does after-call work start by itself when an answered call ends (the desktop posts
    it on ``call.ended``)? ``settings.TELEPHONY_ACW_AUTO``, default True."""
    return bool(getattr(settings, "TELEPHONY_ACW_AUTO", True))


# --- reads the desktop needs -------------------------------------------------------------


def session_of(user) -> SeatSession | None:
    """The user's open seat session (with its seat), or None."""
    return (
        SeatSession.objects.select_related("seat").filter(user=user, ended_at=None).first()
        if user is not None and user.is_authenticated
        else None
    )


def free_seats():
    """Active seats nobody is logged into, for the log-in form."""
    taken = SeatSession.objects.filter(ended_at=None).values("seat_id")
    return Seat.objects.filter(active=True).exclude(pk__in=taken).order_by("extension")


def current_call(user) -> Call | None:
    """The user's newest call still in progress (what the desktop pops on (re)load)."""
    return (
        Call.objects.select_related("hotline__station", "hotline__product", "customer")
        .filter(agent=user, outcome="in_progress")
        .order_by("-created_at", "-id")
        .first()
    )


def acw_deadline(seat: Seat) -> dt.datetime | None:
    if seat.reason != NotReadyReason.AFTER_CALL_WORK or seat.status_at is None:
        return None
    return seat.status_at + dt.timedelta(seconds=acw_seconds())


# --- helpers -------------------------------------------------------------------------------


def _push_status(user_id: int, seat: Seat | None) -> None:
    """Send ``agent.status`` to the user's desktop sockets (best effort, after commit)."""
    from channels.layers import get_channel_layer

    from telephony.groups import agent_group
    from telephony.payloads import agent_status_payload

    payload = agent_status_payload(seat)

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(agent_group(user_id), payload)
        except Exception:  # a notification only; the page re-reads on reconnect
            logger.warning("agent.status push to user %s failed", user_id, exc_info=True)

    transaction.on_commit(send)


def _set_status(
    *,
    actor,
    seat: Seat,
    user,
    status: str,
    reason: str = "",
    note: str = "",
    action: str = AuditAction.STATUS,
) -> Seat:
    """Inside a transaction holding the seat's row lock: tell the switch, record, audit."""
    before = snapshot(seat, fields=SEAT_FIELDS)
    now = timezone.now()
    seat.status, seat.reason, seat.status_at = status, reason, now
    seat.save(update_fields=["status", "reason", "status_at"])
    AgentStatusChange.objects.create(
        seat=seat, user=user, status=status, reason=reason, source=StatusSource.APP, at=now
    )
    audit_record(
        actor=actor,
        action=action,
        obj=seat,
        before=before,
        after=snapshot(seat, fields=SEAT_FIELDS),
        note=note,
    )
    # Last, so a refusal rolls everything above back.
    switch_api(f"callcenter_config agent set status {seat.cc_agent} '{status}'")
    _push_status(user.pk, seat)
    return seat


def _locked_session(user) -> SeatSession:
    session = (
        SeatSession.objects.select_for_update(of=("self", "seat"))
        .select_related("seat")
        .filter(user=user, ended_at=None)
        .first()
    )
    if session is None:
        raise Conflict(_("You are not logged into a seat."), code="no_seat")
    return session


def switch_agent_ensure(*, seat: Seat) -> bool:
    """Make sure the switch knows the seat as a mod_callcenter agent; True if it was added.

    A seat created after the switch started (the embedded simulator reads the seats once,
    when it starts; a real switch may define no static agents) becomes a dynamic agent:
    ``agent add … callback``, its contact ``user/<extension>``, and a tier in every active
    hotline's queue — what ``callcenter.conf.xml`` would have said. A seat the switch knows
    is left as configured there."""
    from tvshop.media.models import Hotline

    try:
        switch_api(f"callcenter_config agent get status {seat.cc_agent}")
        return False
    except SwitchRefused as exc:
        if "Invalid Agent" not in exc.reply:
            raise
    switch_api(f"callcenter_config agent add {seat.cc_agent} callback")
    switch_api(
        f"callcenter_config agent set contact {seat.cc_agent} [leg_timeout=15]user/{seat.extension}"
    )
    queues = (
        Hotline.objects.filter(active=True)
        .exclude(queue_name="")
        .values_list("queue_name", flat=True)
        .distinct()
    )
    for queue in queues:
        try:
            switch_api(f"callcenter_config tier add {queue} {seat.cc_agent} 1 1")
        except SwitchRefused as exc:  # a queue the switch does not have: skipped, logged
            logger.warning("seat %s: no tier in queue %s: %s", seat.extension, queue, exc.reply)
    logger.info("seat %s added to the switch as agent %s", seat.extension, seat.cc_agent)
    return True


# --- services ------------------------------------------------------------------------------


def seat_login(*, user, seat: Seat) -> SeatSession:
    """Open a seat session for ``user`` on ``seat``; the seat goes ``On Break`` (not ready)."""
    if not user.has_perm("telephony.use_desktop"):
        raise Forbidden(_("You may not take calls."))
    try:
        with transaction.atomic():
            seat = Seat.objects.select_for_update().get(pk=seat.pk)
            if not seat.active:
                raise DomainError(
                    _("Seat %(seat)s is not in use.") % {"seat": seat.extension},
                    fields={"seat": [_("Choose another seat.")]},
                )
            if SeatSession.objects.filter(user=user, ended_at=None).exists():
                raise Conflict(_("You are already logged into a seat."), code="has_seat")
            if SeatSession.objects.filter(seat=seat, ended_at=None).exists():
                message = _("Seat %(seat)s is taken.") % {"seat": seat.extension}
                raise Conflict(message, fields={"seat": [message]}, code="seat_taken")
            switch_agent_ensure(seat=seat)
            session = SeatSession.objects.create(seat=seat, user=user, started_at=timezone.now())
            audit_record(
                actor=user,
                action=AuditAction.LOGIN,
                obj=session,
                after=snapshot(session),
                note=f"seat {seat.extension}",
            )
            _set_status(actor=user, seat=seat, user=user, status=AgentStatus.ON_BREAK)
    except IntegrityError as exc:  # lost a race: the partial unique indexes said no
        raise Conflict(_("The seat or you were just logged in elsewhere."), code="race") from exc
    return session


def seat_logout(*, user) -> SeatSession:
    """Close the user's seat session; the seat goes ``Logged Out`` on the switch."""
    with transaction.atomic():
        session = _locked_session(user)
        seat = session.seat
        if seat.state in BUSY_STATES:
            raise Conflict(_("Finish the current call before logging out."), code="on_call")
        before = snapshot(session)
        session.ended_at = timezone.now()
        session.save(update_fields=["ended_at"])
        audit_record(
            actor=user,
            action=AuditAction.LOGOUT,
            obj=session,
            before=before,
            after=snapshot(session),
            note=f"seat {seat.extension}",
        )
        _set_status(actor=user, seat=seat, user=user, status=AgentStatus.LOGGED_OUT)
    _push_status(user.pk, None)
    return session


def agent_set_ready(*, user) -> Seat:
    """Ready (``Available``): the queues may offer the agent calls."""
    with transaction.atomic():
        seat = _locked_session(user).seat
        return _set_status(actor=user, seat=seat, user=user, status=AgentStatus.AVAILABLE)


def agent_set_not_ready(*, user, reason: str) -> Seat:
    """Not ready (``On Break``) for ``reason`` (break, meeting, other)."""
    if reason not in NOT_READY_REASONS:
        message = _("Choose why you are not ready.")
        raise DomainError(message, fields={"reason": [message]})
    with transaction.atomic():
        seat = _locked_session(user).seat
        return _set_status(
            actor=user, seat=seat, user=user, status=AgentStatus.ON_BREAK, reason=reason
        )


def agent_start_acw(*, user) -> Seat:
    """After-call work: ``On Break`` with reason ``acw`` for :func:`acw_seconds`."""
    with transaction.atomic():
        seat = _locked_session(user).seat
        return _set_status(
            actor=user,
            seat=seat,
            user=user,
            status=AgentStatus.ON_BREAK,
            reason=NotReadyReason.AFTER_CALL_WORK,
        )


def agent_end_acw(*, user) -> Seat:
    """End after-call work (the countdown ran out or the agent is done): ready again.
    A no-op if the agent left ACW meanwhile (e.g. chose a break)."""
    with transaction.atomic():
        seat = _locked_session(user).seat
        if seat.reason != NotReadyReason.AFTER_CALL_WORK:
            return seat
        return _set_status(
            actor=user, seat=seat, user=user, status=AgentStatus.AVAILABLE, note="acw ended"
        )


def acw_expire_due(*, now: dt.datetime | None = None, user=None) -> int:
    """Put seats whose after-call work is overdue back to ready; how many.

    ``user``: only that user's seat (the desktop calls this on every request).
    A seat the switch cannot be told about stays in ACW and is tried again next time.
    """
    now = now or timezone.now()
    cutoff = now - dt.timedelta(seconds=acw_seconds() + ACW_GRACE_SECONDS)
    sessions = SeatSession.objects.filter(
        ended_at=None,
        seat__reason=NotReadyReason.AFTER_CALL_WORK,
        seat__status=AgentStatus.ON_BREAK,
        seat__status_at__lt=cutoff,
    ).select_related("user")
    if user is not None:
        sessions = sessions.filter(user=user)
    done = 0
    for session in sessions:
        try:
            with transaction.atomic():
                seat = Seat.objects.select_for_update().get(pk=session.seat_id)
                if seat.reason != NotReadyReason.AFTER_CALL_WORK or seat.status_at >= cutoff:
                    continue
                _set_status(
                    actor=None,
                    seat=seat,
                    user=session.user,
                    status=AgentStatus.AVAILABLE,
                    note="acw timed out",
                )
                done += 1
        except DomainError:
            logger.warning("ACW of seat %s could not be ended on the switch", session.seat_id)
    return done


# --- transfer ------------------------------------------------------------------------------


def call_transfer(*, user, call: Call, seat: Seat | None = None, queue: str = "") -> Call:
    """Transfer ``call`` (its caller's leg) to another seat's extension or to a queue
    (``uuid_transfer``); audited. The bridge moves the call record and the pop from the
    switch's events."""
    if not user.has_perm("telephony.use_desktop"):
        raise Forbidden(_("You may not transfer calls."))
    supervisor = user.has_perm("telephony.view_wallboard")
    if call.agent_id != user.pk and not supervisor:
        raise Forbidden(_("This is not your call."))
    if call.outcome != "in_progress":
        raise Conflict(_("The call has ended."), code="call_ended")
    if (seat is None) == (not queue):
        message = _("Choose one seat or one queue to transfer to.")
        raise DomainError(message, fields={"target": [message]})
    if seat is not None:
        if not seat.active or not seat.sessions.filter(ended_at=None).exists():
            message = _("Nobody is logged into seat %(seat)s.") % {"seat": seat.extension}
            raise DomainError(message, fields={"seat": [message]})
        if call.seat_id == seat.pk:
            message = _("The call is already on that seat.")
            raise DomainError(message, fields={"seat": [message]})
        destination, note = seat.extension, f"to seat {seat.extension}"
    else:
        if not queue.replace("_", "").replace("-", "").isalnum():
            message = _("Unknown queue.")
            raise DomainError(message, fields={"queue": [message]})
        destination, note = queue, f"to queue {queue}"
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.UPDATE,
            obj=call,
            before={"seat": call.seat_id, "queue": call.queue, "agent": call.agent_id},
            after={"transfer_to": destination},
            note=f"transfer {note}",
        )
        switch_api(f"uuid_transfer {call.uuid} {destination}")
    return call


# --- hold ----------------------------------------------------------------------------------


def agent_leg_of(call: Call) -> str | None:
    """The uuid of the agent's own leg of ``call``: the caller's leg for a click-to-dial
    (the originate's first leg is the agent's phone), else the leg mod_callcenter bridged
    (``CallAnswered.agent_leg_uuid``) or the one a transfer bridged to, the latest."""
    from telephony.models import CallEvent

    if call.direction == "outbound":
        return call.uuid
    for kind, data in (
        CallEvent.objects.filter(call=call, kind__in=("CallAnswered", "CallTransferred"))
        .order_by("-at", "-id")
        .values_list("kind", "data")
    ):
        leg = (data or {}).get("agent_leg_uuid" if kind == "CallAnswered" else "to_leg_uuid")
        if leg:
            return str(leg)
    return None


def call_hold(*, user, hold: bool, call: Call | None = None) -> Call:
    """Put the caller of the agent's current call on hold (music on hold) or take them
    back: ``uuid_hold [off] <agent's leg>`` on the switch; audited. The call's hold count
    and seconds follow from the switch's ``CHANNEL_HOLD`` / ``CHANNEL_UNHOLD`` through the
    bridge (the records are never written from the button, only from the switch's word)."""
    if not user.has_perm("telephony.use_desktop"):
        raise Forbidden(_("You may not put calls on hold."))
    call = call if call is not None else current_call(user)
    if call is None:
        raise Conflict(_("You have no call to hold."), code="no_call")
    if call.agent_id != user.pk:
        raise Forbidden(_("This is not your call."))
    if call.outcome != "in_progress":
        raise Conflict(_("The call has ended."), code="call_ended")
    if call.answered_at is None:
        raise Conflict(_("The call is not answered yet."), code="not_answered")
    leg = agent_leg_of(call)
    if leg is None:
        raise Conflict(_("The switch has not told us your side of this call yet."), code="no_leg")
    with transaction.atomic():
        audit_record(
            actor=user,
            action=AuditAction.UPDATE,
            obj=call,
            before={"on_hold": call.held_at is not None},
            after={"on_hold": hold},
            note="hold" if hold else "unhold",
        )
        switch_api(f"uuid_hold {leg}" if hold else f"uuid_hold off {leg}")
    return call


# --- the pop -----------------------------------------------------------------------------


def call_link_customer(*, actor, call: Call, customer) -> Call:
    """Attach ``customer`` to ``call`` (a new customer created from the pop); audited."""
    with transaction.atomic():
        call = Call.objects.select_for_update(of=("self",)).get(pk=call.pk)
        before = snapshot(call, fields=["customer"])
        call.customer = customer
        call.save(update_fields=["customer"])
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=call,
            before=before,
            after=snapshot(call, fields=["customer"]),
            note="customer created from the pop",
        )
    return call


def pop_call(pk: int) -> Call:
    """The call of a pop with what the card needs in one query (DoesNotExist)."""
    return Call.objects.select_related(
        "hotline__station",
        "hotline__product",
        "customer__source_station",
        "seat",
        "agent",
        "station",
    ).get(pk=pk)


def pop_call_by_uuid(uuid: str) -> Call | None:
    """:func:`pop_call` by the call's uuid, or None."""
    return (
        Call.objects.select_related(
            "hotline__station",
            "hotline__product",
            "customer__source_station",
            "seat",
            "agent",
            "station",
        )
        .filter(uuid=uuid)
        .first()
    )


POP_ORDERS = 5


def customer_recent_orders(customer, *, limit: int = POP_ORDERS) -> list:
    """The customer's last ``limit`` orders for the pop's card (number, date, total,
    status), newest first; merged-away orders left out. One query. ``orders`` is imported
    here, lazily: telephony may read orders (architecture), never the reverse."""
    from orders.models import Order

    return list(
        Order.objects.filter(customer=customer, merged_into=None)
        .only("pk", "number", "created_at", "total", "status", "customer_id")
        .order_by("-created_at", "-id")[:limit]
    )


def may_see_call(user, call: Call) -> bool:
    """The call's agent, or a supervisor (``telephony.view_wallboard``)."""
    return call.agent_id == user.pk or user.has_perm("telephony.view_wallboard")


def transfer_targets(*, exclude_seat_id: int | None):
    """Seats somebody is logged into (not the current one) and the hotlines' queues."""
    from tvshop.media.models import Hotline

    taken = SeatSession.objects.filter(ended_at=None).values("seat_id")
    seats = Seat.objects.filter(active=True, pk__in=taken).order_by("extension")
    if exclude_seat_id is not None:
        seats = seats.exclude(pk=exclude_seat_id)
    queues = list(
        Hotline.objects.filter(active=True)
        .exclude(queue_name="")
        .order_by("queue_name")
        .values_list("queue_name", flat=True)
        .distinct()
    )
    return seats, queues
