"""Agent desktop pages: the desktop, seat log-in/out, status buttons, the screen pop,
transfer and click-to-dial. Every view checks its permission; writes go through services.

htmx posts get fragments back; a refusal (DomainError) comes back with its 4xx status and
the fragment showing the message (the fragments let htmx swap 4xx answers in).
"""

from __future__ import annotations

import time

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.masking import REVEAL_PHONE_PERM, can_see_full_phone, phone_for_user
from crm.selectors.contacts import OPEN_STATUSES
from crm.selectors.knowledge import script_for_call
from crm.services.customers import customer_create
from crm.services.knowledge import script_render
from telephony.choices import AgentStatus, NotReadyReason
from telephony.forms import NotReadyForm, PopCustomerForm, SeatLoginForm, TransferForm
from telephony.models import Call
from telephony.services import desktop as services
from telephony.services.dial import dial_customer
from tvshop.errors import DomainError

WS_PATH = "/ws/desktop/"
POP_TICKETS = 5


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


# --- the desktop ---------------------------------------------------------------------------


def _panel_context(request, *, error: str = "") -> dict:
    user = request.user
    session = services.session_of(user)
    seat = session.seat if session is not None else None
    deadline = services.acw_deadline(seat) if seat is not None else None
    return {
        "session": session,
        "seat": seat,
        "login_form": SeatLoginForm() if session is None else None,
        "not_ready_form": NotReadyForm(),
        "acw_deadline": deadline,
        "acw_seconds": services.acw_seconds(),
        "error": error,
        "is_ready": seat is not None and seat.status == AgentStatus.AVAILABLE,
        "in_acw": seat is not None and seat.reason == NotReadyReason.AFTER_CALL_WORK,
    }


def _panel(request, *, status: int = 200, error: str = ""):
    return render(
        request,
        "telephony/includes/status_panel.html",
        _panel_context(request, error=error),
        status=status,
    )


def _labels() -> dict:
    return {
        "connecting": _("Connecting…"),
        "connected": _("Live"),
        "disconnected": _("Connection lost, reconnecting…"),
        "refused": _("The live connection was refused. Reload the page or log in again."),
        "offered": _("Incoming call"),
        "answered": _("On the call"),
        "ended": _("Call ended"),
        "acw_left": _("After-call work: %(s)s s left"),
        "stage_ringing_agent": _("Ringing your phone…"),
        "stage_dialling_customer": _("Dialling the customer…"),
        "stage_connected": _("Connected"),
        "stage_ended": _("Call ended"),
        "stage_failed": _("Dial failed: %(cause)s"),
        "no_seat": _("No seat"),
        "no_call": _("No call"),
        "withdrawn": _("The call left you before it was answered."),
        "withdrawn_rona": _("Not answered in time: the call went to the next agent."),
        "withdrawn_not_answered": _("Not answered: the call went to the next agent."),
        "withdrawn_caller_hung_up": _("The caller hung up while your phone rang."),
        "withdrawn_transferred": _("The call was transferred away."),
        "callback_offered": _("Callback to make"),
        "callback_dial": _("Call back now"),
        "callback_dialling": _("Ringing your phone; the customer is dialled when you answer."),
        "callback_dial_failed": _("The callback could not be dialled (taken or not yours)."),
        "callback_calls": _("%(count)s call(s), first at %(at)s"),
        "callback_attempts": _("Attempts: %(n)s"),
        "callback_priority": _("Priority %(n)s"),
        "callback_unknown_customer": _("New caller"),
        "callback_open_list": _("My callbacks"),
        "callback_reason_overflow_switch": _("Center was saturated"),
        "callback_reason_max_wait": _("Waited too long in the queue"),
        "callback_reason_after_hours": _("Called after hours"),
        "callback_mode_auto": _("Auto dial"),
        "callback_mode_preview": _("Preview"),
    }


