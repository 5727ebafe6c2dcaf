"""Order entry: amounts, discount limits, what may be ordered, where the order came from,
reviewer flags, duplicates, fixing a rejected order, audit."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from crm.choices import CustomerLevel
from crm.models import Address, Customer
from orders.choices import OrderStatus, PaymentMethod, RejectReason, ReviewStage
from orders.models import Order, OrderStatusChange
from orders.selectors import duplicate_candidates
from orders.services.entry import (
    LineInput,
    order_add_lines,
    order_create,
    order_number_next,
    order_update,
)
from orders.services.review import order_review_reject
from tests.crm.factories import beijing_haidian, make_customer
from tests.factories import HotlineFactory, ProductFactory
from tests.orders.entry_factories import (
    customer_with_address,
    discount_limit,
    lines_of,
    product,
    providers,
    take,
)
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden
from tvshop.media.models import AiringSlot

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
D = Decimal


@pytest.fixture
def agent(make_user):
    return make_user("agent")


# --- amounts ----------------------------------------------------------------------------
def test_amounts_are_decimal_lines_times_catalog_price_with_discount(agent):
    # given two products and an agent allowed 10 % off
    discount_limit("agent", "10")
    a, b = product("199.90"), product("0.35")
    customer = customer_with_address()

    # when an order of 3 × a and 7 × b with 50.00 off is taken, cash on delivery
    order = take(agent, customer, (a, 3), (b, 7), discount=D("50.00"))

    # then every amount is an exact Decimal: 599.70 + 2.45 − 50.00
    order.refresh_from_db()
    assert order.goods_amount == D("602.15")
    assert order.discount_amount == D("50.00")
    assert order.freight == D("0.00")
    assert order.total == D("552.15")
    assert order.cod_amount == D("552.15")
    assert all(isinstance(v, Decimal) for v in (order.total, order.cod_amount))
    lines = {ln.sku: ln for ln in order.lines.all()}
    assert lines[a.sku].amount == D("599.70") and lines[a.sku].unit_price == D("199.90")
    assert lines[b.sku].quantity == 7


def test_prepaid_order_collects_nothing_on_delivery(agent):
    order = take(agent, None, (product("99.00"), 2), payment_method=PaymentMethod.PREPAID)
    assert order.total == D("198.00")
    assert order.cod_amount == D("0.00")


def test_freight_comes_from_the_installed_rule_with_the_products_weight(agent):
    # given a freight rule of 8 + 2 per kg (what logistics installs)
    seen = {}

    def rule(courier_id, province_code, weight_kg):
        seen.update(province=province_code, weight=weight_kg)
        return D("8") + D("2") * weight_kg

    with providers(freight=rule):
        heavy = ProductFactory(price=D("100.00"), weight_kg=D("1.250"))
        order = take(agent, None, (heavy, 2))

    # then freight is computed for the delivery province and 2.5 kg
    assert seen == {"province": "44", "weight": D("2.500")}
    assert order.freight == D("13.00")
    assert order.total == D("213.00")
    assert order.cod_amount == D("213.00")


def test_the_same_product_twice_is_one_line(agent):
    p = product()
    order = take(agent, None, (p, 1), (p, 2))
    assert [(ln.product_id, ln.quantity) for ln in order.lines.all()] == [(p.pk, 3)]


# --- discount limit ---------------------------------------------------------------------
def test_discount_above_the_agents_limit_is_refused_and_nothing_saved(agent):
    # given a 5 % limit for agents
    discount_limit("agent", "5")
    customer = customer_with_address()
    p = product("200.00")

    # when the agent gives 10.01 off 200.00
    with pytest.raises(Forbidden) as refused:
        take(agent, customer, (p, 1), discount=D("10.01"))

    # then it is refused on the discount field, and no order exists
    assert refused.value.code == "discount_limit"
    assert "discount" in refused.value.fields
    assert not Order.objects.exists()
    # and exactly the limit is accepted
    assert take(agent, customer, (p, 1), discount=D("10.00")).total == D("190.00")


def test_without_give_discount_no_discount_at_all(make_user):
    # given a reviewer-like user who may take orders but not give discounts
    discount_limit("agent", "50")
    from django.contrib.auth.models import Permission

    user = make_user()
    user.user_permissions.add(
        Permission.objects.get(codename="add_order", content_type__app_label="orders")
    )
    with pytest.raises(Forbidden):
        take(user, None, (product("100.00"), 1), discount=D("0.01"))


# --- what may be ordered ----------------------------------------------------------------
def test_a_product_off_sale_is_refused(agent):
    off = product(on_sale=False)
    with pytest.raises(DomainError) as refused:
        take(agent, None, (off, 1))
    assert refused.value.code == "not_on_sale"
    assert not Order.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, 1000])
def test_bad_quantities_are_refused(agent, quantity):
    with pytest.raises(DomainError) as refused:
        order_create(
            customer=customer_with_address(),
            agent=agent,
            lines=[LineInput(product().pk, quantity)],
            address=Address.objects.first(),
        )
    assert "lines" in refused.value.fields


def test_no_lines_is_refused(agent):
    with pytest.raises(DomainError) as refused:
        order_create(customer=customer_with_address(), agent=agent, lines=[])
    assert refused.value.fields == {"lines": ["Add at least one product."]}


def test_blacklisted_customer_cannot_order(agent):
    # given a blacklisted customer
    customer = customer_with_address(level=CustomerLevel.BLACKLISTED)

    # when an order is taken
    with pytest.raises(Forbidden) as refused:
        take(agent, customer, (product(), 1))

    # then it is refused with a clear code and message
    assert refused.value.code == "blacklisted"
    assert customer.name in refused.value.message
    assert not Order.objects.exists()


def test_address_of_another_customer_is_refused(agent):
    other = customer_with_address()
    with pytest.raises(DomainError) as refused:
        take(agent, customer_with_address(), (product(), 1), address=other.addresses.first())
    assert "address" in refused.value.fields


def test_a_new_address_is_saved_to_the_customer_and_used(agent):
    customer = make_customer()
    order = order_create(
        customer=customer,
        agent=agent,
        lines=lines_of((product(), 1)),
        new_address={
            **beijing_haidian(),
            "street": "中关村大街 27 号",
            "recipient": "李四",
            "phone": "",
            "postal_code": "",
        },
    )
    address = customer.addresses.get()
    assert order.address == address
    assert (order.province_id, order.city_id, order.district_id) == ("11", "1101", "110108")
    assert order.recipient == "李四"
    assert order.street == "中关村大街 27 号"


def test_a_new_address_with_a_district_of_another_city_is_refused(agent):
    chain = beijing_haidian()
    chain["district"] = chain["district"].__class__.objects.get(code="440305")
    with pytest.raises(DomainError) as refused:
        order_create(
            customer=make_customer(),
            agent=agent,
            lines=lines_of((product(), 1)),
            new_address={**chain, "street": "x 1 号"},
        )
    assert "district" in refused.value.fields
    assert not Order.objects.exists() and not Address.objects.exists()


def test_user_without_add_order_cannot_take_orders(make_user):
    with pytest.raises(Forbidden):
        take(make_user("logistics"), None, (product(), 1))


# --- number, source, slot -------------------------------------------------------------
def test_order_numbers_are_readable_and_unique():
    numbers = {order_number_next() for _ in range(50)}
    assert len(numbers) == 50
    today = timezone.localdate().strftime("%Y%m%d")
    assert all(re.fullmatch(rf"SO{today}\d{{6,}}", n) for n in numbers)


def test_order_records_call_hotline_station_slot_and_agent(agent):
    # given a hotline of a station airing an ad right now
    hotline = HotlineFactory()
    now = timezone.now()
    slot = AiringSlot.objects.create(
        station=hotline.station,
        product=product(),
        hotline=hotline,
        start=now - dt.timedelta(minutes=5),
        end=now + dt.timedelta(minutes=5),
    )

    # when an order is taken on a call to that hotline
    order = take(agent, None, (product(), 1), call_uuid="c0ffee-1", hotline=hotline)

    # then the order remembers all of it
    assert order.call_uuid == "c0ffee-1"
    assert order.hotline == hotline
    assert order.station == hotline.station
    assert order.airing_slot == slot
    assert order.agent == agent


def test_slot_that_ended_within_30_minutes_still_counts_but_not_later(agent):
    hotline = HotlineFactory()
    now = timezone.now()
    p = product()

    def slot(start_min, end_min):
        return AiringSlot.objects.create(
            station=hotline.station,
            product=p,
            hotline=hotline,
            start=now + dt.timedelta(minutes=start_min),
            end=now + dt.timedelta(minutes=end_min),
        )

    older = slot(-120, -90)  # ended 90 minutes ago
    recent = slot(-40, -20)  # ended 20 minutes ago

    order = take(agent, None, (p, 1), hotline=hotline, at=now)
    assert order.airing_slot == recent

    order = take(agent, None, (p, 1), hotline=hotline, at=now + dt.timedelta(minutes=15))
    assert order.airing_slot is None  # 35 minutes after the recent one ended
    assert older.pk != recent.pk


def test_source_read_from_the_telephony_call_by_uuid(agent):
    # given a call record of the telephony app on a hotline
    from telephony.models import Call

    hotline = HotlineFactory()
    Call.objects.create(
        uuid="uuid-from-switch",
        direction="inbound",
        caller="+8613900000001",
        hotline=hotline,
        station=hotline.station,
        created_at=timezone.now(),
    )
    # when the desktop passes only the call id
    order = take(agent, None, (product(), 1), call_uuid="uuid-from-switch")
    # then hotline and station come from the call
    assert order.hotline == hotline
    assert order.station == hotline.station


# --- flags ------------------------------------------------------------------------------
def test_flags_vip_new_customer_large_amount_address_incomplete(agent, settings):
    settings.ORDERS_LARGE_AMOUNT = "1000.00"
    vip = customer_with_address(level=CustomerLevel.VIP, street="某某路")

    first = take(agent, vip, (product("999.99"), 1))
    assert first.is_vip and first.is_new_customer
    assert not first.is_large_amount
    assert first.address_incomplete  # no house number

    second = take(agent, vip, (product("1000.00"), 1))
    assert not second.is_new_customer
    assert second.is_large_amount


def test_duplicate_flag_and_candidates_by_customer_phone_and_address(agent, settings):
    settings.ORDERS_DUPLICATE_DAYS = 7
    customer = customer_with_address()
    first = take(agent, customer, (product(), 1))
    assert not first.is_duplicate

    second = take(agent, customer, (product(), 1))
    assert second.is_duplicate and second.duplicate_of == first

    # the same phone number on another customer's order counts too
    stranger = make_customer()
    other = make_order(
        customer=stranger, status=OrderStatus.SUBMITTED, phone=customer.phones.first().number
    )
    assert other in duplicate_candidates(customer=customer)
    # shipped ones and old ones do not
    shipped = make_order(customer=customer, status=OrderStatus.SHIPPED)
    Order.objects.filter(pk=first.pk).update(created_at=timezone.now() - dt.timedelta(days=8))
    found = set(duplicate_candidates(customer=customer))
    assert shipped not in found and first not in found and second in found


def test_add_lines_to_an_existing_order_instead_of_a_duplicate(agent):
    # given an open order for 1 × a
    customer = customer_with_address()
    a, b = product("100.00"), product("30.00")
    order = take(agent, customer, (a, 1))

    # when the agent adds 2 × a and 1 × b to it
    order = order_add_lines(order=order, actor=agent, lines=lines_of((a, 2), (b, 1)))

    # then lines merge, amounts are recomputed, no second order exists, it is audited
    assert {(ln.sku, ln.quantity, ln.amount) for ln in order.lines.all()} == {
        (a.sku, 3, D("300.00")),
        (b.sku, 1, D("30.00")),
    }
    assert order.goods_amount == D("330.00") and order.total == D("330.00")
    assert order.cod_amount == D("330.00")
    assert Order.objects.count() == 1
    entry = AuditEntry.objects.filter(object_id=str(order.pk), action="update").get()
    assert entry.before["total"] == "100.00" and entry.after["total"] == "330.00"


def test_lines_cannot_be_added_to_an_exported_order(agent):
    order = make_order(status=OrderStatus.EXPORTED, agent=agent)
    with pytest.raises(Conflict):
        order_add_lines(order=order, actor=agent, lines=lines_of((product(), 1)))


# --- audit and trail ----------------------------------------------------------------------
def test_create_is_audited_with_lines_and_a_submitted_trail_row(agent):
    order = take(agent, None, (product("10.00"), 2))
    entry = AuditEntry.objects.get(action="create", object_id=str(order.pk))
    assert entry.actor == agent
    assert entry.after["total"] == "20.00"
    assert entry.after["lines"][0]["qty"] == 2
    change = OrderStatusChange.objects.get(order=order)
    assert (change.from_status, change.to_status, change.actor) == ("", "submitted", agent)


# --- fixing a rejected order ------------------------------------------------------------
def test_rejected_order_is_fixed_and_resubmitted_by_its_agent(agent, make_user):
    reviewer = make_user("reviewer1")
    customer = customer_with_address()
    a, b = product("100.00"), product("50.00")
    order = take(agent, customer, (a, 1))
    order_review_reject(
        order_id=order.pk,
        reviewer=reviewer,
        stage=ReviewStage.FIRST,
        reason=RejectReason.PRICE_WRONG,
        note="wrong product",
    )

    # when the agent replaces the lines and resubmits
    order = order_update(
        order=order,
        actor=agent,
        lines=lines_of((b, 2)),
        address=customer.addresses.first(),
        remark="fixed",
    )

    # then the order is submitted again with the new lines and amounts, audited
    assert order.status == OrderStatus.SUBMITTED
    order.refresh_from_db()
    assert [(ln.sku, ln.quantity) for ln in order.lines.all()] == [(b.sku, 2)]
    assert order.total == D("100.00") and order.remark == "fixed"
    assert AuditEntry.objects.filter(object_id=str(order.pk), action="update").exists()
    assert list(order.status_changes.values_list("to_status", flat=True)) == [
        "submitted",
        "rejected",
        "submitted",
    ]


def test_another_agent_cannot_fix_the_order(agent, make_user):
    order = make_order(status=OrderStatus.REJECTED, agent=agent)
    with pytest.raises(Forbidden):
        order_update(
            order=order,
            actor=make_user("agent"),
            lines=lines_of((product(), 1)),
            address=None,
        )


def test_only_rejected_orders_can_be_updated(agent):
    order = take(agent, None, (product(), 1))
    with pytest.raises(Conflict):
        order_update(
            order=order, actor=agent, lines=lines_of((product(), 1)), address=order.address
        )


def test_customer_merged_away_cannot_order(agent):
    survivor = customer_with_address()
    gone = customer_with_address()
    Customer.objects.filter(pk=gone.pk).update(merged_into=survivor)
    with pytest.raises(Conflict):
        take(agent, gone, (product(), 1))
