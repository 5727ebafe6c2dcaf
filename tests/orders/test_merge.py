"""Merging orders: who may, which orders, what the survivor becomes, and concurrency."""

from __future__ import annotations

import math
import threading
import time
from decimal import Decimal

import pytest
from django.db import close_old_connections, connections

from orders import hooks
from orders.choices import OrderStatus, PaymentChannel
from orders.models import Order, OrderStatusChange
from orders.services.merge import order_merge
from orders.services.payments import payment_record
from tests.crm.factories import beijing_haidian, make_customer
from tests.factories import GiftFactory, ProductFactory
from tests.orders.factories import make_order
from tests.orders.finance_factories import D, add_gift, an_hour_ago
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def reviewer(make_user):
    return make_user("reviewer2")


@pytest.fixture
def weight_freight():
    """Freight of 10.00 per started kilogram, to see it charged once for the whole."""

    def freight(courier_id, province_code, weight_kg):
        return Decimal("10.00") * math.ceil(weight_kg)

    hooks.freight_provider_set(freight)
    yield
    hooks.freight_provider_set(None)


def siblings(n=2, *, customer=None, status=OrderStatus.SUBMITTED, **fields):
    customer = customer or make_customer()
    return [make_order(customer=customer, status=status, **fields) for _ in range(n)]


def test_two_orders_become_one_with_lines_gifts_and_amounts_combined(reviewer, weight_freight):
    # given two orders of one customer to one address, sharing one product at one price
    customer = make_customer()
    tv = ProductFactory(price=D("999.00"), weight_kg=D("1.2"))
    pan = ProductFactory(price=D("199.00"), weight_kg=D("0.5"))
    gift = GiftFactory(stock=10)
    older = make_order(
        customer=customer,
        status=OrderStatus.FIRST_APPROVED,
        products=[(tv, 1, D("999.00"))],
        freight=D("20.00"),
        discount_amount=D("9.00"),
    )
    newer = make_order(
        customer=customer,
        status=OrderStatus.SUBMITTED,
        products=[(tv, 2, D("999.00")), (pan, 1, D("199.00")), (pan, 1, D("149.00"))],
        freight=D("10.00"),
    )
    add_gift(older, gift=gift, quantity=1)
    add_gift(newer, gift=gift, quantity=2)

    # when a second reviewer merges them
    survivor = order_merge(orders=[newer, older], actor=reviewer)

    # then the older order holds everything, amounts recomputed with freight once
    assert survivor.pk == older.pk
    survivor.refresh_from_db()
    lines = {(ln.sku, ln.unit_price): (ln.quantity, ln.amount) for ln in survivor.lines.all()}
    assert lines == {
        (tv.sku, D("999.00")): (3, D("2997.00")),
        (pan.sku, D("199.00")): (1, D("199.00")),
        (pan.sku, D("149.00")): (1, D("149.00")),
    }
    assert [(g.gift_id, g.quantity) for g in survivor.gifts.all()] == [(gift.pk, 3)]
    assert survivor.goods_amount == D("3345.00")
    assert survivor.discount_amount == D("9.00")
    assert survivor.freight == D("50.00")  # 3×1.2 + 2×0.5 = 4.6 kg → 5 kg
    assert survivor.total == D("3386.00")
    assert survivor.cod_amount == D("3386.00")
    assert survivor.status == OrderStatus.FIRST_APPROVED
    newer.refresh_from_db()
    assert newer.status == OrderStatus.MERGED
    assert newer.merged_into_id == survivor.pk
    assert newer.lines.count() == 3  # its own lines stay as the record
    gift.refresh_from_db()
    assert gift.stock == 7  # reservation unchanged


def test_merge_is_audited_and_the_merged_order_has_a_status_change(reviewer):
    a, b = siblings(2)

    order_merge(orders=[a, b], actor=reviewer)

    entry = AuditEntry.objects.get(action=AuditAction.MERGE, object_id=str(a.pk))
    assert entry.actor == reviewer
    assert entry.after["merged"] == [b.number]
    assert set(entry.before) == {a.number, b.number}
    change = OrderStatusChange.objects.get(order=b, to_status=OrderStatus.MERGED)
    assert change.actor == reviewer
    assert a.number in change.note


def test_three_orders_merge_into_the_oldest(reviewer):
    a, b, c = siblings(3)

    survivor = order_merge(orders=[c.pk, a.pk, b.pk], actor=reviewer)

    assert survivor.pk == a.pk
    assert set(Order.objects.filter(merged_into=a).values_list("pk", flat=True)) == {b.pk, c.pk}
    survivor.refresh_from_db()
    assert survivor.goods_amount == D("597.00")


def test_different_address_is_refused(reviewer):
    customer = make_customer()
    home = make_order(customer=customer, status=OrderStatus.SUBMITTED)
    office = make_order(
        customer=customer, status=OrderStatus.SUBMITTED, divisions=beijing_haidian()
    )

    with pytest.raises(Conflict) as exc:
        order_merge(orders=[home, office], actor=reviewer)

    assert exc.value.code == "merge_refused"
    assert "addresses differ" in exc.value.message
    office.refresh_from_db()
    assert office.status == OrderStatus.SUBMITTED and office.merged_into_id is None


