"""Gifts and points at order entry: which gift rules an order qualifies for, reserving
gift stock and spending points when the order is saved, giving both back when it is
cancelled or its gifts are changed.

Locks are taken in one order everywhere (the customer row, then gift rows by primary
key) so two orders competing for the last gifts or the same points never deadlock: one
waits, then sees the stock or balance the other left.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Customer
from orders.choices import GiftRuleKind
from orders.models import GiftRule, Order, OrderGift
from tvshop.catalog.models import Gift
from tvshop.errors import DomainError


@dataclass
class RuleOption:
    """A gift rule as the entry form shows it: usable now or why not."""

    rule: GiftRule
    eligible: bool
    why_not: str = ""
    selected: bool = False


@dataclass
class GiftPlan:
    """The gifts chosen for an order, checked: rules, quantities per gift, points."""

    rules: list[GiftRule] = field(default_factory=list)
    points: int = 0

    def quantities(self) -> dict[int, int]:
        wanted: dict[int, int] = defaultdict(int)
        for rule in self.rules:
            wanted[rule.gift_id] += rule.gift_quantity
        return dict(wanted)


def rules_active(now=None):
    now = now or timezone.now()
    return (
        GiftRule.objects.filter(active=True, gift__on_offer=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=now))
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gte=now))
        .select_related("gift", "product")
    )


def rule_why_not(
    rule: GiftRule,
    *,
    quantities: dict[int, int],
    goods_amount: Decimal,
    points_left: int,
    check_stock: bool = True,
) -> str:
    """Why ``rule`` does not apply to an order with these product quantities and goods
    amount (after discount), or "" when it does. Stock is checked when reserving."""
    if rule.kind == GiftRuleKind.BY_PRODUCT:
        if rule.product_id is None or quantities.get(rule.product_id, 0) < rule.min_quantity:
            return _("Needs %(qty)s × %(product)s.") % {
                "qty": rule.min_quantity,
                "product": rule.product.name if rule.product_id else "?",
            }
    elif rule.kind == GiftRuleKind.BY_AMOUNT:
        if rule.min_amount is None or goods_amount < rule.min_amount:
            return _("Needs an order of at least ¥%(amount)s.") % {"amount": rule.min_amount}
    elif rule.kind == GiftRuleKind.BY_POINTS and rule.points_cost > points_left:
        return _("Needs %(points)s points; the customer has %(left)s.") % {
            "points": rule.points_cost,
            "left": points_left,
        }
    if check_stock and rule.gift.stock < rule.gift_quantity:
        return _("Out of stock.")
    return ""


def gift_options(
    *,
    customer: Customer,
    quantities: dict[int, int],
    goods_amount: Decimal,
    selected_ids: set[int] | None = None,
    now=None,
) -> list[RuleOption]:
    """Every active gift rule, marked usable or not, for the entry form."""
    selected_ids = selected_ids or set()
    options = []
    for rule in rules_active(now).order_by("kind", "name", "pk"):
        why = rule_why_not(
            rule,
            quantities=quantities,
            goods_amount=goods_amount,
            points_left=customer.points_balance,
        )
        options.append(
            RuleOption(rule=rule, eligible=not why, why_not=why, selected=rule.pk in selected_ids)
        )
    return options


def gift_plan(
    *,
    rule_ids: list[int],
    quantities: dict[int, int],
    goods_amount: Decimal,
    points_balance: int,
    now=None,
) -> GiftPlan:
    """Check the chosen rules against the order; ``DomainError`` on the ``gifts`` field
    names every rule that does not apply. Points are checked against the balance given
    (the caller passes the locked customer's balance)."""
    ids = list(dict.fromkeys(int(i) for i in rule_ids))
    if not ids:
        return GiftPlan()
    rules = {r.pk: r for r in rules_active(now).filter(pk__in=ids)}
    problems = []
    plan = GiftPlan()
    for rule_id in ids:
        rule = rules.get(rule_id)
        if rule is None:
            problems.append(_("Gift rule #%(id)s is not available now.") % {"id": rule_id})
            continue
        why = rule_why_not(
            rule,
            quantities=quantities,
            goods_amount=goods_amount,
            points_left=points_balance - plan.points,
            check_stock=False,
        )
        if why:
            problems.append(f"{rule.name}: {why}")
            continue
        plan.rules.append(rule)
        if rule.kind == GiftRuleKind.BY_POINTS:
            plan.points += rule.points_cost
    if problems:
        raise DomainError(" ".join(problems), fields={"gifts": problems}, code="gift_rule")
    return plan


def points_move(*, customer: Customer, delta: int, reason: str, order: Order, actor) -> None:
    """Spend (negative) or give back points through the one points service; a shortfall
    is an error on the ``gifts`` field of the entry form."""
    from orders.services.points import points_add

    try:
        points_add(customer=customer, delta=delta, reason=reason, order=order, actor=actor)
    except DomainError as exc:
        raise DomainError(exc.message, fields={"gifts": [exc.message]}, code=exc.code) from exc


def gifts_reserve(*, order: Order, customer: Customer, plan: GiftPlan, actor) -> list[OrderGift]:
    """Reserve stock for the plan's gifts and spend its points, for a saved order.

    Must run inside the caller's transaction with ``customer`` locked. Gift rows are
    locked by primary key; if any gift has too little stock left, ``DomainError`` on
    ``gifts`` and nothing is reserved (the caller's transaction rolls back).
    """
    if not plan.rules:
        return []
    wanted = plan.quantities()
    gifts = {g.pk: g for g in Gift.objects.select_for_update().filter(pk__in=wanted).order_by("pk")}
    short = [
        _("%(gift)s: only %(stock)s left.") % {"gift": gifts[gid].name, "stock": gifts[gid].stock}
        for gid, qty in wanted.items()
        if gifts[gid].stock < qty
    ]
    if short:
        raise DomainError(" ".join(short), fields={"gifts": short}, code="gift_stock")
    for gid, qty in wanted.items():
        Gift.objects.filter(pk=gid).update(stock=F("stock") - qty, updated_at=timezone.now())
    rows = [
        OrderGift(
            order=order,
            gift=gifts[rule.gift_id],
            rule=rule,
            sku=gifts[rule.gift_id].sku,
            name=gifts[rule.gift_id].name,
            quantity=rule.gift_quantity,
            value=Decimal("0.00"),
            points_spent=rule.points_cost if rule.kind == GiftRuleKind.BY_POINTS else 0,
        )
        for rule in plan.rules
    ]
    OrderGift.objects.bulk_create(rows)
    if plan.points:
        points_move(
            customer=customer,
            delta=-plan.points,
            reason=_("Redeemed for gifts on order %(number)s") % {"number": order.number},
            order=order,
            actor=actor,
        )
    return rows


def gifts_release(*, order: Order, actor, reason: str, delete: bool) -> None:
    """Give back the order's gift stock and refund the points its gifts cost.

    ``delete``: remove the gift rows too (the gifts are being replaced); otherwise they
    stay on the order as history (cancellation). Runs in the caller's transaction.
    """
    with transaction.atomic():
        gifts = list(order.gifts.all())
        points = sum(g.points_spent for g in gifts)
        customer = Customer.objects.select_for_update().get(pk=order.customer_id)
        back: dict[int, int] = defaultdict(int)
        for g in gifts:
            back[g.gift_id] += g.quantity
        list(Gift.objects.select_for_update().filter(pk__in=back).order_by("pk"))
        for gid, qty in back.items():
            Gift.objects.filter(pk=gid).update(stock=F("stock") + qty, updated_at=timezone.now())
        if points:
            points_move(
                customer=customer,
                delta=points,
                reason=reason,
                order=order,
                actor=actor,
            )
        if delete:
            order.gifts.all().delete()
