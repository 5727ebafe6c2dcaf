"""One order (lines, gifts, amounts, review trail), cancelling it, and a customer's
orders (a tab of the customer page and a panel of the agent desktop's pop)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.masking import phone_for_user
from crm.models import Customer
from orders.forms import CancelForm
from orders.models import Order
from orders.selectors import customer_orders_queryset, order_detail
from orders.services.entry import order_cancel
from orders.services.workflow import OWN_ORDER_CANCEL_FROM, TRANSITIONS
from tvshop.errors import DomainError

CUSTOMER_TAB_PAGE = 20


def _may_cancel(user, order: Order) -> bool:
    if (order.status, "cancelled") not in TRANSITIONS:
        return False
    if user.has_perm("orders.cancel_order"):
        return True
    return order.agent_id == user.pk and order.status in OWN_ORDER_CANCEL_FROM


@login_required
@permission_required("orders.view_order", raise_exception=True)
@require_GET
def order_detail_view(request, pk: int):
    try:
        order = order_detail(pk)
    except Order.DoesNotExist as exc:
        raise Http404 from exc
    context = {
        "order": order,
        "phones": [
            {"phone": p, "shown": phone_for_user(p.number, request.user)}
            for p in order.customer.phones.all()
        ],
        "can_cancel": _may_cancel(request.user, order),
        "can_edit": order.status == "rejected"
        and order.agent_id == request.user.pk
        and request.user.has_perm("orders.change_order"),
        "cancel_form": CancelForm(),
    }
    return render(request, "orders/order_detail.html", context)


@login_required
@permission_required("orders.view_order", raise_exception=True)
@require_POST
def order_cancel_view(request, pk: int):
    order = get_object_or_404(Order, pk=pk)
    form = CancelForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a reason."))
        return redirect("orders:order_detail", pk=pk)
    try:
        order_cancel(
            order=order,
            actor=request.user,
            reason=form.cleaned_data["reason"],
            note=form.cleaned_data["note"],
            expected_status=request.POST.get("expected_status") or None,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Order %(number)s cancelled.") % {"number": order.number})
    return redirect("orders:order_detail", pk=pk)


@login_required
@permission_required("orders.view_order", raise_exception=True)
@require_GET
def customer_orders_tab(request, pk: int):
    """The tab (and its pages / search by order number, swapped in place by htmx)."""
    customer = get_object_or_404(Customer, pk=pk)
    q = (request.GET.get("q") or "").strip()[:50]
    page = Paginator(customer_orders_queryset(customer.pk, q=q), CUSTOMER_TAB_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "orders/includes/customer_orders.html",
        {"customer": customer, "orders": page.object_list, "page_obj": page, "q": q},
    )