def test_different_street_is_refused_but_spacing_is_not_a_difference(reviewer):
    customer = make_customer()
    a = make_order(customer=customer, status=OrderStatus.SUBMITTED, street="科技园 1 号")
    b = make_order(customer=customer, status=OrderStatus.SUBMITTED, street="科技园1号")
    c = make_order(customer=customer, status=OrderStatus.SUBMITTED, street="科技园 2 号")

    with pytest.raises(Conflict):
        order_merge(orders=[a, c], actor=reviewer)
    assert order_merge(orders=[a, b], actor=reviewer).pk == a.pk


def test_different_customers_or_payment_methods_are_refused(reviewer):
    x, y = make_order(status=OrderStatus.SUBMITTED), make_order(status=OrderStatus.SUBMITTED)
    customer = make_customer()
    cod = make_order(customer=customer, status=OrderStatus.SUBMITTED)
    prepaid = make_order(customer=customer, status=OrderStatus.SUBMITTED, payment_method="prepaid")

    with pytest.raises(Conflict) as customers:
        order_merge(orders=[x, y], actor=reviewer)
    with pytest.raises(Conflict) as methods:
        order_merge(orders=[cod, prepaid], actor=reviewer)

    assert "different customers" in customers.value.message
    assert "payment methods" in methods.value.message


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.EXPORTED,
        OrderStatus.SHIPPED,
        OrderStatus.DELIVERED,
        OrderStatus.CANCELLED,
        OrderStatus.MERGED,
    ],
)
def test_exported_or_closed_orders_are_refused(reviewer, status):
    customer = make_customer()
    open_order = make_order(customer=customer, status=OrderStatus.SUBMITTED)
    other = make_order(customer=customer, status=status)

    with pytest.raises(Conflict) as exc:
        order_merge(orders=[open_order, other], actor=reviewer)

    assert other.number in exc.value.message
    assert not Order.objects.filter(merged_into__isnull=False).exists()
    assert not OrderStatusChange.objects.exists()


def test_one_order_is_not_a_merge(reviewer):
    (a,) = siblings(1)
    with pytest.raises(DomainError) as exc:
        order_merge(orders=[a, a.pk], actor=reviewer)
    assert exc.value.code == "merge_too_few"


def test_without_merge_permission_nothing_changes(make_user):
    agent = make_user("agent")
    a, b = siblings(2)

    with pytest.raises(Forbidden):
        order_merge(orders=[a, b], actor=agent)

    b.refresh_from_db()
    assert b.status == OrderStatus.SUBMITTED
    assert a.lines.count() == 1


def test_payments_move_to_the_survivor(reviewer, make_user):
    finance = make_user("finance")
    a, b = siblings(2, payment_method="prepaid")
    payment_record(
        order=b,
        payer="张三",
        channel=PaymentChannel.ONLINE,
        amount=D("199.00"),
        paid_at=an_hour_ago(),
        reference="W1",
        note="",
        actor=finance,
    )

    survivor = order_merge(orders=[a, b], actor=reviewer)

    survivor.refresh_from_db()
    assert survivor.paid_amount == D("199.00")
    assert survivor.payment_status == "part_paid"
    assert survivor.cod_amount == D("0.00")
    b.refresh_from_db()
    assert b.paid_amount == D("199.00")  # its own figure, frozen as merged


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_merges_of_overlapping_orders_do_not_corrupt(make_user):
    # given orders 1, 2, 3 of one customer, and merges [1, 2] and [2, 3] at once
    reviewers = [make_user("reviewer2"), make_user("reviewer2")]
    o1, o2, o3 = siblings(3)
    outcomes: dict[str, object] = {}

    # order 2 is held locked so that both merges are waiting for it when it is released
    holder = connections.create_connection("default")
    holder.connect()
    holder.set_autocommit(False)
    with holder.cursor() as cur:
        cur.execute("SELECT id FROM orders_order WHERE id = %s FOR UPDATE", [o2.pk])

    def merge(name, ids, reviewer):
        try:
            outcomes[name] = order_merge(orders=ids, actor=reviewer).pk
        except Conflict as exc:
            outcomes[name] = exc.code
        finally:
            close_old_connections()

    threads = [
        threading.Thread(target=merge, args=("a", [o1.pk, o2.pk], reviewers[0])),
        threading.Thread(target=merge, args=("b", [o2.pk, o3.pk], reviewers[1])),
    ]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 10
    with connections["default"].cursor() as cur:
        while time.monotonic() < deadline:
            cur.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()"
            )
            if cur.fetchone()[0] >= 2:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the merges never waited for the lock")
    holder.rollback()
    holder.close()
    for t in threads:
        t.join(timeout=30)

    # then nothing is lost or counted twice: either the second merge was refused (it found
    # order 2 merged) or it went on with order 2 as it found it (already holding order 3);
    # every merged order points at a live order and the live orders hold the 3 units once
    assert set(outcomes) == {"a", "b"}
    assert all(v in (o1.pk, o2.pk, o3.pk, "merge_refused") for v in outcomes.values())
    orders = {o.pk: o for o in Order.objects.all()}
    live = [o for o in orders.values() if o.status != OrderStatus.MERGED]
    merged = [o for o in orders.values() if o.status == OrderStatus.MERGED]
    assert merged and all(orders[o.merged_into_id].status != OrderStatus.MERGED for o in merged)
    assert sum(ln.quantity for o in live for ln in o.lines.all()) == 3
    assert sum(o.goods_amount for o in live) == D("597.00")
    assert all(o.goods_amount == sum(ln.amount for ln in o.lines.all()) for o in live)
    assert orders[o2.pk].status == OrderStatus.MERGED or outcomes["a"] == "merge_refused"
