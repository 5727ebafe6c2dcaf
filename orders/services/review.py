"""The two-stage review (一审, 二审): approve, reject (back to the agent or cancel), bulk
approve. Status moves go through ``order_transition``; ``expected_status`` is always the
status the stage waits for, so of two reviewers acting at once exactly one wins and the
other gets a ``Conflict`` saying what happened.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from orders import hooks
from orders.choices import OrderStatus, PaymentMethod, RejectReason, ReviewStage
from orders.models import Order
from orders.services.entry import amounts_compute, freight_compute, money, order_cancel
from orders.services.workflow import order_transition
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record
from tvshop.catalog.models import Courier
from tvshop.errors import Conflict, DomainError, Forbidden, NotFound

S = OrderStatus
WAITING = {ReviewStage.FIRST: S.SUBMITTED, ReviewStage.SECOND: S.FIRST_APPROVED}
APPROVED = {ReviewStage.FIRST: S.FIRST_APPROVED, ReviewStage.SECOND: S.SECOND_APPROVED}
PERMISSION = {ReviewStage.FIRST: "orders.review_first", ReviewStage.SECOND: "orders.review_second"}


def _stage(stage) -> ReviewStage:
    try:
        return ReviewStage(int(stage))
    except (TypeError, ValueError) as exc:
        raise NotFound(_("No such review stage.")) from exc


def _check_reviewer(reviewer, stage: ReviewStage) -> None:
    if reviewer is None or not reviewer.is_authenticated:
        raise Forbidden(_("Log in first."))
    if not reviewer.has_perm(PERMISSION[stage]):
        raise Forbidden(_("You are not allowed to do this review."), code="forbidden")


def _moved(order: Order) -> Conflict:
    return Conflict(
        _("Order %(number)s is already “%(status)s”; your action was not applied.")
        % {"number": order.number, "status": order.get_status_display()},
        code="order_moved",
    )


def courier_default_for(order: Order) -> Courier | None:
    courier_id = hooks.default_courier_for(province_code=order.province_id)
    if courier_id is None:
        return None
    return Courier.objects.filter(pk=courier_id, active=True).first()


def second_review_amounts(order: Order, courier: Courier | None) -> dict:
    """Freight, total and COD amount of ``order`` shipped with ``courier``."""
    weight = sum(
        (ln.product.weight_kg * ln.quantity for ln in order.lines.select_related("product")),
        Decimal("0"),
    )
    freight = freight_compute(
        courier_id=courier.pk if courier else None,
        province_code=order.province_id,
        weight_kg=weight,
    )
    total, cod = amounts_compute(
        goods=order.goods_amount,
        discount=order.discount_amount,
        freight=freight,
        payment_method=order.payment_method,
    )
    return {"freight": freight, "total": total, "cod_amount": cod}


def order_review_approve(
    *,
    order_id: int,
    reviewer,
    stage,
    note: str = "",
    courier: Courier | None = None,
    cod_amount: Decimal | None = None,
) -> Order:
    """Pass one review. The second review also fixes the courier (the chosen one, else
    the default for the province) and the COD amount: if ``cod_amount`` is given and the
    amount with that courier differs, nothing is applied and the reviewer is asked to
    confirm the new amount."""
    stage = _stage(stage)
    _check_reviewer(reviewer, stage)
    waiting = WAITING[stage]
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            raise NotFound(_("Order not found."))
        if order.status != waiting:
            raise _moved(order)
        if stage == ReviewStage.SECOND:
            if order.first_reviewer_id == reviewer.pk:
                raise Forbidden(
                    _("You did the first review of this order; someone else must do the second."),
                    code="same_reviewer",
                )
            _set_courier(order, reviewer, courier, cod_amount)
        return order_transition(
            order_id=order.pk,
            to_status=APPROVED[stage],
            actor=reviewer,
            expected_status=waiting,
            note=(note or "").strip()[:500],
        )


def _set_courier(order: Order, reviewer, courier: Courier | None, cod_amount) -> None:
    courier = courier or courier_default_for(order)
    if courier is None:
        message = _("Choose a courier.")
        raise DomainError(message, fields={"courier": [message]}, code="courier")
    if not courier.active:
        message = _("%(courier)s is not in use.") % {"courier": courier.name}
        raise DomainError(message, fields={"courier": [message]}, code="courier")
    if order.payment_method == PaymentMethod.COD and not courier.supports_cod:
        message = _("%(courier)s does not collect cash on delivery.") % {"courier": courier.name}
        raise DomainError(message, fields={"courier": [message]}, code="courier_cod")
    amounts = second_review_amounts(order, courier)
    if cod_amount is not None and money(cod_amount) != amounts["cod_amount"]:
        message = _("With %(courier)s the COD amount is ¥%(amount)s; check it and confirm.") % {
            "courier": courier.name,
            "amount": amounts["cod_amount"],
        }
        raise DomainError(message, fields={"cod_amount": [message]}, code="cod_amount")
    before = {
        "courier": order.courier_id,
        "freight": order.freight,
        "total": order.total,
        "cod_amount": order.cod_amount,
    }
    order.courier = courier
    for name, value in amounts.items():
        setattr(order, name, value)
    order.save(update_fields=["courier", "freight", "total", "cod_amount", "updated_at"])
    after = {"courier": courier.pk, **amounts}
    if {k: str(v) for k, v in before.items()} != {k: str(v) for k, v in after.items()}:
        audit_record(
            actor=reviewer,
            action=AuditAction.UPDATE,
            obj=order,
            before=before,
            after=after,
            note="second review: courier and COD amount",
        )


def order_review_reject(
    *,
    order_id: int,
    reviewer,
    stage,
    reason: str,
    note: str = "",
    cancel: bool = False,
) -> Order:
    """Fail one review: back to the agent with the reason (REJECTED), or ``cancel``."""
    stage = _stage(stage)
    _check_reviewer(reviewer, stage)
    if reason not in RejectReason.values:
        message = _("Choose a reason.")
        raise DomainError(message, fields={"reason": [message]}, code="reason")
    if reason == RejectReason.OTHER and not (note or "").strip():
        message = _("Say what is wrong.")
        raise DomainError(message, fields={"note": [message]}, code="note")
    waiting = WAITING[stage]
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("Order not found."))
    if cancel:
        return order_cancel(
            order=order,
            actor=reviewer,
            reason=reason,
            note=(note or "").strip()[:500],
            expected_status=waiting,
        )
    return order_transition(
        order_id=order.pk,
        to_status=S.REJECTED,
        actor=reviewer,
        expected_status=waiting,
        reason=reason,
        note=(note or "").strip()[:500],
    )


@dataclass
class BulkResult:
    approved: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def order_review_bulk_approve(*, order_ids: list[int], reviewer, stage) -> BulkResult:
    """Approve many orders at one stage, each in its own transaction: one that moved in
    the meantime (or that this reviewer may not pass) is reported, the others pass."""
    stage = _stage(stage)
    _check_reviewer(reviewer, stage)
    result = BulkResult()
    numbers = dict(Order.objects.filter(pk__in=order_ids).values_list("pk", "number"))
    for order_id in dict.fromkeys(order_ids):
        try:
            order_review_approve(order_id=order_id, reviewer=reviewer, stage=stage)
        except DomainError as exc:
            result.failed.append((numbers.get(order_id, f"#{order_id}"), exc.message))
        else:
            result.approved.append(numbers[order_id])
    return result
