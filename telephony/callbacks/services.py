"""Callback writes: capture, priority, dial and its result, outcomes, claims, reassignment,
the dispatcher's switches (pause, mode) and the surge flag.

Every status change goes through :func:`_transition` (the table :data:`TRANSITIONS`), in one
transaction with the row locked and an audit entry; pushes to browsers go out after commit.

Interface for the telephony core (bridge, overflow switch):

* :func:`callback_capture` — the overflow branch captured a caller (or the caller reached
  the queue's max wait). Idempotent per ``call_uuid``; concurrency-safe per number.
* :func:`callback_dial_result` — what a callback's dial came to (``connected``,
  ``no_answer``, ``busy``, ``failed``, ``agent_failed``), with the switch's cause.
* :func:`callback_call_finished` — "this outbound call record just closed": maps the call's
  outcome and cause to a dial result for the callback it belongs to (if any). The
  dispatcher runs the same mapping on every tick, so nothing waits on the hook.
* :func:`surge_set` / :func:`telephony.callbacks.surge_active` — the "overflow active" flag.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.choices import CustomerLevel
from telephony.callbacks.choices import (
    DUE_STATUSES,
    IN_FLIGHT_STATUSES,
    OPEN_STATUSES,
    CallbackOutcome,
    CallbackStatus,
    CaptureReason,
    DialResult,
    DispatchMode,
)
from telephony.callbacks.models import (
    CallbackAttempt,
    CallbackCapture,
    CallbackControl,
    CallbackRequest,
)
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError, Forbidden, NotFound

logger = logging.getLogger("telephony.callbacks")

WORK_PERM = "callbacks.work_callbackrequest"
MANAGE_PERM = "callbacks.manage_callbackrequest"
EXPORT_PERM = "callbacks.export_callbackrequest"
VIEW_PERM = "callbacks.view_callbackrequest"

REQUEST_FIELDS = [
    "status",
    "attempts",
    "next_attempt_at",
    "assigned_agent",
    "outcome",
    "order",
    "call_again_at",
    "closed_at",
    "priority",
    "call_count",
]
CONTROL_FIELDS = ["dispatcher_paused", "paused_by", "paused_at", "mode", "surge_active"]

DEFAULTS = {
    # dispatcher
    "MIN_IDLE_AGENTS": 1,  # dispatch only when at least this many agents are idle
    "INTERVAL_SECONDS": 10,  # the beat schedule and the embedded loop
    "OFFER_TIMEOUT_SECONDS": 120,  # an offer nobody dialled goes back to the pool
    "DIAL_STALE_SECONDS": 600,  # a dial with no call record after this is given up
    "CALL_STALE_SECONDS": 3 * 3600,  # a dial whose call record never closed is given up
    "BATCH": 50,  # at most this many hand-outs per run
    # retries (号码回收)
    "MAX_ATTEMPTS": 3,  # unanswered/busy dials before the request expires
    "RETRY_BASE_SECONDS": 300,  # backoff: base · 2^(attempts-1), capped
    "RETRY_MAX_SECONDS": 4 * 3600,
    # priority (see callback_priority)
    "PRIORITY_VIP": 1000,
    "PRIORITY_REPEAT": 100,
    "PRIORITY_REPEAT_MAX_CALLS": 5,
    "PRIORITY_RECENCY_MAX": 300,
    "PRIORITY_RECENCY_WINDOW_MINUTES": 60,
    "AIRING_LOOKBACK_MINUTES": 120,  # a capture belongs to an airing that started this recently
    "PUSH_OFFERS": "auto",  # see desktop_accepts
}


def conf(name: str):
    """A setting of ``settings.CALLBACKS`` (a dict), else the default above."""
    return (getattr(settings, "CALLBACKS", None) or {}).get(name, DEFAULTS[name])


# --- the control row: pause, mode, surge -------------------------------------------------------


def control_get(*, lock: bool = False) -> CallbackControl:
    """The dispatcher's control row (created on first use)."""
    queryset = CallbackControl.objects.all()
    if lock:
        queryset = queryset.select_for_update()
    control = queryset.filter(pk=1).first()
    if control is None:
        try:
            with transaction.atomic():
                control = CallbackControl.objects.create(pk=1)
        except IntegrityError:
            control = queryset.get(pk=1)
    return control


