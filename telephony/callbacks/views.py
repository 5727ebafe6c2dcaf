"""Callback pages: the agent's callbacks (claim, dial, release, outcome) and the
supervisors' backlog (by station, age and attempts; reassign; pause/resume the dispatcher;
export). Every view checks its permission; writes go through services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.masking import phone_for_user
from telephony.callbacks import selectors, services
from telephony.callbacks.forms import DispatcherForm, OutcomeForm, ReassignForm
from telephony.callbacks.services import EXPORT_PERM, MANAGE_PERM, VIEW_PERM, WORK_PERM
from tvshop.errors import DomainError

PAGE_SIZE = 30
DUE_SHOWN = 20


def _with_phones(callbacks, user):
    for cb in callbacks:
        cb.phone_display = phone_for_user(cb.number, user)
    return callbacks


def _mine_response(request, *, outcome_form=None, status=200, error: str = ""):
    user = request.user
    in_hand = _with_phones(list(selectors.callbacks_of_agent(user)), user)
    due = _with_phones(
        list(
            selectors.callbacks_due().select_related("customer", "station", "hotline")[:DUE_SHOWN]
        ),
        user,
    )
    control = services.control_get()
    context = {
        "in_hand": in_hand,
        "due": due,
        "outcome_form": outcome_form or OutcomeForm(),
        "error": error,
        "control": control,
        "surge": control.surge_active,
    }
    return render(request, "callbacks/mine.html", context, status=status)


@login_required
@permission_required(WORK_PERM, raise_exception=True)
@require_GET
def mine(request):
    return _mine_response(request)


def _act(request, action, success: str):
    """Run a service for the agent page; a DomainError re-renders the page with its 4xx."""
    try:
        action()
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        return _mine_response(request, status=exc.status, error=exc.message)
    messages.success(request, success)
    return redirect(request.POST.get("next") or reverse("callbacks:mine"))


@login_required
@permission_required(WORK_PERM, raise_exception=True)
@require_POST
def claim(request, pk: int):
    return _act(
        request,
        lambda: services.callback_claim(actor=request.user, callback_id=pk),
        _("The callback is yours."),
    )


@login_required
@permission_required(WORK_PERM, raise_exception=True)
@require_POST
def release(request, pk: int):
    return _act(
        request,
        lambda: services.callback_release(actor=request.user, callback_id=pk),
        _("The callback went back to the pool."),
    )


@login_required
@permission_required(WORK_PERM, raise_exception=True)
@require_POST
def dial(request, pk: int):
    return _act(
        request,
        lambda: services.callback_dial(actor=request.user, callback_id=pk),
        _("Ringing your phone; the customer is dialled when you answer."),
    )


@login_required
@require_POST
def outcome(request, pk: int):
    user = request.user
    if not (user.has_perm(WORK_PERM) or user.has_perm(MANAGE_PERM)):
        raise PermissionDenied
    form = OutcomeForm(request.POST)
    if not form.is_valid():
        return _mine_response(request, outcome_form=form, status=400)
    data = form.cleaned_data
    try:
        services.callback_record_outcome(
            actor=user,
            callback_id=pk,
            outcome=data["outcome"],
            order=data.get("order") or None,
            call_again_at=data.get("call_again_at"),
            note=data.get("note") or "",
        )
    except DomainError as exc:
        if exc.status == 403:
            raise PermissionDenied(exc.message) from exc
        exc.add_to_form(form)
        return _mine_response(request, outcome_form=form, status=exc.status, error=exc.message)
    messages.success(request, _("Outcome saved."))
    return redirect(request.POST.get("next") or reverse("callbacks:mine"))


# --- supervisors --------------------------------------------------------------------------------


#: The backlog page re-reads its live part (dispatcher state, the by-station counts and the
#: list) this often, by htmx polling: the page has no websocket of its own, the numbers are
#: aggregates a push per change would only flood during a surge, and a poll is one request
#: of the same queries every few seconds per open page (paused while a form in it has focus).
LIVE_SECONDS = 5


def _backlog_response(request, *, status=200, error: str = "", reassign_form=None):
    user = request.user
    params = request.GET.copy()
    live = params.pop("live", None) is not None  # the page's own poll (every few seconds)
    filterset = selectors.CallbackFilter(
        params or {"open": "true"}, queryset=selectors.callback_list(), request=request
    )
    queryset = filterset.qs if filterset.is_valid() else selectors.callback_list().none()
    if not request.GET.get("ordering"):
        queryset = queryset.order_by("-priority", "first_call_at", "id")
    page_obj = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    _with_phones(page_obj.object_list, user)
    query = params.copy()
    query.pop("page", None)
    live_query = params.copy()
    live_query["live"] = "1"
    control = services.control_get()
    context = {
        "filter": filterset,
        "page_obj": page_obj,
        "by_station": selectors.backlog_by_station(),
        "age_buckets": selectors.AGE_BUCKETS,
        "totals": selectors.backlog_totals(),
        "control": control,
        "surge": control.surge_active,
        "can_manage": user.has_perm(MANAGE_PERM),
        "can_export": user.has_perm(EXPORT_PERM),
        "reassign_form": reassign_form,
        "agents": list(selectors.callback_agents()) if user.has_perm(MANAGE_PERM) else [],
        "dispatcher_form": DispatcherForm(),
        "filters_query": query.urlencode(),
        "live_query": live_query.urlencode(),
        "live_seconds": LIVE_SECONDS,
        "live": live,
        "error": error,
    }
    if live and request.headers.get("HX-Request"):
        return render(request, "callbacks/includes/backlog_live.html", context, status=status)
    return render(request, "callbacks/backlog.html", context, status=status)


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_GET
def backlog(request):
    return _backlog_response(request)


@login_required
@require_GET
def detail(request, pk: int):
    callback = get_object_or_404(selectors.callback_list(), pk=pk)
    user = request.user
    if not (user.has_perm(VIEW_PERM) or callback.assigned_agent_id == user.pk):
        raise PermissionDenied
    callback.phone_display = phone_for_user(callback.number, user)
    context = {
        "callback": callback,
        "attempts": selectors.callback_attempts(callback),
        "captures": callback.captures.select_related("hotline"),
        "reassign_form": ReassignForm() if user.has_perm(MANAGE_PERM) else None,
        "outcome_form": OutcomeForm(),
        "may_record": callback.is_open
        and (callback.assigned_agent_id == user.pk or user.has_perm(MANAGE_PERM)),
    }
    return render(request, "callbacks/detail.html", context)


@login_required
@permission_required(MANAGE_PERM, raise_exception=True)
@require_POST
def reassign(request, pk: int):
    form = ReassignForm(request.POST)
    if not form.is_valid():
        return _backlog_response(request, status=400, error=_("Choose an agent."))
    try:
        services.callback_reassign(
            actor=request.user, callback_id=pk, agent=form.cleaned_data["agent"]
        )
    except DomainError as exc:
        return _backlog_response(request, status=exc.status, error=exc.message)
    messages.success(request, _("Callback reassigned."))
    return redirect(request.POST.get("next") or reverse("callbacks:backlog"))


@login_required
@permission_required(MANAGE_PERM, raise_exception=True)
@require_POST
def dispatcher(request):
    form = DispatcherForm(request.POST)
    if not form.is_valid():
        return _backlog_response(request, status=400, error=_("Choose an action."))
    action = form.cleaned_data["action"]
    try:
        if action == "pause":
            services.dispatcher_pause(actor=request.user, reason=form.cleaned_data["reason"])
            messages.success(request, _("The callback dispatcher is paused."))
        elif action == "resume":
            services.dispatcher_resume(actor=request.user)
            messages.success(request, _("The callback dispatcher runs again."))
        else:
            services.dispatcher_set_mode(actor=request.user, mode=form.cleaned_data["mode"])
            messages.success(request, _("Dispatch mode changed."))
    except DomainError as exc:
        return _backlog_response(request, status=exc.status, error=exc.message)
    return redirect(reverse("callbacks:backlog"))


@login_required
@permission_required(EXPORT_PERM, raise_exception=True)
@require_GET
def export(request):
    filterset = selectors.CallbackFilter(
        request.GET, queryset=selectors.callback_list(), request=request
    )
    if not filterset.is_valid():
        return HttpResponse(_("Invalid filter."), status=400, content_type="text/plain")
    try:
        file = services.callbacks_export(
            actor=request.user,
            callbacks=filterset.qs.order_by("-priority", "first_call_at", "id"),
            filters=request.GET.urlencode(),
        )
    except DomainError as exc:
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    response = HttpResponse(file.content, content_type=file.content_type)
    response["Content-Disposition"] = f'attachment; filename="{file.filename}"'
    return response
