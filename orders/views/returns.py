"""Return pages: the list of returns and recording one for an order."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from orders.filters_finance import ReturnFilter
from orders.forms_finance import ReturnForm
from orders.models import Order
from orders.selectors_finance import order_returns, return_list, returnable_items
from orders.services.returns import RETURNABLE_STATUSES, order_return_create
from tvshop.audit.pages import ListPage
from tvshop.errors import DomainError


class ReturnListView(LoginRequiredMixin, ListPage):
    permission_required = "orders.view_orderreturn"
    filterset_class = ReturnFilter
    template_name = "orders/returns/return_list.html"
    results_template_name = "orders/returns/return_results.html"
    paginate_by = 50

    def base_queryset(self):
        return return_list()


@login_required
@permission_required("orders.add_orderreturn", raise_exception=True)
def return_create(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("customer"), pk=pk)
    items = returnable_items(order)
    status = 200
    if request.method == "POST":
        form = ReturnForm(request.POST, items=items)
        if form.is_valid():
            data = form.cleaned_data
            try:
                order_return_create(
                    order=order,
                    reason=data["reason"],
                    items=form.chosen_items(),
                    note=data["note"],
                    refund_amount=data["refund_amount"] or 0,
                    refund_channel=data["refund_channel"],
                    actor=request.user,
                )
            except DomainError as exc:
                exc.add_to_form(form)
            else:
                messages.success(request, _("Return recorded."))
                return redirect("orders:order_detail", pk=order.pk)
        status = 400
    else:
        form = ReturnForm(items=items)
    context = {
        "order": order,
        "form": form,
        "items": items,
        "returnable": order.status in RETURNABLE_STATUSES,
        "returns": order_returns(order),
    }
    return render(request, "orders/returns/return_form.html", context, status=status)