def surge_set(*, active: bool, reason: str = "", actor=None) -> bool:
    """Set the "overflow active" flag (the overflow switch calls this when it turns the
    overflow branch on or off); returns whether it changed. Audited when it changes."""
    with transaction.atomic():
        control = control_get(lock=True)
        if control.surge_active == bool(active):
            return False
        before = snapshot(control, fields=CONTROL_FIELDS)
        control.surge_active = bool(active)
        control.surge_changed_at = timezone.now()
        control.surge_reason = (reason or "")[:200]
        control.save(update_fields=["surge_active", "surge_changed_at", "surge_reason"])
        audit_record(
            actor=actor,
            action=AuditAction.STATUS,
            obj=control,
            before=before,
            after=snapshot(control, fields=CONTROL_FIELDS),
            note=f"surge {'on' if active else 'off'} {reason}"[:500],
        )
    return True


def _control_change(*, actor, note: str, **values) -> CallbackControl:
    if not actor.has_perm(MANAGE_PERM):
        raise Forbidden(_("You may not control the callback dispatcher."))
    with transaction.atomic():
        control = control_get(lock=True)
        before = snapshot(control, fields=CONTROL_FIELDS)
        for name, value in values.items():
            setattr(control, name, value)
        control.save(update_fields=list(values))
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=control,
            before=before,
            after=snapshot(control, fields=CONTROL_FIELDS),
            note=note[:500],
        )
    return control


def dispatcher_pause(*, actor, reason: str = "") -> CallbackControl:
    """Stop handing out callbacks (agents may still claim them by hand). Audited."""
    return _control_change(
        actor=actor,
        note=f"dispatcher paused {reason}".strip(),
        dispatcher_paused=True,
        paused_by=actor,
        paused_at=timezone.now(),
    )


def dispatcher_resume(*, actor) -> CallbackControl:
    return _control_change(
        actor=actor, note="dispatcher resumed", dispatcher_paused=False, paused_by=None
    )


def dispatcher_set_mode(*, actor, mode: str) -> CallbackControl:
    if mode not in DispatchMode.values:
        message = _("Choose preview or automatic.")
        raise DomainError(message, fields={"mode": [message]})
    return _control_change(actor=actor, note=f"mode {mode}", mode=mode)


# --- capture ---------------------------------------------------------------------------------


def callback_number(raw: str) -> str:
    """The number in canonical (E.164) form; odd caller ids are kept as their digits."""
    from crm.phones import InvalidPhone, phone_canonical

    text = (raw or "").strip()
    try:
        return phone_canonical(text)
    except InvalidPhone:
        digits = re.sub(r"\D", "", text)[:20]
        if not digits:
            message = _("The call has no caller number to call back.")
            raise DomainError(message, fields={"number": [message]}) from None
        return digits


def callback_priority(*, vip: bool, call_count: int, minutes_after_airing: float | None) -> int:
    """The dispatcher's order, highest first (ties: the oldest first call first)::

        priority = VIP · [customer is VIP]
                 + REPEAT · (min(calls, REPEAT_MAX_CALLS) − 1)
                 + RECENCY_MAX · max(0, 1 − minutes_after_airing / RECENCY_WINDOW)

    With the defaults: a VIP (1000) comes before anyone else; each further call of the
    same number adds 100 (up to 4 more calls, 400); a caller captured right when the ad
    aired gets 300, falling linearly to 0 an hour after the airing started (callers soon
    after the airing buy more); no airing known: 0.
    """
    score = conf("PRIORITY_VIP") if vip else 0
    calls = max(1, min(call_count, conf("PRIORITY_REPEAT_MAX_CALLS")))
    score += conf("PRIORITY_REPEAT") * (calls - 1)
    if minutes_after_airing is not None:
        window = float(conf("PRIORITY_RECENCY_WINDOW_MINUTES"))
        share = max(0.0, 1.0 - max(0.0, minutes_after_airing) / window)
        score += round(conf("PRIORITY_RECENCY_MAX") * share)
    return int(score)


