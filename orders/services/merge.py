"""Merging orders (订单合并): several unshipped orders of one customer to one address → one.

Rules (a refusal names the reason and changes nothing):

* at least two different orders, all of the same customer;
* none exported or further along: each is submitted, sent back, first- or second-approved;
* the same delivery: the address copied onto each order (recipient, phone, province, city,
  district, street — spaces ignored) and the same payment method.

What happens, under row locks taken in pk order (two merges of overlapping orders wait for
each other; the second finds an order already merged and is refused):

* the oldest order survives and keeps its number, status, courier and reviews (a merge is
  done by a second reviewer or supervisor, who vouches for the combined order);
* lines with the same SKU and unit price add up their quantities, other lines are copied;
  gifts of the same gift and rule add up likewise (their stock stays reserved: the same
  units now belong to the survivor);
* amounts are recomputed: goods = Σ lines, discounts added, freight charged once for the
  combined weight (``orders.hooks.freight_for``), total, COD amount; points spent add up;
  payments already recorded on the others move to the survivor;
* the others keep their own lines as a record, get ``merged_into`` and move to MERGED
  through ``order_transition``. Statistics count MERGED orders as gone.
"""

from __future__ import annotations

import re
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from orders.choices import OrderStatus, PaymentMethod
from orders.hooks import freight_for
from orders.models import Order, OrderGift, OrderLine, Payment
from orders.services.payments import order_payments_recompute
from orders.services.workflow import order_transition
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError, NotFound

MERGEABLE_STATUSES = (
    OrderStatus.SUBMITTED,
    OrderStatus.REJECTED,
    OrderStatus.FIRST_APPROVED,
    OrderStatus.SECOND_APPROVED,
)
ADDRESS_FIELDS = ("recipient", "phone", "province_id", "city_id", "district_id", "street")
_SPACES = re.compile(r"\s+")
AMOUNT_FIELDS = [
    "goods_amount",
    "discount_amount",
    "freight",
    "total",
    "cod_amount",
    "paid_amount",
    "payment_status",
    "points_spent",
]


def _address_key(order: Order, field: str):
    value = getattr(order, field)
    return _SPACES.sub("", value) if isinstance(value, str) else value


def order_merge_problems(orders: list[Order]) -> list[str]:
    """Why these orders cannot be merged (empty: they can). Pure: no queries."""
    problems: list[str] = []
    if len({o.pk for o in orders}) < 2:
        return [_("Choose at least two different orders.")]
    first = orders[0]
    for order in orders:
        if order.status not in MERGEABLE_STATUSES or order.merged_into_id:
            problems.append(
                _("Order %(number)s is “%(status)s”: only orders not yet exported can be merged.")
                % {"number": order.number, "status": order.get_status_display()}
            )
    if any(o.customer_id != first.customer_id for o in orders):
        problems.append(_("The orders belong to different customers."))
    for field in ADDRESS_FIELDS:
        if any(_address_key(o, field) != _address_key(first, field) for o in orders):
            label = Order._meta.get_field(field.removesuffix("_id")).verbose_name
            problems.append(_("The delivery addresses differ (%(field)s).") % {"field": label})
    if any(o.payment_method != first.payment_method for o in orders):
        problems.append(_("The orders have different payment methods."))
    return problems


def _combine_lines(survivor: Order, others: list[Order]) -> None:
    mine = {(ln.sku, ln.unit_price): ln for ln in survivor.lines.all()}
    new_lines = []
    for order in others:
        for line in order.lines.all():
            key = (line.sku, line.unit_price)
            if key in mine:
                target = mine[key]
                target.quantity += line.quantity
                target.amount = target.unit_price * target.quantity
                target.save(update_fields=["quantity", "amount"])
            else:
                copy = OrderLine(
                    order=survivor,
                    product_id=line.product_id,
                    sku=line.sku,
                    name=line.name,
                    list_price=line.list_price,
                    unit_price=line.unit_price,
                    quantity=line.quantity,
                    amount=line.amount,
                )
                mine[key] = copy
                new_lines.append(copy)
    OrderLine.objects.bulk_create(new_lines)


def _combine_gifts(survivor: Order, others: list[Order]) -> None:
    mine = {(g.gift_id, g.rule_id, g.value): g for g in survivor.gifts.all()}
    new_gifts = []
    for order in others:
        for gift in order.gifts.all():
            key = (gift.gift_id, gift.rule_id, gift.value)
            if key in mine:
                target = mine[key]
                target.quantity += gift.quantity
                target.points_spent += gift.points_spent
                if target.pk:
                    target.save(update_fields=["quantity", "points_spent"])
            else:
                copy = OrderGift(
                    order=survivor,
                    gift_id=gift.gift_id,
                    rule_id=gift.rule_id,
                    sku=gift.sku,
                    name=gift.name,
                    quantity=gift.quantity,
                    value=gift.value,
                    points_spent=gift.points_spent,
                )
                mine[key] = copy
                new_gifts.append(copy)
    OrderGift.objects.bulk_create(new_gifts)


