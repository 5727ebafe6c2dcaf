"""Gifts at order entry: rules by product, amount and points; stock reserved (and the last
one going to exactly one of two concurrent orders); points spent and given back."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections
from django.utils import timezone

from crm.models import Customer, PointsEntry
from orders.choices import GiftRuleKind, OrderStatus, RejectReason, ReviewStage
from orders.models import Order, OrderGift
from orders.services.entry import order_cancel, order_update
from orders.services.gifts import gift_options
from orders.services.review import order_review_reject
from tests.crm.factories import give_points
from tests.factories import GiftFactory
from tests.orders.entry_factories import customer_with_address, gift_rule, lines_of, product, take
from tvshop.catalog.models import Gift
from tvshop.errors import DomainError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
D = Decimal


@pytest.fixture
def agent(make_user):
    return make_user("agent")


def test_product_rule_needs_the_minimum_quantity(agent):
    # given "buy 2 of p, get a gift"
    p = product("100.00")
    rule = gift_rule(GiftRuleKind.BY_PRODUCT, product=p, min_quantity=2, stock=5)

    # when one is bought, the rule does not apply
    with pytest.raises(DomainError) as refused:
        take(agent, None, (p, 1), gifts=[rule.pk])
    assert "gifts" in refused.value.fields
    assert not Order.objects.exists()
    assert Gift.objects.get(pk=rule.gift_id).stock == 5

    # when two are bought, the gift is added at zero and its stock reserved
    order = take(agent, None, (p, 2), gifts=[rule.pk])
    gift = order.gifts.get()
    assert (gift.gift_id, gift.quantity, gift.value) == (rule.gift_id, 1, D("0.00"))
    assert order.total == D("200.00")
    assert Gift.objects.get(pk=rule.gift_id).stock == 4


def test_amount_rule_counts_goods_after_discount(agent):
    from tests.orders.entry_factories import discount_limit

    discount_limit("agent", "10")
    rule = gift_rule(GiftRuleKind.BY_AMOUNT, min_amount=D("500.00"))
    p = product("500.00")
    with pytest.raises(DomainError):
        take(agent, None, (p, 1), gifts=[rule.pk], discount=D("0.01"))
    assert take(agent, None, (p, 1), gifts=[rule.pk]).gifts.count() == 1


def test_inactive_expired_or_not_on_offer_rules_are_not_available(agent):
    p = product()
    past = timezone.now() - dt.timedelta(days=1)
    rules = [
        gift_rule(GiftRuleKind.BY_PRODUCT, product=p, active=False),
        gift_rule(GiftRuleKind.BY_PRODUCT, product=p, valid_until=past),
        gift_rule(GiftRuleKind.BY_PRODUCT, product=p, gift=GiftFactory(on_offer=False)),
    ]
    for rule in rules:
        with pytest.raises(DomainError):
            take(agent, None, (p, 1), gifts=[rule.pk])


def test_not_enough_stock_refuses_the_order_and_keeps_the_stock(agent):
    p = product()
    rule = gift_rule(GiftRuleKind.BY_PRODUCT, product=p, gift_quantity=3, stock=2)
    with pytest.raises(DomainError) as refused:
        take(agent, None, (p, 1), gifts=[rule.pk])
    assert refused.value.code == "gift_stock"
    assert Gift.objects.get(pk=rule.gift_id).stock == 2
    assert not OrderGift.objects.exists()


def test_points_redemption_spends_points_with_a_ledger_entry(agent):
    # given a customer with 300 points and a gift for 200 points
    customer = customer_with_address()
    give_points(customer, 300)
    rule = gift_rule(GiftRuleKind.BY_POINTS, points_cost=200)

    # when the gift is redeemed on an order
    order = take(agent, customer, (product(), 1), gifts=[rule.pk])

    # then 200 points are spent, on the ledger with the order number
    assert Customer.objects.get(pk=customer.pk).points_balance == 100
    assert order.points_spent == 200
    entry = PointsEntry.objects.filter(customer=customer).order_by("-id").first()
    assert (entry.delta, entry.balance_after, entry.order_ref) == (-200, 100, order.number)
    assert order.gifts.get().points_spent == 200


def test_points_redemption_beyond_the_balance_is_refused(agent):
    customer = customer_with_address()
    give_points(customer, 150)
    rule = gift_rule(GiftRuleKind.BY_POINTS, points_cost=100)
    other = gift_rule(GiftRuleKind.BY_POINTS, points_cost=100)

    # two redemptions of 100 with 150 points: refused as a whole
    with pytest.raises(DomainError) as refused:
        take(agent, customer, (product(), 1), gifts=[rule.pk, other.pk])
    assert "gifts" in refused.value.fields
    assert Customer.objects.get(pk=customer.pk).points_balance == 150
    assert Gift.objects.get(pk=rule.gift_id).stock == 10


def test_cancel_gives_back_gift_stock_and_points_in_one_go(agent):
    # given an order with a product gift and a points gift
    customer = customer_with_address()
    give_points(customer, 500)
    p = product()
    by_product = gift_rule(GiftRuleKind.BY_PRODUCT, product=p, stock=3)
    by_points = gift_rule(GiftRuleKind.BY_POINTS, points_cost=300, stock=3)
    order = take(agent, customer, (p, 1), gifts=[by_product.pk, by_points.pk])
    assert Gift.objects.get(pk=by_product.gift_id).stock == 2
    assert Customer.objects.get(pk=customer.pk).points_balance == 200

    # when the agent withdraws it
    order_cancel(order=order, actor=agent, reason=RejectReason.CUSTOMER_CANCELLED)

    # then stock and points are back, the gifts stay on the order as history
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED
    assert Gift.objects.get(pk=by_product.gift_id).stock == 3
    assert Gift.objects.get(pk=by_points.gift_id).stock == 3
    assert Customer.objects.get(pk=customer.pk).points_balance == 500
    assert order.gifts.count() == 2
    assert PointsEntry.objects.filter(customer=customer, delta=300).exists()


def test_fixing_a_rejected_order_swaps_its_gifts(agent, make_user):
    customer = customer_with_address()
    give_points(customer, 100)
    points_rule = gift_rule(GiftRuleKind.BY_POINTS, points_cost=100, stock=1)
    order = take(agent, customer, (product(), 1), gifts=[points_rule.pk])
    order_review_reject(
        order_id=order.pk,
        reviewer=make_user("reviewer1"),
        stage=ReviewStage.FIRST,
        reason=RejectReason.GIFT_WRONG,
    )
    order_update(
        order=order, actor=agent, lines=lines_of((product(), 1)), address=order.address, gifts=[]
    )
    assert Gift.objects.get(pk=points_rule.gift_id).stock == 1
    assert Customer.objects.get(pk=customer.pk).points_balance == 100
    assert not order.gifts.exists()


def test_gift_options_say_why_a_rule_does_not_apply(agent):
    customer = customer_with_address()
    p = product("100.00")
    ok = gift_rule(GiftRuleKind.BY_PRODUCT, product=p)
    needs_points = gift_rule(GiftRuleKind.BY_POINTS, points_cost=10)
    empty = gift_rule(GiftRuleKind.BY_AMOUNT, min_amount=D("1"), stock=0)
    options = {
        o.rule.pk: o
        for o in gift_options(customer=customer, quantities={p.pk: 1}, goods_amount=D("100"))
    }
    assert options[ok.pk].eligible
    assert not options[needs_points.pk].eligible and "points" in options[needs_points.pk].why_not
    assert not options[empty.pk].eligible


@pytest.mark.django_db(transaction=True)
def test_two_orders_for_the_last_gift_one_gets_it(make_user):
    # given one gift left and two agents taking orders that want it at the same moment
    agents = [make_user("agent"), make_user("agent")]
    customers = [customer_with_address(), customer_with_address()]
    p = product()
    rule = gift_rule(GiftRuleKind.BY_PRODUCT, product=p, stock=1)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def order(i):
        try:
            barrier.wait(timeout=10)
            take(agents[i], customers[i], (p, 1), gifts=[rule.pk])
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=order, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # then exactly one order is taken with the gift, the other is refused for stock
    assert sorted(outcomes) == ["gift_stock", "ok"]
    assert Gift.objects.get(pk=rule.gift_id).stock == 0
    assert Order.objects.count() == 1
    assert OrderGift.objects.count() == 1
