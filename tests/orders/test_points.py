"""Points: earned once on delivery, reversed on return, spent without going negative."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections

from crm.models import Customer, PointsEntry
from orders.choices import OrderStatus, ReturnReason
from orders.models import Order
from orders.services.points import order_points_award, points_add, points_for_amount
from orders.services.returns import order_return_create
from orders.services.workflow import order_transition
from tests.crm.factories import give_points, make_customer
from tests.orders.finance_factories import D, add_gift, order_of
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


def deliver(order, actor):
    return order_transition(
        order_id=order.pk, to_status=OrderStatus.DELIVERED, actor=actor, system=True
    )


@pytest.mark.parametrize(
    ("amount", "rate", "points"),
    [("199.99", 1, 199), ("0.99", 1, 0), ("200.00", 1, 200), ("199.00", "0.5", 99), ("10", 2, 20)],
)
def test_points_per_whole_yuan(settings, amount, rate, points):
    settings.ORDERS_POINTS_PER_YUAN = rate
    assert points_for_amount(D(amount)) == points


def test_delivery_awards_points_exactly_once(make_user):
    # given a shipped order of 2 × 99.50 for a customer with no points
    clerk = make_user("logistics")
    order = order_of(OrderStatus.SHIPPED, ("99.50", 2))

    # when it is delivered, and the award is run again (a replayed import)
    deliver(order, clerk)
    again = order_points_award(order_id=order.pk, actor=clerk)

    # then 199 points were awarded once, on the ledger with the order number
    order.refresh_from_db()
    customer = Customer.objects.get(pk=order.customer_id)
    assert order.points_awarded == 199
    assert again == 0
    assert customer.points_balance == 199
    entries = PointsEntry.objects.filter(customer=customer, order_ref=order.number)
    assert [(e.delta, e.balance_after, e.created_by) for e in entries] == [(199, 199, clerk)]
    # and delivering again is not a move the table allows
    with pytest.raises(Conflict):
        deliver(order, clerk)
    customer.refresh_from_db()
    assert customer.points_balance == 199


def test_discount_earns_nothing_and_freight_earns_nothing(make_user):
    clerk = make_user("logistics")
    order = order_of(
        OrderStatus.SHIPPED, ("100.00", 1), freight=D("15.00"), discount_amount=D("10.50")
    )

    deliver(order, clerk)

    order.refresh_from_db()
    assert order.points_awarded == 89  # 100.00 − 10.50 = 89.50 → 89


def test_refused_order_earns_nothing(make_user):
    clerk = make_user("logistics")
    order = order_of(OrderStatus.SHIPPED)

    order_transition(order_id=order.pk, to_status=OrderStatus.REFUSED, actor=clerk, system=True)

    assert not PointsEntry.objects.exists()


def test_full_return_reverses_the_points(make_user):
    clerk, finance = make_user("logistics"), make_user("finance")
    order = order_of(OrderStatus.SHIPPED, ("120.00", 1))
    deliver(order, clerk)

    order_return_create(
        order=order,
        reason=ReturnReason.QUALITY,
        items=[(order.lines.get(), 1)],
        note="",
        refund_amount=D("0"),
        refund_channel="",
        actor=finance,
    )

    order.refresh_from_db()
    customer = Customer.objects.get(pk=order.customer_id)
    assert order.status == OrderStatus.RETURNED
    assert order.points_awarded == 0
    assert customer.points_balance == 0
    assert list(customer.points.order_by("id").values_list("delta", flat=True)) == [120, -120]


def test_partial_return_reverses_the_share_of_the_returned_goods(make_user):
    clerk, finance = make_user("logistics"), make_user("finance")
    order = order_of(OrderStatus.SHIPPED, ("60.00", 2), ("30.00", 1))
    deliver(order, clerk)
    line = order.lines.get(unit_price=D("60.00"))

    order_return_create(
        order=order,
        reason=ReturnReason.CHANGED_MIND,
        items=[(line, 1)],
        note="",
        refund_amount=D("0"),
        refund_channel="",
        actor=finance,
    )

    order.refresh_from_db()
    assert order.points_awarded == 90
    assert Customer.objects.get(pk=order.customer_id).points_balance == 90


def test_points_already_spent_are_not_taken_below_zero(make_user):
    clerk, finance = make_user("logistics"), make_user("finance")
    order = order_of(OrderStatus.SHIPPED, ("100.00", 1))
    deliver(order, clerk)
    points_add(customer=order.customer, delta=-70, reason="redeemed", actor=clerk)

    order_return_create(
        order=order,
        reason=ReturnReason.QUALITY,
        items=[(order.lines.get(), 1)],
        note="",
        refund_amount=D("0"),
        refund_channel="",
        actor=finance,
    )

    customer = Customer.objects.get(pk=order.customer_id)
    assert customer.points_balance == 0
    last = customer.points.order_by("-id").first()
    assert last.delta == -30
    assert "70" in last.reason
    entry = AuditEntry.objects.filter(content_type__model="orderreturn").get()
    assert (entry.after["points_reversed"], entry.after["points_unrecovered"]) == (30, 70)


def test_returned_redeemed_gift_gives_its_points_back(make_user):
    finance = make_user("finance")
    order = order_of(OrderStatus.REFUSED, ("10.00", 1))
    order_gift = add_gift(order, quantity=3, points_spent=100)

    for quantity in (1, 1, 1):
        order_return_create(
            order=order,
            reason=ReturnReason.REFUSED,
            items=[(order_gift, quantity)],
            note="",
            refund_amount=D("0"),
            refund_channel="",
            actor=finance,
        )

    customer = Customer.objects.get(pk=order.customer_id)
    assert list(customer.points.order_by("id").values_list("delta", flat=True)) == [33, 33, 34]
    assert customer.points_balance == 100


def test_points_add_refuses_a_negative_balance_and_zero(make_user):
    agent = make_user("agent")
    customer = make_customer()
    give_points(customer, 50)

    with pytest.raises(Conflict) as exc:
        points_add(customer=customer, delta=-51, reason="redeem", actor=agent)
    with pytest.raises(DomainError):
        points_add(customer=customer, delta=0, reason="nothing", actor=agent)

    assert exc.value.code == "points_insufficient"
    customer.refresh_from_db()
    assert customer.points_balance == 50
    assert customer.points.count() == 1


def test_points_add_writes_ledger_and_audit(make_user):
    agent = make_user("agent")
    customer = make_customer()
    order = order_of(OrderStatus.SUBMITTED, customer=customer)

    entry = points_add(customer=customer, delta=25, reason="goodwill", order=order, actor=agent)

    assert customer.points_balance == 25
    assert (entry.balance_after, entry.order_ref, entry.created_by) == (25, order.number, agent)
    audit = AuditEntry.objects.filter(content_type__model="customer", object_id=str(customer.pk))
    assert audit.filter(action=AuditAction.UPDATE, after__points_delta=25).exists()


def test_points_of_a_merged_customer_go_to_the_survivor(make_user):
    agent = make_user("agent")
    survivor, duplicate = make_customer(), make_customer()
    Customer.objects.filter(pk=duplicate.pk).update(merged_into=survivor)

    points_add(customer=duplicate, delta=10, reason="x", actor=agent)

    assert Customer.objects.get(pk=survivor.pk).points_balance == 10
    assert Customer.objects.get(pk=duplicate.pk).points_balance == 0


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_spends_never_overdraw(make_user):
    # given a customer with 100 points and two agents spending 60 at once
    agent = make_user("agent")
    customer = make_customer()
    give_points(customer, 100)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def spend():
        try:
            barrier.wait(timeout=10)
            points_add(customer=Customer(pk=customer.pk), delta=-60, reason="gift", actor=agent)
            outcomes.append("ok")
        except Conflict:
            outcomes.append("refused")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=spend) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # then one wins, one is refused, the balance is 40
    assert sorted(outcomes) == ["ok", "refused"]
    customer.refresh_from_db()
    assert customer.points_balance == 40
    assert sum(customer.points.values_list("delta", flat=True)) == 40


def test_awarding_follows_a_settings_rate(make_user, settings):
    settings.ORDERS_POINTS_PER_YUAN = Decimal("2")
    clerk = make_user("logistics")
    order = order_of(OrderStatus.SHIPPED, ("10.00", 1))

    deliver(order, clerk)

    assert Order.objects.get(pk=order.pk).points_awarded == 20


def test_award_task_awards_missing_points_once():
    # given a delivered order whose points were never awarded (raw rows, no transition)
    from orders.tasks import order_points_award_task

    order = order_of(OrderStatus.DELIVERED, ("30.00", 1))
    shipped = order_of(OrderStatus.SHIPPED, ("30.00", 1))

    # when the task runs twice over both
    first = order_points_award_task.apply(args=[[order.pk, shipped.pk]]).get()
    second = order_points_award_task.apply(args=[[order.pk, shipped.pk]]).get()

    # then only the delivered one earned, once, recorded as a system action
    assert (first, second) == (30, 0)
    assert Customer.objects.get(pk=order.customer_id).points_balance == 30
    assert Customer.objects.get(pk=shipped.customer_id).points_balance == 0
    assert PointsEntry.objects.get(order_ref=order.number).created_by is None