def _request_priority(request: CallbackRequest) -> int:
    from crm.choices import CustomerLevel

    vip = request.customer is not None and request.customer.level == CustomerLevel.VIP
    minutes = None
    if request.airing_slot is not None:
        minutes = (request.first_call_at - request.airing_slot.start).total_seconds() / 60
    return callback_priority(vip=vip, call_count=request.call_count, minutes_after_airing=minutes)


def _airing_slot(*, hotline_id, station_id, at: dt.datetime):
    from tvshop.media.models import AiringSlot

    if hotline_id is None and station_id is None:
        return None
    since = at - dt.timedelta(minutes=conf("AIRING_LOOKBACK_MINUTES"))
    slots = AiringSlot.objects.filter(start__lte=at, start__gte=since)
    slots = (
        slots.filter(hotline_id=hotline_id) if hotline_id else slots.filter(station_id=station_id)
    )
    return slots.order_by("-start").first()


def callback_capture(
    *,
    number: str,
    call_uuid: str,
    hotline_id: int | None,
    station_id: int | None,
    captured_at: dt.datetime,
    reason: str,
) -> CallbackRequest:
    """Record that the switch captured ``number`` for a callback (call ``call_uuid``).

    * One open request per number: a repeat call raises ``call_count`` and
      ``last_call_at`` and keeps the first call's time; its priority is recomputed.
    * Idempotent per ``call_uuid``: the same capture again returns the request unchanged.
    * Concurrency-safe: two captures of the same number at once give one open request with
      count 2 (the partial unique index decides; the loser retries and finds the winner).
    * A station missing is taken from the hotline; the customer from the number; the
      airing slot is the latest airing of the hotline (or station) that started within
      ``AIRING_LOOKBACK_MINUTES`` before the capture.
    """
    from crm.selectors.customers import customer_find_by_phone
    from tvshop.media.models import Hotline

    if not call_uuid:
        raise DomainError(_("A capture needs the call's id."), fields={"call_uuid": ["?"]})
    canonical = callback_number(number)
    if reason not in CaptureReason.values:
        reason = CaptureReason.OTHER
    if timezone.is_naive(captured_at):
        captured_at = timezone.make_aware(captured_at)
    if hotline_id is not None and station_id is None:
        station_id = (
            Hotline.objects.filter(pk=hotline_id).values_list("station_id", flat=True).first()
        )

    for _attempt in range(5):
        try:
            with transaction.atomic():
                known = (
                    CallbackCapture.objects.select_related("request")
                    .filter(call_uuid=call_uuid)
                    .first()
                )
                if known is not None:
                    return known.request
                request = (
                    CallbackRequest.objects.select_for_update(of=("self",))
                    .select_related("customer", "airing_slot")
                    .filter(number=canonical, status__in=OPEN_STATUSES)
                    .first()
                )
                if request is None:
                    request = _open_request(
                        number=canonical,
                        hotline_id=hotline_id,
                        station_id=station_id,
                        at=captured_at,
                        reason=reason,
                        customer=customer_find_by_phone(canonical),
                    )
                    audit_record(
                        actor=None,
                        action=AuditAction.CREATE,
                        obj=request,
                        after=snapshot(request, fields=REQUEST_FIELDS),
                        note=f"captured {reason} {call_uuid}"[:500],
                    )
                else:
                    before = snapshot(request, fields=REQUEST_FIELDS)
                    request.call_count += 1
                    request.last_call_at = max(request.last_call_at, captured_at)
                    request.first_call_at = min(request.first_call_at, captured_at)
                    if request.hotline_id is None and hotline_id is not None:
                        request.hotline_id = hotline_id
                    if request.station_id is None and station_id is not None:
                        request.station_id = station_id
                    request.priority = _request_priority(request)
                    request.save(
                        update_fields=[
                            "call_count",
                            "last_call_at",
                            "first_call_at",
                            "hotline",
                            "station",
                            "priority",
                            "updated_at",
                        ]
                    )
                    audit_record(
                        actor=None,
                        action=AuditAction.UPDATE,
                        obj=request,
                        before=before,
                        after=snapshot(request, fields=REQUEST_FIELDS),
                        note=f"repeat call {reason} {call_uuid}"[:500],
                    )
                CallbackCapture.objects.create(
                    request=request,
                    call_uuid=call_uuid,
                    captured_at=captured_at,
                    reason=reason,
                    hotline_id=hotline_id,
                )
                return request
        except IntegrityError:
            # Another capture of this number (or of this call) committed first: retry,
            # which now finds its request (or its capture).
            continue
    raise Conflict(_("The capture kept colliding with others; try again."), code="race")


