"""Review pages, one pair per stage: the queue (oldest first, filters, bulk approve) and
one order with approve and reject forms. The stage's permission is checked on every view;
the services check it again and apply the two-reviewer rule."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.masking import phone_for_user
from orders.choices import OrderStatus, PaymentMethod, ReviewStage
from orders.filters import ReviewQueueFilter
from orders.forms import ApproveForm, RejectForm, SecondApproveForm
from orders.models import Order
from orders.paging import COUNT_CAP, capped_count, keyset_page
from orders.selectors import attach_divisions, customer_orders, order_detail, review_queue
from orders.services.review import (
    PERMISSION,
    WAITING,
    courier_default_for,
    order_review_approve,
    order_review_bulk_approve,
    order_review_reject,
    second_review_amounts,
)
from tvshop.audit.pages import ListPage
from tvshop.errors import DomainError

MAX_BULK = 200


def _stage_or_404(stage: int) -> ReviewStage:
    try:
        return ReviewStage(stage)
    except ValueError as exc:
        raise Http404 from exc


def _require_stage(request, stage: ReviewStage) -> None:
    if not request.user.has_perm(PERMISSION[stage]):
        raise PermissionDenied


class ReviewQueueView(ListPage):
    """The queue, oldest first, paged by keyset (``?after=`` / ``?before=`` cursors, see
    ``orders/paging.py``) with a count capped at 1,000: with 200,000+ orders waiting,
    neither an ``OFFSET`` nor a full ``COUNT(*)`` is paid on every page. Two queries for
    the rows whatever the page size: the capped count and the page itself."""

    filterset_class = ReviewQueueFilter
    template_name = "orders/review_queue.html"
    results_template_name = "orders/includes/review_queue_results.html"
    paginate_by = None  # keyset paging below, not Django's OFFSET paginator
    page_size = 50
    count_cap = COUNT_CAP

    def get_permission_required(self):
        return [PERMISSION[_stage_or_404(self.kwargs["stage"])]]

    def base_queryset(self):
        return review_queue(self.kwargs["stage"])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        queryset = context["object_list"]
        page = keyset_page(
            queryset,
            size=self.page_size,
            after=self.request.GET.get("after"),
            before=self.request.GET.get("before"),
        )
        attach_divisions(page.rows)
        # one label lookup per page: get_FOO_display() hashes the lazily translated
        # choices on every call (~0.15 ms a row, measured)
        labels = {value: str(label) for value, label in PaymentMethod.choices}
        for row in page.rows:
            row.payment_label = labels.get(row.payment_method, row.payment_method)
        count, more = capped_count(queryset, cap=self.count_cap)
        context.update(
            stage=ReviewStage(self.kwargs["stage"]),
            object_list=page.rows,
            order_list=page.rows,
            keyset=page,
            queue_count=count,
            queue_count_more=more,
        )
        return context


def _review_context(request, order: Order, stage: ReviewStage, **forms) -> dict:
    context = {
        "order": order,
        "stage": stage,
        "waiting": order.status == WAITING[stage],
        "history": [o for o in customer_orders(order.customer_id, limit=20) if o.pk != order.pk],
        "phones": [
            {"phone": p, "shown": phone_for_user(p.number, request.user)}
            for p in order.customer.phones.all()
        ],
        "approve_form": forms.get("approve_form"),
        "reject_form": forms.get("reject_form") or RejectForm(),
        "same_reviewer": stage == ReviewStage.SECOND and order.first_reviewer_id == request.user.pk,
    }
    if context["approve_form"] is None:
        if stage == ReviewStage.SECOND:
            courier = order.courier or courier_default_for(order)
            amounts = second_review_amounts(order, courier)
            context["approve_form"] = SecondApproveForm(
                initial={"courier": courier, "cod_amount": amounts["cod_amount"]}
            )
            context["amounts"] = amounts
        else:
            context["approve_form"] = ApproveForm()
    return context


def _load(pk: int) -> Order:
    try:
        return order_detail(pk)
    except Order.DoesNotExist as exc:
        raise Http404 from exc


@login_required
@require_GET
def review_order(request, stage: int, pk: int):
    stage = _stage_or_404(stage)
    _require_stage(request, stage)
    order = _load(pk)
    return render(request, "orders/review_order.html", _review_context(request, order, stage))


@login_required
@require_POST
def review_approve(request, stage: int, pk: int):
    stage = _stage_or_404(stage)
    _require_stage(request, stage)
    form_class = SecondApproveForm if stage == ReviewStage.SECOND else ApproveForm
    form = form_class(request.POST)
    status = 400
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            order = order_review_approve(
                order_id=pk,
                reviewer=request.user,
                stage=stage,
                note=data.get("note", ""),
                courier=data.get("courier"),
                cod_amount=data.get("cod_amount"),
            )
        except DomainError as exc:
            exc.add_to_form(form)
            status = exc.status
            error = exc.message
        else:
            messages.success(request, _("Order %(number)s approved.") % {"number": order.number})
            return redirect(_next_url(request, stage))
    order = _load(pk)
    context = _review_context(request, order, stage, approve_form=form)
    context["error"] = error
    return render(request, "orders/review_order.html", context, status=status)


@login_required
@require_POST
def review_reject(request, stage: int, pk: int):
    stage = _stage_or_404(stage)
    _require_stage(request, stage)
    form = RejectForm(request.POST)
    status = 400
    error = ""
    if form.is_valid():
        data = form.cleaned_data
        try:
            order = order_review_reject(
                order_id=pk,
                reviewer=request.user,
                stage=stage,
                reason=data["reason"],
                note=data["note"],
                cancel=data["outcome"] == RejectForm.CANCEL,
            )
        except DomainError as exc:
            exc.add_to_form(form)
            status = exc.status
            error = exc.message
        else:
            text = (
                _("Order %(number)s cancelled.")
                if order.status == OrderStatus.CANCELLED
                else _("Order %(number)s sent back to the agent.")
            )
            messages.success(request, text % {"number": order.number})
            return redirect(_next_url(request, stage))
    order = _load(pk)
    context = _review_context(request, order, stage, reject_form=form)
    context["error"] = error
    return render(request, "orders/review_order.html", context, status=status)


def _next_url(request, stage: ReviewStage) -> str:
    return reverse("orders:review_queue", args=[int(stage)])


@login_required
@require_POST
def review_bulk(request, stage: int):
    stage = _stage_or_404(stage)
    _require_stage(request, stage)
    ids = []
    for raw in request.POST.getlist("order")[:MAX_BULK]:
        if raw.isdigit():
            ids.append(int(raw))
    if not ids:
        messages.error(request, _("Tick the orders to approve first."))
        return redirect(_next_url(request, stage))
    result = order_review_bulk_approve(order_ids=ids, reviewer=request.user, stage=stage)
    if result.approved:
        messages.success(
            request,
            _("Approved: %(numbers)s.") % {"numbers": ", ".join(result.approved)},
        )
    for number, message in result.failed:
        messages.error(request, f"{number}: {message}")
    return redirect(_next_url(request, stage))
