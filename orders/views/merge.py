"""Merging orders (订单合并): on an order, its mergeable siblings and the merge button."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from orders.forms_finance import MergeForm
from orders.models import Order
from orders.selectors_finance import mergeable_siblings
from orders.services.merge import order_merge
from tvshop.errors import DomainError


@login_required
@permission_required(("orders.view_order", "orders.merge_order"), raise_exception=True)
def order_merge_view(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("customer"), pk=pk)
    siblings = mergeable_siblings(order)
    status = 200
    if request.method == "POST":
        form = MergeForm(request.POST, siblings=siblings)
        if form.is_valid():
            try:
                survivor = order_merge(
                    orders=[order.pk, *form.cleaned_data["orders"]], actor=request.user
                )
            except DomainError as exc:
                exc.add_to_form(form)
            else:
                messages.success(
                    request, _("Orders merged into %(number)s.") % {"number": survivor.number}
                )
                return redirect("orders:order_detail", pk=survivor.pk)
        status = 400
    else:
        form = MergeForm(siblings=siblings)
    context = {"order": order, "siblings": siblings, "form": form}
    return render(request, "orders/merge/merge.html", context, status=status)