def _open_request(*, number, hotline_id, station_id, at, reason, customer) -> CallbackRequest:
    slot = _airing_slot(hotline_id=hotline_id, station_id=station_id, at=at)
    request = CallbackRequest(
        number=number,
        customer=customer,
        hotline_id=hotline_id,
        station_id=station_id or (slot.station_id if slot else None),
        airing_slot=slot,
        reason=reason,
        first_call_at=at,
        last_call_at=at,
        call_count=1,
        status=CallbackStatus.PENDING,
        next_attempt_at=at,
    )
    request.priority = _request_priority(request)
    with transaction.atomic():  # savepoint: a lost race raises IntegrityError here
        request.save()
    return request


# --- the one transition function ---------------------------------------------------------------

S = CallbackStatus
#: allowed next statuses
TRANSITIONS: dict[str, set[str]] = {
    S.PENDING: {S.OFFERED, S.DIALLING, S.DONE, S.EXPIRED},
    S.OFFERED: {S.PENDING, S.OFFERED, S.DIALLING, S.DONE, S.EXPIRED},
    S.DIALLING: {S.CONNECTED, S.NO_ANSWER, S.BUSY, S.PENDING, S.EXPIRED, S.DONE},
    S.CONNECTED: {S.DONE, S.PENDING, S.NO_ANSWER, S.EXPIRED},
    S.NO_ANSWER: {S.OFFERED, S.DIALLING, S.PENDING, S.DONE, S.EXPIRED},
    S.BUSY: {S.OFFERED, S.DIALLING, S.PENDING, S.DONE, S.EXPIRED},
    S.DONE: set(),
    S.EXPIRED: set(),
}


def _transition(
    request: CallbackRequest, to: str, *, actor, why: str = "", action=AuditAction.STATUS, **values
) -> CallbackRequest:
    """Change the (locked) request's status to ``to`` with ``values``; audited."""
    if to not in TRANSITIONS[request.status]:
        raise Conflict(
            _("This callback is %(status)s; that is not possible now.")
            % {"status": request.get_status_display()},
            code="illegal_transition",
        )
    before = snapshot(request, fields=REQUEST_FIELDS)
    request.status = to
    if to in (S.DONE, S.EXPIRED):
        request.closed_at = timezone.now()
        values.setdefault("assigned_agent", request.assigned_agent if to == S.DONE else None)
    for name, value in values.items():
        setattr(request, name, value)
    fields = {"status", "closed_at", "updated_at", *values}
    try:
        with transaction.atomic():
            request.save(update_fields=sorted(fields))
    except IntegrityError as exc:
        raise Conflict(
            _("That agent already has a callback in hand."), code="agent_has_callback"
        ) from exc
    audit_record(
        actor=actor,
        action=action,
        obj=request,
        before=before,
        after=snapshot(request, fields=REQUEST_FIELDS),
        note=why[:500],
    )
    return request


def _locked(callback_id: int, *, skip_locked: bool = False) -> CallbackRequest | None:
    queryset = CallbackRequest.objects.select_for_update(
        of=("self",), skip_locked=skip_locked
    ).select_related("customer", "hotline", "station", "airing_slot", "assigned_agent")
    return queryset.filter(pk=callback_id).first()


# --- pushes ----------------------------------------------------------------------------------


