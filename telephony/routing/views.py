"""Routing policy pages: the list of hotlines with their live overflow state, and the
audited settings page of one hotline (administrators and supervisors)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from telephony.routing import services
from telephony.routing.forms import HolidayForm, PolicyForm
from telephony.routing.models import Holiday, RoutingPolicy
from telephony.routing.services import CHANGE_PERM, VIEW_PERM
from tvshop.errors import DomainError


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
def policy_list(request):
    services.policies_ensure()
    policies = RoutingPolicy.objects.select_related("hotline", "hotline__station").order_by(
        "hotline__number"
    )
    return render(request, "routing/policy_list.html", {"policies": policies})


@login_required
@permission_required(VIEW_PERM, raise_exception=True)
@require_http_methods(["GET", "POST"])
def policy_edit(request, pk: int):
    policy = get_object_or_404(RoutingPolicy.objects.select_related("hotline"), pk=pk)
    can_change = request.user.has_perm(CHANGE_PERM)
    status = 200
    if request.method == "POST":
        if not can_change:
            raise PermissionDenied
        form = PolicyForm(request.POST, instance=RoutingPolicy.objects.get(pk=pk))
        if form.is_valid():
            try:
                services.policy_update(
                    actor=request.user, policy_id=policy.pk, **form.policy_values()
                )
            except DomainError as exc:
                exc.add_to_form(form)
                status = exc.status
            else:
                messages.success(request, _("The routing policy was saved."))
                return redirect("routing:policy_edit", pk=policy.pk)
        else:
            status = 400
    else:
        form = PolicyForm(instance=policy)
    context = {
        "policy": policy,
        "form": form,
        "holiday_form": HolidayForm(),
        "holidays": policy.holidays.all(),
        "can_change": can_change,
        "weekday_fields": [form[f"hours_{d}"] for d in range(7)],
        "open_now": services.is_open(policy),
    }
    return render(request, "routing/policy_form.html", context, status=status)


@login_required
@permission_required(CHANGE_PERM, raise_exception=True)
@require_POST
def holiday_add(request, pk: int):
    policy = get_object_or_404(RoutingPolicy, pk=pk)
    form = HolidayForm(request.POST)
    if form.is_valid():
        services.holiday_add(actor=request.user, policy_id=policy.pk, **form.cleaned_data)
        messages.success(request, _("Holiday added."))
    else:
        messages.error(request, _("Enter a valid date."))
    return redirect("routing:policy_edit", pk=policy.pk)


@login_required
@permission_required(CHANGE_PERM, raise_exception=True)
@require_POST
def holiday_delete(request, pk: int, holiday_id: int):
    holiday = get_object_or_404(Holiday, pk=holiday_id, policy_id=pk)
    services.holiday_delete(actor=request.user, holiday_id=holiday.pk)
    messages.success(request, _("Holiday removed."))
    return redirect("routing:policy_edit", pk=pk)
