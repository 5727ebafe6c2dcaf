"""Order entry pages: the entry form (a full page, or a fragment inside the agent desktop),
its live summary, product search, fixing a rejected order, adding lines to an open order,
and the agent's own orders."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.models import Customer
from orders import hooks
from orders.choices import OrderStatus
from orders.filters import MyOrdersFilter
from orders.forms import NEW_ADDRESS, OrderEntryForm, parse_ids, parse_lines
from orders.models import Order
from orders.selectors import agent_orders, duplicate_candidates, products_on_sale
from orders.services.entry import (
    ZERO,
    amounts_compute,
    discount_limit_percent,
    entry_freight,
    lines_price,
    order_add_lines,
    order_create,
    order_update,
)
from orders.services.gifts import gift_options
from tvshop.audit.pages import ListPage, is_htmx
from tvshop.catalog.models import Product
from tvshop.errors import DomainError

ENTRY_PAGE = "orders/entry.html"
ENTRY_PARTIAL = "orders/includes/entry_form.html"


def _customer(request) -> Customer:
    """The customer of the order: ``customer=<id>``, or the customer of the call
    ``call=<uuid>`` (the agent desktop sends the call on screen)."""
    raw = request.POST.get("customer") or request.GET.get("customer") or ""
    call = (request.GET.get("call") or "")[:64]
    if not raw and call:
        raw = str((hooks.call_source_for(call_uuid=call) or {}).get("customer_id") or "")
    try:
        return Customer.objects.select_related("source_station").get(pk=int(raw))
    except (ValueError, Customer.DoesNotExist) as exc:
        raise Http404(_("Choose a customer first.")) from exc


def _line_rows(lines) -> list[dict]:
    products = Product.objects.in_bulk([ln.product_id for ln in lines])
    rows = []
    for line in lines:
        product = products.get(line.product_id)
        if product is not None:
            rows.append({"product": product, "quantity": line.quantity})
    return rows


def _entry_context(request, *, customer, form, order=None, lines=None, error=None) -> dict:
    duplicates = []
    if order is None and not customer.is_blacklisted:
        duplicates = list(duplicate_candidates(customer=customer).select_related("agent")[:5])
    return {
        "customer": customer,
        "form": form,
        "order": order,
        "line_rows": _line_rows(lines or []),
        "duplicates": duplicates,
        "discount_limit": discount_limit_percent(request.user),
        "embedded": is_htmx(request),
        "error": error,
        "selected_gifts": set(form.gift_ids()) if form.is_bound else set(),
        "new_address_value": NEW_ADDRESS,
    }


def _render_entry(request, context, status=200):
    template = ENTRY_PARTIAL if is_htmx(request) else ENTRY_PAGE
    return render(request, template, context, status=status)


@login_required
@permission_required("orders.add_order", raise_exception=True)
@require_http_methods(["GET", "POST"])
def order_new(request):
    """GET ``?customer=<id>&call=<uuid>``: the form; POST: take the order."""
    customer = _customer(request)
    if request.method == "GET":
        form = OrderEntryForm(customer=customer, initial={"call": request.GET.get("call", "")})
        lines = []
        if request.GET.get("product"):
            lines, _problems = parse_lines(_single_line(request.GET.get("product")))
        return _render_entry(
            request, _entry_context(request, customer=customer, form=form, lines=lines)
        )
    form = OrderEntryForm(request.POST, customer=customer)
    status = 400
    if form.is_valid():
        try:
            order = order_create(
                customer=customer,
                agent=request.user,
                call_uuid=form.cleaned_data.get("call") or "",
                **form.service_kwargs(),
            )
        except DomainError as exc:
            exc.add_to_form(_with_lines_field(form))
            # A refusal about a field (e.g. a discount above the limit) is bad input.
            status = 400 if exc.fields else exc.status
        else:
            if is_htmx(request):
                return render(request, "orders/includes/entry_done.html", {"order": order})
            messages.success(request, _("Order %(number)s taken.") % {"number": order.number})
            return redirect("orders:order_detail", pk=order.pk)
    context = _entry_context(request, customer=customer, form=form, lines=form.lines)
    return _render_entry(request, context, status=status)


def _single_line(product_id):
    from django.http import QueryDict

    data = QueryDict(mutable=True)
    data.setlist("line_product", [product_id])
    data.setlist("line_qty", ["1"])
    return data


def _with_lines_field(form):
    """Service errors on ``lines``/``gifts``/``discount`` show as form errors too."""
    from django import forms as djforms

    for name in ("lines", "gifts"):
        if name not in form.fields:
            form.fields[name] = djforms.CharField(required=False)
    return form


@login_required
@permission_required("orders.add_order", raise_exception=True)
@require_POST
def entry_summary(request):
    """The live part of the entry form: amounts and the gift rules that apply."""
    customer = _customer(request)
    lines, problems = parse_lines(request.POST)
    try:
        discount = Decimal(request.POST.get("discount") or "0")
    except InvalidOperation:
        discount, problems = ZERO, [*problems, _("Enter a valid discount.")]
    goods = freight = ZERO
    quantities: dict[int, int] = {}
    if lines:
        try:
            priced = lines_price(lines)
        except DomainError as exc:
            problems.append(exc.message)
        else:
            goods, quantities = priced.goods, priced.quantities()
            province = _summary_province(request, customer)
            if province:
                freight = entry_freight(province_code=province, weight_kg=priced.weight_kg)
    limit = discount_limit_percent(request.user)
    allowed = (goods * limit / Decimal(100)).quantize(Decimal("0.01"))
    if discount > allowed:
        problems.append(
            _("You may give at most %(percent)s%% off (¥%(allowed)s on this order).")
            % {"percent": limit.normalize(), "allowed": allowed}
        )
    total, cod = amounts_compute(
        goods=goods,
        discount=min(discount, goods),
        freight=freight,
        payment_method=request.POST.get("payment_method") or "cod",
    )
    options = gift_options(
        customer=customer,
        quantities=quantities,
        goods_amount=goods - min(discount, goods),
        selected_ids=set(parse_ids(request.POST.getlist("gifts"))),
    )
    context = {
        "goods": goods,
        "discount": discount.quantize(Decimal("0.01")),
        "freight": freight,
        "total": total,
        "cod": cod,
        "options": options,
        "problems": problems,
        "customer": customer,
    }
    return render(request, "orders/includes/entry_summary.html", context)


def _summary_province(request, customer) -> str:
    chosen = request.POST.get("address") or ""
    if chosen == NEW_ADDRESS:
        return (request.POST.get("province") or "")[:12]
    address = customer.addresses.filter(pk=chosen if chosen.isdigit() else 0).first()
    return address.province_id if address else ""


@login_required
@permission_required("orders.add_order", raise_exception=True)
@require_GET
def product_search(request):
    products = products_on_sale(request.GET.get("q", ""))
    return render(request, "orders/includes/product_results.html", {"products": products})


@login_required
@permission_required("orders.add_order", raise_exception=True)
@require_GET
def entry_line(request):
    """One line row for the entry form (a product on sale, quantity 1)."""
    product = get_object_or_404(Product, pk=request.GET.get("product") or 0, on_sale=True)
    response = render(
        request, "orders/includes/entry_line.html", {"row": {"product": product, "quantity": 1}}
    )
    response["HX-Trigger"] = "order-lines-changed"
    return response


@login_required
@permission_required("orders.add_order", raise_exception=True)
@require_POST
def order_add_lines_view(request, pk: int):
    """Add the entry form's products to an open order instead of a duplicate order."""
    order = get_object_or_404(Order, pk=pk)
    lines, problems = parse_lines(request.POST)
    if problems or not lines:
        message = " ".join(problems) or _("Add at least one product.")
        return _answer(request, message, status=400)
    try:
        order = order_add_lines(order=order, actor=request.user, lines=lines)
    except DomainError as exc:
        return _answer(request, exc.message, status=exc.status)
    if is_htmx(request):
        return render(request, "orders/includes/entry_done.html", {"order": order, "added": True})
    messages.success(request, _("Products added to order %(number)s.") % {"number": order.number})
    return redirect("orders:order_detail", pk=order.pk)