def offer_payload(request: CallbackRequest, *, user) -> dict:
    """``callback.offered``: what the agent's desktop shows (number masked for ``user``)."""
    from django.urls import reverse

    from crm.masking import phone_for_user

    customer = request.customer
    slot = request.airing_slot
    return {
        "type": "callback.offered",
        "callback": {
            "id": request.pk,
            "number": phone_for_user(request.number, user),
            "customer": (
                {"id": customer.pk, "name": customer.name, "level": customer.level}
                if customer is not None
                else None
            ),
            "hotline": request.hotline.number if request.hotline_id else "",
            "station": request.station.name if request.station_id else "",
            "airing": (
                {"id": slot.pk, "start": slot.start.isoformat()} if slot is not None else None
            ),
            "reason": request.reason,
            "call_count": request.call_count,
            "first_call_at": request.first_call_at.isoformat(),
            "attempts": request.attempts,
            "priority": request.priority,
            "mode": control_get().mode,
            "dial_url": reverse("callbacks:dial", args=[request.pk]),
            "page_url": reverse("callbacks:mine"),
        },
    }


def desktop_accepts(message_type: str) -> bool:
    """Whether to push ``message_type`` to the agent's desktop group.

    ``CALLBACKS["PUSH_OFFERS"]``: ``"auto"`` (default) pushes only when the desktop's
    consumer has a handler for the type — Channels closes a socket that receives a type it
    cannot handle, so an offer must never reach a desktop that does not know it; ``True``
    / ``False`` force it (``True`` for a desktop consumer of one's own)."""
    from telephony.consumers import DesktopConsumer

    mode = conf("PUSH_OFFERS")
    if mode != "auto":
        return bool(mode)
    return hasattr(DesktopConsumer, message_type.replace(".", "_"))


def _push_offer(request: CallbackRequest, user) -> None:
    from channels.layers import get_channel_layer

    from telephony.groups import agent_group

    payload = offer_payload(request, user=user)

    def send() -> None:
        if not desktop_accepts(payload["type"]):
            logger.info(
                "desktop has no %s handler yet; offer %s not pushed", payload["type"], request.pk
            )
            return
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(agent_group(user.pk), payload)
        except Exception:  # a notification only: the agent's page lists the callback
            logger.warning("callback.offered push to user %s failed", user.pk, exc_info=True)

    transaction.on_commit(send)


# --- agents: claim, release, dial, outcome -----------------------------------------------------


def _may_work(actor) -> None:
    if not (actor.is_authenticated and actor.has_perm(WORK_PERM)):
        raise Forbidden(_("You may not work on callbacks."))


def callback_offer(
    *, request: CallbackRequest, agent, actor=None, note: str = ""
) -> CallbackRequest:
    """Give the (locked) request to ``agent`` (inside the caller's transaction) and push the
    pop after commit. Raises Conflict when the agent already holds a callback."""
    _transition(
        request,
        S.OFFERED,
        actor=actor,
        action=AuditAction.ASSIGN,
        why=note or "offered",
        assigned_agent=agent,
        offered_at=timezone.now(),
    )
    _push_offer(request, agent)
    return request


def callback_claim(*, actor, callback_id: int) -> CallbackRequest:
    """The agent takes a due callback from the list. Two agents claiming the same one: one
    gets it, the other a Conflict (the row is locked with SKIP LOCKED)."""
    _may_work(actor)
    with transaction.atomic():
        request = _locked(callback_id, skip_locked=True)
        if request is None:
            if CallbackRequest.objects.filter(pk=callback_id).exists():
                raise Conflict(_("Someone else is taking this callback."), code="taken")
            raise NotFound(_("That callback does not exist."))
        if request.status not in DUE_STATUSES:
            raise Conflict(_("This callback is no longer waiting."), code="taken")
        return callback_offer(request=request, agent=actor, actor=actor, note="claimed")


def callback_release(*, actor, callback_id: int) -> CallbackRequest:
    """The agent gives back an offered callback (it returns to the pool, due now)."""
    _may_work(actor)
    with transaction.atomic():
        request = _locked(callback_id)
        if request is None:
            raise NotFound(_("That callback does not exist."))
        if request.assigned_agent_id != actor.pk or request.status != S.OFFERED:
            raise Conflict(_("This callback is not offered to you."), code="not_yours")
        return _transition(request, S.PENDING, actor=actor, why="released", assigned_agent=None)