def order_amounts_recompute(order: Order, *, discount: Decimal) -> None:
    """Goods from the lines, freight once for the whole weight, total and COD amount."""
    lines = list(order.lines.select_related("product"))
    goods = sum((ln.amount for ln in lines), Decimal("0.00"))
    weight = sum((ln.product.weight_kg * ln.quantity for ln in lines), Decimal("0"))
    freight = freight_for(
        courier_id=order.courier_id, province_code=order.province_id, weight_kg=weight
    )
    order.goods_amount = goods
    order.discount_amount = min(discount, goods)
    order.freight = Decimal(freight).quantize(Decimal("0.01"))
    order.total = goods - order.discount_amount + order.freight
    order.cod_amount = order.total if order.payment_method == PaymentMethod.COD else Decimal("0.00")


def order_merge(*, orders: list[Order | int], actor) -> Order:
    """Merge ``orders`` into the oldest of them; returns the survivor. See the module
    docstring for the rules. Needs ``orders.merge_order`` (checked by the transition)."""
    ids = sorted({o if isinstance(o, int) else o.pk for o in orders})
    if len(ids) < 2:
        raise DomainError(
            _("Choose at least two different orders."),
            fields={"orders": [_("Choose at least two different orders.")]},
            code="merge_too_few",
        )
    with transaction.atomic():
        locked = list(Order.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if len(locked) != len(ids):
            raise NotFound(_("Order not found."))
        problems = order_merge_problems(locked)
        if problems:
            raise Conflict(" ".join(problems), fields={"orders": problems}, code="merge_refused")
        locked.sort(key=lambda o: (o.created_at, o.pk))
        survivor, others = locked[0], locked[1:]
        before = {o.number: snapshot(o, fields=AMOUNT_FIELDS) for o in locked}
        # Each of the others goes through the transition first: it checks the actor's
        # permission before anything is combined.
        for order in others:
            order_transition(
                order_id=order.pk,
                to_status=OrderStatus.MERGED,
                actor=actor,
                expected_status=order.status,
                note=_("Merged into %(number)s") % {"number": survivor.number},
            )
            order.merged_into = survivor
            order.save(update_fields=["merged_into", "updated_at"])

        _combine_lines(survivor, others)
        _combine_gifts(survivor, others)
        other_ids = [o.pk for o in others]
        Payment.objects.filter(order_id__in=other_ids).update(order=survivor)
        order_amounts_recompute(
            survivor, discount=sum((o.discount_amount for o in locked), Decimal("0.00"))
        )
        survivor.points_spent = sum(o.points_spent for o in locked)
        survivor.is_vip = any(o.is_vip for o in locked)
        survivor.is_new_customer = any(o.is_new_customer for o in locked)
        survivor.address_incomplete = any(o.address_incomplete for o in locked)
        survivor.is_large_amount = survivor.is_large_amount or any(
            o.is_large_amount for o in locked
        )
        # The siblings were probably why it was flagged a duplicate; that is settled now.
        if survivor.duplicate_of_id is None or survivor.duplicate_of_id in other_ids:
            survivor.is_duplicate = False
            survivor.duplicate_of = None
        remarks = [survivor.remark] + [o.remark for o in others]
        survivor.remark = " / ".join(r for r in remarks if r)[:500]
        survivor.save(
            update_fields=[
                "goods_amount",
                "discount_amount",
                "freight",
                "total",
                "cod_amount",
                "points_spent",
                "is_vip",
                "is_new_customer",
                "address_incomplete",
                "is_large_amount",
                "is_duplicate",
                "duplicate_of",
                "remark",
                "updated_at",
            ]
        )
        order_payments_recompute(survivor)
        Order.objects.filter(Q(duplicate_of_id__in=other_ids), ~Q(pk=survivor.pk)).update(
            duplicate_of=survivor
        )
        # Orders merged earlier into one of the others now point at the survivor: a merged
        # order always names a live one.
        Order.objects.filter(merged_into_id__in=other_ids).update(merged_into=survivor)
        audit_record(
            actor=actor,
            action=AuditAction.MERGE,
            obj=survivor,
            before=before,
            after={
                "survivor": survivor.number,
                "merged": [o.number for o in others],
                **snapshot(survivor, fields=AMOUNT_FIELDS),
            },
            note=_("Merged %(others)s into %(number)s")
            % {"others": ", ".join(o.number for o in others), "number": survivor.number},
        )
    return survivor