def _answer(request, message: str, *, status: int):
    if is_htmx(request):
        return render(
            request,
            "orders/includes/message.html",
            {"message": message, "level": "error"},
            status=status,
        )
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


@login_required
@permission_required("orders.change_order", raise_exception=True)
@require_http_methods(["GET", "POST"])
def order_edit(request, pk: int):
    """Fix an order sent back by a reviewer, then resubmit it (its agent only)."""
    order = get_object_or_404(Order.objects.select_related("customer"), pk=pk)
    if order.agent_id != request.user.pk and not request.user.is_superuser:
        return HttpResponse(_("Only the agent who took this order can fix it."), status=403)
    customer = order.customer
    if request.method == "GET" or order.status != OrderStatus.REJECTED:
        if order.status != OrderStatus.REJECTED:
            messages.error(request, _("Only orders sent back can be changed."))
            return redirect("orders:order_detail", pk=order.pk)
        form = OrderEntryForm(
            customer=customer,
            initial={
                "address": str(order.address_id) if order.address_id else NEW_ADDRESS,
                "payment_method": order.payment_method,
                "discount": order.discount_amount or None,
                "remark": order.remark,
            },
        )
        from orders.services.entry import LineInput

        lines = [LineInput(ln.product_id, ln.quantity) for ln in order.lines.all()]
        context = _entry_context(request, customer=customer, form=form, order=order, lines=lines)
        context["selected_gifts"] = {g.rule_id for g in order.gifts.all() if g.rule_id}
        return _render_entry(request, context)
    form = OrderEntryForm(request.POST, customer=customer)
    status = 400
    if form.is_valid():
        try:
            order = order_update(order=order, actor=request.user, **form.service_kwargs())
        except DomainError as exc:
            exc.add_to_form(_with_lines_field(form))
            # A refusal about a field (e.g. a discount above the limit) is bad input.
            status = 400 if exc.fields else exc.status
        else:
            messages.success(
                request, _("Order %(number)s fixed and resubmitted.") % {"number": order.number}
            )
            return redirect("orders:order_detail", pk=order.pk)
    context = _entry_context(request, customer=customer, form=form, order=order, lines=form.lines)
    return _render_entry(request, context, status=status)


class MyOrdersView(ListPage):
    """The agent's own orders; the ones sent back come first with the reviewer's reason."""

    permission_required = "orders.add_order"
    filterset_class = MyOrdersFilter
    template_name = "orders/my_orders.html"
    results_template_name = "orders/includes/my_orders_results.html"

    def base_queryset(self):
        return agent_orders(self.request.user)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["rejected"] = list(
            agent_orders(self.request.user).filter(status=OrderStatus.REJECTED)[:50]
        )
        return context