def _dial_start(*, actor, callback_id: int, mode: str) -> tuple[CallbackRequest, CallbackAttempt]:
    """Lock the callback, check it may be dialled by ``actor``, mark it dialling and open
    an attempt (one transaction). A blacklisted customer's callback expires instead."""
    with transaction.atomic():
        request = _locked(callback_id)
        if request is None:
            raise NotFound(_("That callback does not exist."))
        mine = request.assigned_agent_id == actor.pk
        if request.status == S.OFFERED and not mine:
            raise Conflict(_("This callback is offered to someone else."), code="not_yours")
        if request.status not in (S.OFFERED, *DUE_STATUSES):
            raise Conflict(_("This callback cannot be dialled now."), code="not_dialable")
        blacklisted = (
            request.customer is not None and request.customer.level == CustomerLevel.BLACKLISTED
        )
        if blacklisted:
            _transition(request, S.EXPIRED, actor=actor, why="blacklisted", assigned_agent=None)
        else:
            _transition(
                request, S.DIALLING, actor=actor, why=f"dial ({mode})", assigned_agent=actor
            )
            attempt = CallbackAttempt.objects.create(
                request=request, agent=actor, mode=mode, started_at=timezone.now()
            )
    if blacklisted:  # committed: the request stays expired
        raise DomainError(_("This customer is blacklisted; the number is not dialled."))
    return request, attempt


def callback_dial(*, actor, callback_id: int, mode: str = DispatchMode.PREVIEW) -> CallbackRequest:
    """Dial the callback from the agent's seat through click-to-dial (the agent's phone
    rings, then the customer's). The result arrives later (:func:`callback_dial_result`);
    a failure on the agent's side (no seat, already on a call, switch down) gives the
    callback back to the pool without counting an attempt, and raises the error."""
    from telephony.callbacks.selectors import dial_result_of_call
    from telephony.services.dial import dial_customer

    _may_work(actor)
    if not actor.has_perm("telephony.click_to_dial"):
        raise Forbidden(_("You may not dial customers."))
    request, attempt = _dial_start(actor=actor, callback_id=callback_id, mode=mode)
    try:
        call = dial_customer(
            user=actor, number_or_phone_id=request.number, customer=request.customer
        )
    except DomainError as exc:
        from crm.phones import InvalidPhone

        result = DialResult.FAILED if isinstance(exc, InvalidPhone) else DialResult.AGENT_FAILED
        callback_dial_result(
            callback_id=request.pk, result=result, cause=exc.code, attempt_id=attempt.pk
        )
        raise
    CallbackAttempt.objects.filter(pk=attempt.pk).update(call=call)
    if call.outcome != "in_progress":
        result, cause = dial_result_of_call(call)
        callback_dial_result(
            callback_id=request.pk, result=result, cause=cause, attempt_id=attempt.pk
        )
    request.refresh_from_db()
    return request


def retry_delay(attempts: int) -> dt.timedelta:
    """Backoff before the next dial after ``attempts`` unanswered/busy dials:
    ``RETRY_BASE_SECONDS · 2^(attempts−1)``, at most ``RETRY_MAX_SECONDS``."""
    seconds = conf("RETRY_BASE_SECONDS") * (2 ** max(0, attempts - 1))
    return dt.timedelta(seconds=min(seconds, conf("RETRY_MAX_SECONDS")))


