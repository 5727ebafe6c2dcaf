"""Returns (退单): goods and gifts coming back from a refused or delivered order.

What a return does, in one transaction under the order's row lock:

* checks each item: a line or gift of this order, at least 1, and no more than was ordered
  minus what earlier returns already took back;
* puts returned gifts back into stock (``catalog.Gift.stock``). Products carry no stock in
  this system (the catalog has no stock column; the warehouse is outside it), so returned
  products are only recorded;
* records the refund as a negative payment record when money is given back (never more
  than was paid), which recomputes the order's paid amount and payment status;
* takes back the points that the returned goods had earned, and gives back points spent
  on redeemed gifts that came back;
* when everything of the order has come back (every line and every gift in full) the
  order moves to RETURNED through ``order_transition``. A partial return leaves the order
  as it was (REFUSED or DELIVERED), so a later return can take back the rest; the returns
  list and the order page show what came back.
"""

from __future__ import annotations

import math
from collections import defaultdict
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from orders.choices import OrderStatus, PaymentChannel, ReturnReason
from orders.models import Order, OrderGift, OrderLine, OrderReturn, OrderReturnItem
from orders.services.payments import ZERO, money, order_lock, payment_refund_record
from orders.services.points import order_points_reverse, points_add
from orders.services.workflow import order_transition
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.catalog.models import Gift
from tvshop.errors import Conflict, DomainError

RETURNABLE_STATUSES = {OrderStatus.REFUSED, OrderStatus.DELIVERED}


def returned_quantities(order: Order) -> tuple[dict[int, int], dict[int, int]]:
    """(line id → quantity returned so far, order-gift id → quantity returned so far)."""
    lines: dict[int, int] = defaultdict(int)
    gifts: dict[int, int] = defaultdict(int)
    rows = (
        OrderReturnItem.objects.filter(order_return__order=order)
        .values("line_id", "gift_id")
        .annotate(q=Sum("quantity"))
    )
    for row in rows:
        if row["line_id"]:
            lines[row["line_id"]] += row["q"]
        else:
            gifts[row["gift_id"]] += row["q"]
    return lines, gifts


def _charged_value(lines: list[OrderLine], kept: dict[int, int], order: Order) -> Decimal:
    """Charged value of the goods kept: their amount less their share of the discount."""
    goods = sum((ln.amount for ln in lines), ZERO)
    kept_amount = sum(
        (ln.unit_price * kept.get(ln.pk, ln.quantity) for ln in lines), ZERO
    ).quantize(Decimal("0.01"))
    if goods <= 0 or not order.discount_amount:
        return kept_amount
    share = (order.discount_amount * kept_amount / goods).quantize(Decimal("0.01"))
    return kept_amount - share


