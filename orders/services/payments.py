"""Payment records (收款记录): money received for an order, and refunds (negative amounts).

An order's ``paid_amount`` is always the sum of its payment records and its
``payment_status`` follows from it: nothing (or less) → unpaid, something → part-paid,
the whole total → paid. Both are recomputed under the order's row lock by every service
that adds a record, so two clerks recording at once never lose one. A payment that would
take the order past its total is refused (say how much is still due), and so is a
reference already used for the same method (bank and online references are unique).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.choices import OrderStatus, PaymentChannel, PaymentStatus
from orders.models import Order, Payment
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError, NotFound

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Payments cannot be recorded on orders that no longer exist as such.
NO_PAYMENT_STATUSES = {OrderStatus.CANCELLED, OrderStatus.MERGED}
# A little clock skew between the clerk's screen and the server is fine; the future is not.
FUTURE_SKEW = dt.timedelta(minutes=10)


def money(value, *, field: str = "amount") -> Decimal:
    """``value`` as a Decimal with two places; refuses anything else (field error)."""
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        amount = None
    if amount is None or not amount.is_finite():
        raise DomainError(_("Enter an amount."), fields={field: [_("Enter an amount.")]})
    if amount != amount.quantize(CENT):
        message = _("At most two decimal places.")
        raise DomainError(message, fields={field: [message]})
    return amount.quantize(CENT)


def payment_status_for(*, paid: Decimal, total: Decimal) -> str:
    if paid <= ZERO:
        return PaymentStatus.UNPAID
    if paid >= total:
        return PaymentStatus.PAID
    return PaymentStatus.PART_PAID


def order_payments_recompute(order: Order) -> Order:
    """Set ``paid_amount``/``payment_status`` from the payment records (order row locked)."""
    paid = order.payments.aggregate(s=Sum("amount"))["s"] or ZERO
    order.paid_amount = paid
    order.payment_status = payment_status_for(paid=paid, total=order.total)
    order.save(update_fields=["paid_amount", "payment_status", "updated_at"])
    return order


def order_lock(order_id: int) -> Order:
    order = Order.objects.select_for_update().filter(pk=order_id).first()
    if order is None:
        raise NotFound(_("Order not found."))
    return order


def _reference_taken(channel: str, reference: str) -> Conflict:
    message = _("Reference %(reference)s was already recorded for %(channel)s.") % {
        "reference": reference,
        "channel": PaymentChannel(channel).label,
    }
    return Conflict(message, fields={"reference": [message]}, code="duplicate_reference")


def _payment_create(
    *, order: Order, payer, channel, amount, paid_at, reference, note, actor
) -> Payment:
    if reference and Payment.objects.filter(channel=channel, reference=reference).exists():
        raise _reference_taken(channel, reference)
    try:
        with transaction.atomic():  # a savepoint: the unique index settles a race
            return Payment.objects.create(
                order=order,
                payer=payer,
                channel=channel,
                amount=amount,
                paid_at=paid_at,
                reference=reference,
                note=note,
                recorded_by=actor if getattr(actor, "is_authenticated", False) else None,
            )
    except IntegrityError as exc:
        if reference:
            raise _reference_taken(channel, reference) from exc
        raise


def _clean_common(*, payer: str, channel: str, paid_at, reference: str, note: str):
    errors: dict[str, list[str]] = {}
    payer = (payer or "").strip()
    reference = (reference or "").strip()
    note = (note or "").strip()
    if not payer:
        errors["payer"] = [_("Who paid?")]
    elif len(payer) > 100:
        errors["payer"] = [_("At most 100 characters.")]
    if channel not in PaymentChannel.values:
        errors["channel"] = [_("Choose a payment method.")]
    if len(reference) > 100:
        errors["reference"] = [_("At most 100 characters.")]
    if len(note) > 300:
        errors["note"] = [_("At most 300 characters.")]
    if not isinstance(paid_at, dt.datetime) or timezone.is_naive(paid_at):
        errors["paid_at"] = [_("Enter the time of payment.")]
    elif paid_at > timezone.now() + FUTURE_SKEW:
        errors["paid_at"] = [_("The time of payment cannot be in the future.")]
    if errors:
        raise DomainError(_("Please correct the errors below."), fields=errors)
    return payer, reference, note


def payment_record(
    *,
    order: Order,
    payer: str,
    channel: str,
    amount: Decimal,
    paid_at: dt.datetime,
    reference: str = "",
    note: str = "",
    actor,
) -> Payment:
    """Record money received for ``order`` and recompute its paid amount and status.

    Refused (nothing saved): amount not positive or with more than two decimals; a
    cancelled or merged order; more than is still due (overpayment); a reference already
    recorded for the same method; missing payer/method/time or a time in the future.
    """
    payer, reference, note = _clean_common(
        payer=payer, channel=channel, paid_at=paid_at, reference=reference, note=note
    )
    amount = money(amount)
    if amount <= ZERO:
        message = _("The amount must be more than zero (refunds are recorded with a return).")
        raise DomainError(message, fields={"amount": [message]})
    with transaction.atomic():
        order = order_lock(order.pk)
        if order.status in NO_PAYMENT_STATUSES:
            raise Conflict(
                _("Order %(number)s is “%(status)s”; no payment can be recorded on it.")
                % {"number": order.number, "status": order.get_status_display()},
                code="order_closed",
            )
        due = order.total - order.paid_amount
        if amount > due:
            message = _(
                "Overpayment: order %(number)s has %(due)s still due; %(amount)s is too much."
            ) % {"number": order.number, "due": max(due, ZERO), "amount": amount}
            raise Conflict(message, fields={"amount": [message]}, code="overpayment")
        before = snapshot(order, fields=["paid_amount", "payment_status"])
        payment = _payment_create(
            order=order,
            payer=payer,
            channel=channel,
            amount=amount,
            paid_at=paid_at,
            reference=reference,
            note=note,
            actor=actor,
        )
        order_payments_recompute(order)
        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=payment,
            before={"order": before},
            after={
                **snapshot(payment),
                "order": snapshot(order, fields=["paid_amount", "payment_status"]),
            },
            note=order.number,
        )
    return payment


def payment_refund_record(
    *,
    order: Order,
    amount: Decimal,
    channel: str,
    payer: str,
    reference: str = "",
    note: str = "",
    actor,
) -> Payment:
    """A refund: a negative payment record (call with ``order`` locked, inside the return's
    transaction). Refused when more would go back than was paid."""
    amount = money(amount, field="refund_amount")
    if amount <= ZERO:
        raise DomainError(_("A refund must be more than zero."))
    payer, reference, note = _clean_common(
        payer=payer, channel=channel, paid_at=timezone.now(), reference=reference, note=note
    )
    if amount > order.paid_amount:
        message = _(
            "Only %(paid)s was paid on order %(number)s; %(amount)s cannot be refunded."
        ) % {
            "paid": max(order.paid_amount, ZERO),
            "number": order.number,
            "amount": amount,
        }
        raise Conflict(message, fields={"refund_amount": [message]}, code="refund_too_large")
    payment = _payment_create(
        order=order,
        payer=payer,
        channel=channel,
        amount=-amount,
        paid_at=timezone.now(),
        reference=reference,
        note=note,
        actor=actor,
    )
    order_payments_recompute(order)
    return payment


def payment_export_audit(*, actor, count: int, filters: dict, fmt: str, masked: bool) -> None:
    """Exports of payment records leave an audit entry (who took which data out)."""
    audit_record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type=Payment,
        object_repr=_("%(count)s payment records") % {"count": count},
        after={"filters": filters, "format": fmt, "count": count, "masked": masked},
    )