def callback_dial_result(
    *, callback_id: int, result: str, cause: str = "", attempt_id: int | None = None
) -> CallbackRequest | None:
    """Record what a dial of the callback came to. Idempotent: with no dial in progress
    (already recorded) nothing changes.

    * ``connected`` → connected (the agent records the outcome); counts an attempt.
    * ``no_answer`` / ``busy`` / ``failed`` → counts an attempt; below ``MAX_ATTEMPTS`` the
      request waits ``retry_delay(attempts)`` as "no answer"/"busy", else it expires.
    * ``agent_failed`` (the agent's phone did not answer, no seat, switch down) → back to
      the pool, due now, no attempt counted.
    """
    if result not in DialResult.values:
        raise DomainError(_("Unknown dial result."), fields={"result": [result]})
    with transaction.atomic():
        request = _locked(callback_id)
        if request is None:
            return None
        attempts = CallbackAttempt.objects.select_for_update().filter(
            request=request, ended_at=None
        )
        if attempt_id is not None:
            attempts = attempts.filter(pk=attempt_id)
        attempt = attempts.first()
        if attempt is None:
            return request
        now = timezone.now()
        attempt.ended_at, attempt.result, attempt.cause = now, result, (cause or "")[:60]
        attempt.save(update_fields=["ended_at", "result", "cause"])
        if request.status != S.DIALLING:
            return request  # the outcome was recorded meanwhile; only the attempt closes
        note = f"dial result {result} {cause}".strip()
        if result == DialResult.CONNECTED:
            return _transition(
                request, S.CONNECTED, actor=None, why=note, attempts=request.attempts + 1
            )
        if result == DialResult.AGENT_FAILED:
            return _transition(
                request, S.PENDING, actor=None, why=note, assigned_agent=None, next_attempt_at=now
            )
        count = request.attempts + 1
        if count >= conf("MAX_ATTEMPTS"):
            return _transition(request, S.EXPIRED, actor=None, why=note, attempts=count)
        to = S.BUSY if result == DialResult.BUSY else S.NO_ANSWER
        return _transition(
            request,
            to,
            actor=None,
            why=note,
            attempts=count,
            assigned_agent=None,
            next_attempt_at=now + retry_delay(count),
        )


def callback_call_finished(*, call_id: int) -> CallbackRequest | None:
    """The outbound call ``call_id`` closed: if it was a callback's dial, record its result
    (mapped from the call's outcome and cause). Cheap when the call is no callback's."""
    from telephony.callbacks.selectors import dial_result_of_call
    from telephony.choices import CallOutcome
    from telephony.models import Call

    attempt = (
        CallbackAttempt.objects.filter(call_id=call_id, ended_at=None)
        .values("pk", "request_id")
        .first()
    )
    if attempt is None:
        return None
    call = Call.objects.filter(pk=call_id).first()
    if call is None or call.outcome == CallOutcome.IN_PROGRESS:
        return None
    result, cause = dial_result_of_call(call)
    return callback_dial_result(
        callback_id=attempt["request_id"], result=result, cause=cause, attempt_id=attempt["pk"]
    )


def _order_of(order):
    from orders.models import Order

    if order is None or isinstance(order, Order):
        return order
    text = str(order).strip()
    found = Order.objects.filter(number=text).first()
    if found is None and text.isdigit():
        found = Order.objects.filter(pk=int(text)).first()
    if found is None:
        message = _("No order “%(order)s”.") % {"order": text}
        raise DomainError(message, fields={"order": [message]})
    return found


def callback_record_outcome(
    *,
    actor,
    callback_id: int,
    outcome: str,
    order=None,
    call_again_at: dt.datetime | None = None,
    note: str = "",
) -> CallbackRequest:
    """The agent (holding the callback) or a supervisor records how it went:

    * ``ordered`` — links the order (an Order, its number or id) → done;
    * ``not_interested`` / ``wrong_number`` → done;
    * ``call_again`` at ``call_again_at`` (in the future) → waits until then.
    """
    if not actor.is_authenticated or not (actor.has_perm(WORK_PERM) or actor.has_perm(MANAGE_PERM)):
        raise Forbidden(_("You may not work on callbacks."))
    if outcome not in CallbackOutcome.values or not outcome:
        message = _("Choose an outcome.")
        raise DomainError(message, fields={"outcome": [message]})
    order = _order_of(order) if outcome == CallbackOutcome.ORDERED else None
    if outcome == CallbackOutcome.ORDERED and order is None:
        message = _("Enter the order number.")
        raise DomainError(message, fields={"order": [message]})
    if outcome == CallbackOutcome.CALL_AGAIN and (
        call_again_at is None or call_again_at <= timezone.now()
    ):
        message = _("Choose a time in the future.")
        raise DomainError(message, fields={"call_again_at": [message]})
    with transaction.atomic():
        request = _locked(callback_id)
        if request is None:
            raise NotFound(_("That callback does not exist."))
        if request.assigned_agent_id != actor.pk and not actor.has_perm(MANAGE_PERM):
            raise Forbidden(_("This callback is someone else's."))
        if not request.is_open:
            raise Conflict(_("This callback is already closed."), code="closed")
        values = {"outcome": outcome, "note": (note or request.note)[:500]}
        if outcome == CallbackOutcome.CALL_AGAIN:
            return _transition(
                request,
                S.PENDING,
                actor=actor,
                why=f"outcome {outcome}",
                call_again_at=call_again_at,
                next_attempt_at=call_again_at,
                assigned_agent=None,
                **values,
            )
        if order is not None:
            values["order"] = order
            if request.customer_id is None:
                values["customer"] = order.customer
        return _transition(request, S.DONE, actor=actor, why=f"outcome {outcome}", **values)


