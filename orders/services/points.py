"""Customer points (积分) moved by orders: spent at entry, earned on delivery, reversed on return.

``points_add`` is the one function that changes ``Customer.points_balance`` for orders: it
locks the customer row, refuses a balance below zero and writes a ``crm.PointsEntry`` (the
ledger shown on the customer page) and an audit entry in the caller's transaction. Order
entry spends points through it (negative ``delta``); this module earns and reverses.

The rule: ``ORDERS_POINTS_PER_YUAN`` points (default 1; a Decimal such as ``0.5`` works)
per whole yuan of the goods actually charged (goods − discount; freight earns nothing),
rounded down. Points are awarded once, when the order reaches DELIVERED (registered with
``orders.services.workflow.on_transition`` in ``OrdersConfig.ready``); ``Order.points_awarded``
holds what the order has earned and still holds, so a second delivery (or a replayed
import) never awards twice. A return takes back what the goods that came back had earned;
if the customer already spent them, only the balance left is taken (never below zero) and
the ledger entry says how many could not be recovered.
"""

from __future__ import annotations

import math
from decimal import Decimal

from django.conf import settings
from django.db import models, transaction
from django.utils.translation import gettext as _

from crm.models import Customer, PointsEntry
from orders.choices import OrderStatus
from orders.models import Order
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record
from tvshop.errors import Conflict, DomainError, NotFound


def points_rate() -> Decimal:
    return Decimal(str(getattr(settings, "ORDERS_POINTS_PER_YUAN", 1)))


def points_for_amount(amount: Decimal) -> int:
    """Points earned by ``amount`` yuan of goods: whole yuan × rate, rounded down."""
    if amount <= 0:
        return 0
    return math.floor(Decimal(math.floor(amount)) * points_rate())


def _actor(actor):
    return actor if getattr(actor, "is_authenticated", False) else None


def points_add(
    *,
    customer: Customer,
    delta: int,
    reason: str,
    order: Order | None = None,
    actor,
) -> PointsEntry:
    """Change a customer's points by ``delta`` (negative: spend) and record it.

    Locks the customer row; refuses a result below zero (``Conflict`` code
    ``points_insufficient``) and a zero change. Points of a customer merged into another
    go to the survivor. ``customer.points_balance`` is refreshed on the caller's object.
    """
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0:
        raise DomainError(_("The points change must be a whole number other than zero."))
    with transaction.atomic():
        target_id = customer.pk
        for _hop in range(5):  # follow merges to the surviving customer
            locked = Customer.objects.select_for_update().filter(pk=target_id).first()
            if locked is None:
                raise NotFound(_("Customer not found."))
            if not locked.merged_into_id:
                break
            target_id = locked.merged_into_id
        before = locked.points_balance
        after = before + delta
        if after < 0:
            raise Conflict(
                _("Not enough points: the balance is %(balance)s, %(needed)s are needed.")
                % {"balance": before, "needed": -delta},
                fields={"points": [_("Not enough points.")]},
                code="points_insufficient",
            )
        locked.points_balance = after
        locked.save(update_fields=["points_balance", "updated_at"])
        entry = PointsEntry.objects.create(
            customer=locked,
            delta=delta,
            balance_after=after,
            reason=str(reason)[:200],
            order_ref=order.number if order is not None else "",
            created_by=_actor(actor),
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=locked,
            before={"points_balance": before},
            after={
                "points_balance": after,
                "points_delta": delta,
                **({"order": order.number} if order is not None else {}),
            },
            note=str(reason),
        )
    if customer.pk == locked.pk:
        customer.points_balance = after
    return entry


def order_points_award(*, order_id: int, actor) -> int:
    """Award the points of a delivered order, once. Returns the points awarded now (0 when
    the order is not delivered, already has its points, or earns none)."""
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            raise NotFound(_("Order not found."))
        if order.status != OrderStatus.DELIVERED or order.points_awarded:
            return 0
        points = points_for_amount(order.goods_amount - order.discount_amount)
        if points <= 0:
            return 0
        points_add(
            customer=order.customer,
            delta=points,
            reason=_("Earned by order %(number)s") % {"number": order.number},
            order=order,
            actor=actor,
        )
        order.points_awarded = points
        order.save(update_fields=["points_awarded", "updated_at"])
    return points


def order_points_reverse(*, order: Order, remaining_goods: Decimal, actor) -> dict:
    """Take back the points that returned goods had earned (call inside the return's
    transaction with ``order`` locked). ``remaining_goods``: the charged value of the goods
    the customer keeps. Returns ``{"reversed": n, "unrecovered": m}``."""
    keep = min(points_for_amount(remaining_goods), order.points_awarded)
    owed = order.points_awarded - keep
    if owed <= 0:
        return {"reversed": 0, "unrecovered": 0}
    customer = Customer.objects.select_for_update().get(pk=order.customer_id)
    while customer.merged_into_id:
        customer = Customer.objects.select_for_update().get(pk=customer.merged_into_id)
    taken = min(owed, customer.points_balance)
    unrecovered = owed - taken
    if taken:
        reason = _("Reversed for the return of order %(number)s") % {"number": order.number}
        if unrecovered:
            reason += _(" (%(n)s already spent, not recovered)") % {"n": unrecovered}
        points_add(customer=customer, delta=-taken, reason=reason, order=order, actor=actor)
    order.points_awarded = keep
    order.save(update_fields=["points_awarded", "updated_at"])
    return {"reversed": taken, "unrecovered": unrecovered}


def _award_on_delivery(*, order, from_status, to_status, actor) -> None:
    if to_status == OrderStatus.DELIVERED:
        order_points_award(order_id=order.pk, actor=actor)
        order.refresh_from_db(fields=["points_awarded"])


def order_points_sweep(*, limit: int = 2000) -> int:
    """Award the points of delivered orders that earn some and have none yet: the repair
    for an award task lost between a courier file's commit and the worker. Returns the
    points awarded."""
    rate = Decimal(points_rate())
    if rate <= 0:
        return 0
    # the smallest charged goods value that earns a point: whole yuan × rate ≥ 1
    least = max(Decimal(1), Decimal(math.ceil(Decimal(1) / rate)))
    ids = list(
        Order.objects.filter(
            status=OrderStatus.DELIVERED,
            points_awarded=0,
            goods_amount__gte=models.F("discount_amount") + least,
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(order_points_award(order_id=pk, actor=None) for pk in ids)


def _award_on_delivery_many(*, order_ids, from_status, to_status, actor) -> None:
    """Set-based deliveries (a courier status file): the points are awarded after the
    file's transaction commits, by a task per chunk. ``order_points_award`` is idempotent
    and re-checks each order, so a later return or a retry never awards twice."""
    if to_status != OrderStatus.DELIVERED:
        return
    from orders.tasks import order_points_award_task

    for start in range(0, len(order_ids), 500):
        chunk = list(order_ids[start : start + 500])
        transaction.on_commit(lambda ids=chunk: order_points_award_task.delay(ids))


def points_hooks_install() -> None:
    """Called from ``OrdersConfig.ready``."""
    from orders.services.workflow import on_transition

    on_transition(_award_on_delivery, many=_award_on_delivery_many)