@login_required
@permission_required("telephony.use_desktop", raise_exception=True)
@require_GET
def desktop(request):
    """The page an agent keeps open all shift."""
    services.acw_expire_due(user=request.user)
    context = _panel_context(request)
    call = services.current_call(request.user)
    context.update(
        {
            "current_call": call,
            "config": {
                "ws_path": WS_PATH,
                "acw_seconds": services.acw_seconds(),
                "acw_auto": services.acw_auto(),
                "acw_end_url": reverse("telephony:agent_status"),
                "panel_url": reverse("telephony:desktop_panel"),
                "current_pop_url": (
                    reverse("telephony:call_pop", args=[call.pk]) if call is not None else ""
                ),
                "current_call_uuid": call.uuid if call is not None else "",
                "desktop_url": reverse("telephony:desktop"),
                "labels": _labels(),
            },
        }
    )
    return render(request, "telephony/desktop.html", context)


@login_required
@permission_required("telephony.use_desktop", raise_exception=True)
@require_GET
def desktop_panel(request):
    """The status panel alone (the page reloads it after a status change elsewhere)."""
    services.acw_expire_due(user=request.user)
    return _panel(request)


@login_required
@permission_required("telephony.use_desktop", raise_exception=True)
@require_POST
def seat_login(request):
    form = SeatLoginForm(request.POST)
    if not form.is_valid():
        return _panel(request, status=400, error=_("Choose a free seat."))
    try:
        services.seat_login(user=request.user, seat=form.cleaned_data["seat"])
    except DomainError as exc:
        return _respond_error(request, exc)
    return _panel_or_redirect(request)


@login_required
@permission_required("telephony.use_desktop", raise_exception=True)
@require_POST
def seat_logout(request):
    try:
        services.seat_logout(user=request.user)
    except DomainError as exc:
        return _respond_error(request, exc)
    return _panel_or_redirect(request)


ACTIONS = {"ready", "not_ready", "acw", "acw_end"}


@login_required
@permission_required("telephony.use_desktop", raise_exception=True)
@require_POST
def agent_status(request):
    """``action``: ready | not_ready (with ``reason``) | acw | acw_end."""
    action = request.POST.get("action", "")
    try:
        if action == "ready":
            services.agent_set_ready(user=request.user)
        elif action == "not_ready":
            form = NotReadyForm(request.POST)
            if not form.is_valid():
                raise DomainError(_("Choose why you are not ready."))
            services.agent_set_not_ready(user=request.user, reason=form.cleaned_data["reason"])
        elif action == "acw":
            services.agent_start_acw(user=request.user)
        elif action == "acw_end":
            services.agent_end_acw(user=request.user)
        else:
            raise DomainError(_("Unknown action."))
    except DomainError as exc:
        return _respond_error(request, exc)
    return _panel_or_redirect(request)


def _panel_or_redirect(request):
    if _is_htmx(request):
        return _panel(request)
    return redirect("telephony:desktop")


def _respond_error(request, exc: DomainError):
    if _is_htmx(request):
        return _panel(request, status=exc.status, error=exc.message)
    messages.error(request, exc.message)
    return redirect("telephony:desktop")


# --- the pop -------------------------------------------------------------------------------


def _optional_url(name: str, *args) -> str:
    try:
        return reverse(name, args=args)
    except NoReverseMatch:
        return ""