# --- supervisors ----------------------------------------------------------------------------


def callback_reassign(*, actor, callback_id: int, agent=None) -> CallbackRequest:
    """Give the callback to ``agent`` (offered to them, with the pop) or back to the pool
    (``agent=None``). Not while it is being dialled or on the call."""
    if not actor.has_perm(MANAGE_PERM):
        raise Forbidden(_("You may not reassign callbacks."))
    if agent is not None and not agent.has_perm(WORK_PERM):
        message = _("%(name)s does not work on callbacks.") % {"name": agent}
        raise DomainError(message, fields={"agent": [message]})
    with transaction.atomic():
        request = _locked(callback_id)
        if request is None:
            raise NotFound(_("That callback does not exist."))
        if request.status in (S.DIALLING, S.CONNECTED):
            raise Conflict(_("This callback is on a call now."), code="on_call")
        if not request.is_open:
            raise Conflict(_("This callback is already closed."), code="closed")
        if agent is None:
            return _transition(
                request,
                S.PENDING,
                actor=actor,
                action=AuditAction.ASSIGN,
                why="back to the pool",
                assigned_agent=None,
            )
        return callback_offer(request=request, agent=agent, actor=actor, note="reassigned")


# --- export ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


EXPORT_MAX_ROWS = 100_000


def callbacks_export(*, actor, callbacks, filters: str = "") -> ExportFile:
    """The callbacks as xlsx (openpyxl write-only), phones masked for ``actor``, cells made
    inert for spreadsheets (formula injection). Audited."""
    import io

    from openpyxl import Workbook

    from crm.services.leads import cell_safe
    from telephony.callbacks.selectors import callback_export_rows

    if not actor.has_perm(EXPORT_PERM):
        raise Forbidden(_("You may not export callbacks."))
    count = callbacks.count()
    if count > EXPORT_MAX_ROWS:
        raise DomainError(
            _("Too many rows (%(n)d); narrow the search (at most %(max)d).")
            % {"n": count, "max": EXPORT_MAX_ROWS}
        )
    header, rows = callback_export_rows(callbacks=callbacks, user=actor)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=str(_("Callbacks"))[:31])
    sheet.append(header)
    for row in rows:
        sheet.append([cell_safe(value) for value in row])
    out = io.BytesIO()
    book.save(out)
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            object_type=CallbackRequest,
            object_repr=_("%(n)d callbacks") % {"n": len(rows)},
            note=f"xlsx {filters}"[:500],
        )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return ExportFile(
        out.getvalue(),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"callbacks-{stamp}.xlsx",
    )


__all__ = [
    "IN_FLIGHT_STATUSES",
    "callback_call_finished",
    "callback_capture",
    "callback_claim",
    "callback_dial",
    "callback_dial_result",
    "callback_offer",
    "callback_reassign",
    "callback_record_outcome",
    "callback_release",
    "callbacks_export",
    "dispatcher_pause",
    "dispatcher_resume",
    "dispatcher_set_mode",
    "surge_set",
]
