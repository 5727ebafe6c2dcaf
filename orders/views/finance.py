"""Finance pages: payment records (list, filters, export) and recording a payment."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.contrib.auth.mixins import LoginRequiredMixin
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.masking import can_see_full_phone
from orders.filters_finance import PaymentFilter, ReceivableFilter
from orders.forms_finance import PaymentForm
from orders.models import Order
from orders.resources import export_payments
from orders.selectors_finance import order_payments, payment_list, receivables
from orders.services.payments import payment_export_audit, payment_record
from tvshop.audit.pages import ListPage
from tvshop.errors import DomainError

EXPORT_LIMIT = 100_000


class PaymentListView(LoginRequiredMixin, ListPage):
    permission_required = "orders.view_payment"
    filterset_class = PaymentFilter
    template_name = "orders/finance/payment_list.html"
    results_template_name = "orders/finance/payment_results.html"
    paginate_by = 50

    def base_queryset(self):
        return payment_list()


class ReceivableListView(LoginRequiredMixin, ListPage):
    """Orders with what is paid on them (收款状态): finance sees unpaid orders here."""

    permission_required = ("orders.view_order", "orders.view_payment")
    filterset_class = ReceivableFilter
    template_name = "orders/finance/receivable_list.html"
    results_template_name = "orders/finance/receivable_results.html"
    paginate_by = 50

    def base_queryset(self):
        return receivables()


@login_required
@permission_required(("orders.view_payment", "orders.export_order"), raise_exception=True)
@require_GET
def payment_export(request):
    fmt = request.GET.get("format", "xlsx")
    if fmt not in ("xlsx", "csv"):
        return HttpResponseBadRequest(_("Unknown format."))
    filterset = PaymentFilter(request.GET or None, queryset=payment_list(), request=request)
    if not filterset.is_valid():
        return HttpResponseBadRequest(_("Please correct the filters."))
    queryset = filterset.qs[:EXPORT_LIMIT]
    content, content_type = export_payments(queryset, user=request.user, fmt=fmt)
    filters = {k: v for k, v in request.GET.items() if k not in ("format", "page") and v}
    payment_export_audit(
        actor=request.user,
        count=queryset.count(),
        filters=filters,
        fmt=fmt,
        masked=not can_see_full_phone(request.user),
    )
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="payments-{stamp}.{fmt}"'
    return response


@login_required
@permission_required("orders.add_payment", raise_exception=True)
def payment_create(request, pk: int):
    order = get_object_or_404(Order.objects.select_related("customer"), pk=pk)
    status = 200
    if request.method == "POST":
        form = PaymentForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                payment_record(
                    order=order,
                    payer=data["payer"],
                    channel=data["channel"],
                    amount=data["amount"],
                    paid_at=data["paid_at"],
                    reference=data["reference"],
                    note=data["note"],
                    actor=request.user,
                )
            except DomainError as exc:
                exc.add_to_form(form)
            else:
                messages.success(
                    request,
                    _("Payment of %(amount)s recorded on order %(number)s.")
                    % {"amount": data["amount"], "number": order.number},
                )
                return redirect("orders:order_detail", pk=order.pk)
        status = 400
    else:
        form = PaymentForm(initial=PaymentForm.initial_for(order))
    context = {"order": order, "form": form, "payments": order_payments(order)}
    return render(request, "orders/finance/payment_form.html", context, status=status)