def _pop_context(request, call: Call, *, customer_form=None) -> dict:
    user = request.user
    customer = call.customer
    hotline = call.hotline
    product = hotline.product if hotline is not None else None
    number = call.caller if call.direction == "inbound" else (call.callee or call.caller)
    context = {
        "call": call,
        "caller_shown": phone_for_user(number, user) if number.startswith("+") else number,
        "hotline": hotline,
        "station": hotline.station if hotline is not None else call.station,
        "product": product,
        "customer": customer,
        "can_dial": user.has_perm("telephony.click_to_dial"),
        "can_transfer": user.has_perm("telephony.use_desktop") and call.outcome == "in_progress",
        "faq_url": _optional_url("crm:faq_quick_search") if user.has_perm("crm.view_faq") else "",
    }
    script = script_for_call(customer=customer, product=product)
    context["script"] = script
    context["script_html"] = (
        script_render(script=script, customer=customer, agent=user, product=product)
        if script is not None
        else ""
    )
    if context["can_transfer"]:
        seats, queues = services.transfer_targets(exclude_seat_id=call.seat_id)
        context["transfer_form"] = TransferForm(seats=seats, queues=queues)
    if customer is not None:
        full = can_see_full_phone(user)
        can_reveal = not full and user.has_perm(REVEAL_PHONE_PERM)
        context["phone_rows"] = [
            {"phone": p, "shown": phone_for_user(p.number, user), "can_reveal": can_reveal}
            for p in customer.phones.order_by("-is_primary", "id")
        ]
        context["address"] = (
            customer.addresses.select_related("province", "city", "district")
            .order_by("-is_default", "-id")
            .first()
        )
        context["open_tickets"] = list(
            customer.tickets.filter(status__in=OPEN_STATUSES).order_by("-created_at")[:POP_TICKETS]
        )
        context["records_url"] = (
            _optional_url("crm:customer_service_records", customer.pk)
            if user.has_perm("crm.view_servicerecord")
            else ""
        )
        # The last orders on the card; all of them from the orders app's fragment.
        can_see_orders = user.has_perm("orders.view_order")
        context["recent_orders"] = (
            services.customer_recent_orders(customer) if can_see_orders else None
        )
        context["orders_url"] = (
            _optional_url("orders:customer_orders", customer.pk) if can_see_orders else ""
        )
    elif user.has_perm("crm.add_customer"):
        context["customer_form"] = customer_form or PopCustomerForm()
    return context


def _load_call(request, pk: int) -> Call:
    try:
        call = services.pop_call(pk)
    except Call.DoesNotExist as exc:
        raise Http404 from exc
    if not services.may_see_call(request.user, call):
        raise PermissionDenied
    return call


@login_required
@require_GET
def call_pop(request, pk: int):
    """The screen pop of one call (htmx fragment): its agent or a supervisor only."""
    call = _load_call(request, pk)
    return render(request, "telephony/includes/pop.html", _pop_context(request, call))


#: How long the pop page waits for a call's record when the bridge pushed the pop before
#: writing it (it writes within milliseconds; seconds only under a burst).
POP_WAIT_SECONDS = 3.0
POP_WAIT_STEP = 0.05


@login_required
@require_GET
def call_pop_uuid(request, uuid: str):
    """The screen pop by the call's uuid (the URL in ``call.offered``). The bridge pushes the
    pop straight from the switch's event and writes the call's record behind it, so the
    record (with this agent on it) may be a few milliseconds behind: wait for it briefly."""
    deadline = time.monotonic() + POP_WAIT_SECONDS
    while True:
        call = services.pop_call_by_uuid(uuid)
        if call is not None and services.may_see_call(request.user, call):
            break
        if time.monotonic() >= deadline:
            if call is None:
                raise Http404
            raise PermissionDenied
        time.sleep(POP_WAIT_STEP)
    return render(request, "telephony/includes/pop.html", _pop_context(request, call))


@login_required
@permission_required("crm.add_customer", raise_exception=True)
@require_POST
def pop_customer_create(request, pk: int):
    """A new customer for an unknown caller, with the caller's number; then the card."""
    call = _load_call(request, pk)
    if call.customer_id is not None:
        return render(request, "telephony/includes/pop.html", _pop_context(request, call))
    form = PopCustomerForm(request.POST)
    status = 400
    if form.is_valid():
        data = form.cleaned_data
        number = call.caller if call.direction == "inbound" else call.callee
        try:
            with transaction.atomic():
                customer = customer_create(
                    actor=request.user,
                    name=data["name"],
                    phones=[number, *form.phone_list()],
                    salutation=data["salutation"],
                    source_station=call.hotline.station if call.hotline else call.station,
                    notes=data["notes"],
                )
                services.call_link_customer(actor=request.user, call=call, customer=customer)
        except DomainError as exc:
            exc.add_to_form(form)
            status = exc.status
        else:
            call = services.pop_call(pk)
            return render(request, "telephony/includes/pop.html", _pop_context(request, call))
    context = _pop_context(request, call, customer_form=form)
    return render(request, "telephony/includes/pop.html", context, status=status)