def order_return_create(
    *,
    order: Order,
    reason: str,
    items: list[tuple[OrderLine | OrderGift, int]],
    note: str = "",
    refund_amount: Decimal = ZERO,
    refund_channel: str = "",
    actor,
) -> OrderReturn:
    """Record a return of ``items`` (``[(line or gift, quantity), …]``); see the module
    docstring for everything it does. Refusals raise DomainError/Conflict; nothing is saved.
    """
    if reason not in ReturnReason.values:
        raise DomainError(
            _("Choose a reason."), fields={"reason": [_("Choose a reason.")]}, code="invalid"
        )
    note = (note or "").strip()
    if len(note) > 500:
        raise DomainError(
            _("At most 500 characters."), fields={"note": [_("At most 500 characters.")]}
        )
    refund = money(
        refund_amount if refund_amount not in (None, "") else ZERO, field="refund_amount"
    )
    if refund < ZERO:
        message = _("The refund cannot be negative.")
        raise DomainError(message, fields={"refund_amount": [message]})
    if refund > ZERO and refund_channel not in PaymentChannel.values:
        message = _("Choose how the money goes back.")
        raise DomainError(message, fields={"refund_channel": [message]})
    if not items:
        message = _("Choose at least one item coming back.")
        raise DomainError(message, fields={"items": [message]}, code="no_items")

    with transaction.atomic():
        order = order_lock(order.pk)
        if order.status not in RETURNABLE_STATUSES:
            raise Conflict(
                _(
                    "Order %(number)s is “%(status)s”; "
                    "only refused or delivered orders take returns."
                )
                % {"number": order.number, "status": order.get_status_display()},
                code="not_returnable",
            )
        lines = {ln.pk: ln for ln in order.lines.all()}
        gifts = {g.pk: g for g in order.gifts.select_related("gift")}
        done_lines, done_gifts = returned_quantities(order)

        wanted_lines: dict[int, int] = defaultdict(int)
        wanted_gifts: dict[int, int] = defaultdict(int)
        problems: list[str] = []
        for item, quantity in items:
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 1:
                problems.append(_("%(item)s: the quantity must be at least 1.") % {"item": item})
                continue
            if isinstance(item, OrderLine) and item.pk in lines:
                wanted_lines[item.pk] += quantity
            elif isinstance(item, OrderGift) and item.pk in gifts:
                wanted_gifts[item.pk] += quantity
            else:
                problems.append(
                    _("%(item)s is not part of order %(number)s.")
                    % {"item": item, "number": order.number}
                )
        for pk, quantity in wanted_lines.items():
            left = lines[pk].quantity - done_lines[pk]
            if quantity > left:
                problems.append(
                    _("%(item)s: %(wanted)s coming back, but only %(left)s can still be returned.")
                    % {"item": lines[pk], "wanted": quantity, "left": left}
                )
        for pk, quantity in wanted_gifts.items():
            left = gifts[pk].quantity - done_gifts[pk]
            if quantity > left:
                problems.append(
                    _("%(item)s: %(wanted)s coming back, but only %(left)s can still be returned.")
                    % {"item": gifts[pk], "wanted": quantity, "left": left}
                )
        if problems:
            raise DomainError(" ".join(problems), fields={"items": problems}, code="bad_items")

        before = snapshot(
            order, fields=["status", "paid_amount", "payment_status", "points_awarded"]
        )
        order_return = OrderReturn.objects.create(
            order=order, reason=reason, note=note, refund_amount=refund, created_by=actor
        )
        OrderReturnItem.objects.bulk_create(
            [
                OrderReturnItem(order_return=order_return, line_id=pk, quantity=q)
                for pk, q in wanted_lines.items()
            ]
            + [
                OrderReturnItem(order_return=order_return, gift_id=pk, quantity=q)
                for pk, q in wanted_gifts.items()
            ]
        )

        # Gifts back into stock, rows touched in pk order (no deadlock between two returns).
        restock: dict[int, int] = defaultdict(int)
        for pk, quantity in wanted_gifts.items():
            restock[gifts[pk].gift_id] += quantity
        for gift_id in sorted(restock):
            Gift.objects.filter(pk=gift_id).update(stock=F("stock") + restock[gift_id])

        if refund > ZERO:
            payment = payment_refund_record(
                order=order,
                amount=refund,
                channel=refund_channel,
                payer=order.recipient or str(order.customer),
                note=_("Refund for return #%(id)s") % {"id": order_return.pk},
                actor=actor,
            )
            order_return.refund_payment = payment
            order_return.save(update_fields=["refund_payment"])

        # Points: what the returned goods earned comes back; points spent on returned
        # redeemed gifts go back to the customer.
        kept = {
            pk: ln.quantity - done_lines[pk] - wanted_lines.get(pk, 0) for pk, ln in lines.items()
        }
        points = order_points_reverse(
            order=order,
            remaining_goods=_charged_value(list(lines.values()), kept, order),
            actor=actor,
        )
        points_back = 0
        for pk, quantity in wanted_gifts.items():
            gift = gifts[pk]
            if not gift.points_spent:
                continue
            already = math.floor(gift.points_spent * done_gifts[pk] / gift.quantity)
            now = math.floor(gift.points_spent * (done_gifts[pk] + quantity) / gift.quantity)
            points_back += now - already
        if points_back:
            points_add(
                customer=order.customer,
                delta=points_back,
                reason=_("Points for returned gifts of order %(number)s")
                % {"number": order.number},
                order=order,
                actor=actor,
            )

        complete = all(kept[pk] == 0 for pk in lines) and all(
            gifts[pk].quantity - done_gifts[pk] - wanted_gifts.get(pk, 0) == 0 for pk in gifts
        )
        if complete:
            order_transition(
                order_id=order.pk,
                to_status=OrderStatus.RETURNED,
                actor=actor,
                expected_status=order.status,
                reason=reason,
                note=note or _("Return #%(id)s") % {"id": order_return.pk},
            )
            order.refresh_from_db(fields=["status", "status_at"])

        audit_record(
            actor=actor,
            action=AuditAction.CREATE,
            obj=order_return,
            before={"order": before},
            after={
                **snapshot(order_return),
                "lines": {str(k): v for k, v in wanted_lines.items()},
                "gifts": {str(k): v for k, v in wanted_gifts.items()},
                "gift_stock_restored": {str(k): v for k, v in restock.items()},
                "points_reversed": points["reversed"],
                "points_unrecovered": points["unrecovered"],
                "points_returned": points_back,
                "complete": complete,
                "order": snapshot(
                    order, fields=["status", "paid_amount", "payment_status", "points_awarded"]
                ),
            },
            note=order.number,
        )
    return order_return