@login_required
@permission_required("telephony.use_desktop", raise_exception=True)
@require_POST
def call_transfer(request, pk: int):
    call = _load_call(request, pk)
    seats, queues = services.transfer_targets(exclude_seat_id=call.seat_id)
    form = TransferForm(request.POST, seats=seats, queues=queues)
    if not form.is_valid():
        errors = [str(e) for e in form.non_field_errors()] or [
            str(e) for errs in form.errors.values() for e in errs
        ]
        return _message(" ".join(errors), status=400)
    data = form.cleaned_data
    try:
        services.call_transfer(
            user=request.user,
            call=call,
            seat=data.get("seat"),
            queue=data.get("queue") or "",
        )
    except DomainError as exc:
        return _message(exc.message, status=exc.status)
    target = data["seat"].extension if data.get("seat") else data["queue"]
    return _message(_("Transferred to %(target)s.") % {"target": target})


# --- call records ------------------------------------------------------------------------


@login_required
@require_GET
def call_detail(request, pk: int):
    """One call's record — times, wait, talk, hold, outcome, what happened in order — and
    its recording (played and downloaded for those who may listen; audited). Its agent or
    a supervisor only."""
    call = get_object_or_404(
        Call.objects.select_related("hotline", "station", "seat", "agent", "customer"), pk=pk
    )
    if not services.may_see_call(request.user, call):
        raise PermissionDenied
    events = list(call.events.order_by("at", "id").values("kind", "at")[:CALL_EVENTS_SHOWN])
    number = call.caller if call.direction == "inbound" else (call.callee or call.caller)
    context = {
        "call": call,
        "events": events,
        "number_shown": phone_for_user(number, request.user) if number.startswith("+") else number,
    }
    return render(request, "telephony/call_detail.html", context)


@login_required
@permission_required("crm.view_customer", raise_exception=True)
@require_GET
def customer_calls(request, pk: int):
    """The customer's latest calls with their recordings (an htmx fragment for the customer
    page: ``hx-get`` it into a card). Players only for users who may listen."""
    from crm.models import Customer

    customer = get_object_or_404(Customer, pk=pk)
    calls = list(
        Call.objects.filter(customer=customer)
        .select_related("agent", "station")
        .order_by("-created_at", "-id")[:CUSTOMER_CALLS_SHOWN]
    )
    user = request.user
    for call in calls:
        number = call.caller if call.direction == "inbound" else (call.callee or call.caller)
        call.number_shown = phone_for_user(number, user) if number.startswith("+") else number
        call.may_open = services.may_see_call(user, call)
    return render(
        request, "telephony/includes/customer_calls.html", {"customer": customer, "calls": calls}
    )


CALL_EVENTS_SHOWN = 200
CUSTOMER_CALLS_SHOWN = 20


@login_required
@permission_required("telephony.use_desktop", raise_exception=True)
@require_POST
def call_hold(request):
    """Hold / take back the caller of the agent's current call (the call box's buttons)."""
    hold = request.POST.get("action") != "unhold"
    try:
        services.call_hold(user=request.user, hold=hold)
    except DomainError as exc:
        return _message(exc.message, status=exc.status)
    return _message(_("The caller is on hold.") if hold else _("The caller is back."))


def _message(text: str, *, status: int = 200, css: str = ""):
    css = css or ("msg-error" if status >= 400 else "msg-ok")
    return render(
        None, "telephony/includes/message.html", {"text": text, "css": css}, status=status
    )


# --- click-to-dial -------------------------------------------------------------------------


@login_required
@permission_required("telephony.click_to_dial", raise_exception=True)
@require_POST
def dial(request):
    """Dial a CustomerPhone (``phone``) or the other party of a call (``call``)."""
    phone_id, call_id = request.POST.get("phone", ""), request.POST.get("call", "")
    customer = None
    if phone_id.isdigit():
        target: int | str = int(phone_id)
    elif call_id.isdigit():
        call = _load_call(request, int(call_id))
        target = call.caller if call.direction == "inbound" else call.callee
        customer = call.customer
    else:
        return _message(_("Choose a number to dial."), status=400)
    try:
        placed = dial_customer(user=request.user, number_or_phone_id=target, customer=customer)
    except DomainError as exc:
        return _message(exc.message, status=exc.status)
    if placed.outcome == "failed":
        return _message(
            _("Dial failed: %(cause)s") % {"cause": placed.hangup_cause}, css="msg-error"
        )
    return _message(_("Ringing your phone…"), css="msg-ok")
