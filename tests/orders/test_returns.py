"""Returns: quantity limits, gift stock back, refund record, status, points, audit."""

from __future__ import annotations

import pytest

from orders.choices import OrderStatus, PaymentChannel, PaymentStatus, ReturnReason
from orders.models import OrderReturn, OrderReturnItem, OrderStatusChange, Payment
from orders.services.payments import payment_record
from orders.services.returns import order_return_create
from tests.factories import GiftFactory
from tests.orders.finance_factories import D, add_gift, an_hour_ago, order_of
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import Conflict, DomainError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def finance(make_user):
    return make_user("finance")


def paid(order, amount, actor):
    payment_record(
        order=order,
        payer="张三",
        channel=PaymentChannel.COD,
        amount=D(amount),
        paid_at=an_hour_ago(),
        reference="",
        note="",
        actor=actor,
    )
    order.refresh_from_db()
    return order


def ret(order, items, actor, **kw):
    return order_return_create(
        order=order,
        reason=kw.pop("reason", ReturnReason.QUALITY),
        items=items,
        note=kw.pop("note", "客户退回"),
        refund_amount=kw.pop("refund_amount", D("0.00")),
        refund_channel=kw.pop("refund_channel", ""),
        actor=actor,
    )


def test_refused_order_coming_back_whole_is_returned_and_gift_restocked(finance):
    # given a refused COD order with 2 products and a gift (stock 10 → 9 reserved)
    order = order_of(OrderStatus.REFUSED, ("199.00", 2))
    gift = GiftFactory(stock=10)
    order_gift = add_gift(order, gift=gift, quantity=1)
    line = order.lines.get()
    gift.refresh_from_db()
    assert gift.stock == 9

    # when everything comes back
    order_return = ret(order, [(line, 2), (order_gift, 1)], finance, reason=ReturnReason.REFUSED)

    # then the gift is back in stock and the order is returned, with its trail
    gift.refresh_from_db()
    assert gift.stock == 10
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    change = OrderStatusChange.objects.filter(order=order).latest("id")
    assert (change.from_status, change.to_status, change.actor) == (
        OrderStatus.REFUSED,
        OrderStatus.RETURNED,
        finance,
    )
    assert order_return.items.count() == 2
    assert order_return.refund_payment is None


def test_partial_return_keeps_the_order_delivered_and_limits_what_is_left(finance):
    order = order_of(OrderStatus.DELIVERED, ("50.00", 3))
    line = order.lines.get()

    ret(order, [(line, 2)], finance)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED

    # only one can still come back
    with pytest.raises(DomainError) as exc:
        ret(order, [(line, 2)], finance)
    assert exc.value.code == "bad_items"
    assert "only 1" in exc.value.message
    assert OrderReturn.objects.filter(order=order).count() == 1

    # the last one completes the return
    ret(order, [(line, 1)], finance)
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED


def test_quantity_above_ordered_or_split_over_two_items_is_refused(finance):
    order = order_of(OrderStatus.DELIVERED, ("50.00", 2))
    line = order.lines.get()

    with pytest.raises(DomainError):
        ret(order, [(line, 3)], finance)
    with pytest.raises(DomainError):
        ret(order, [(line, 1), (line, 2)], finance)  # the same line twice adds up

    assert not OrderReturn.objects.exists()
    assert not OrderReturnItem.objects.exists()


@pytest.mark.parametrize("quantity", [0, -1, "1", True])
def test_bad_quantities_are_refused(finance, quantity):
    order = order_of(OrderStatus.DELIVERED)
    with pytest.raises(DomainError):
        ret(order, [(order.lines.get(), quantity)], finance)
    assert not OrderReturn.objects.exists()


def test_an_item_of_another_order_is_refused(finance):
    order = order_of(OrderStatus.DELIVERED)
    other = order_of(OrderStatus.DELIVERED)

    with pytest.raises(DomainError) as exc:
        ret(order, [(other.lines.get(), 1)], finance)

    assert "is not part of order" in exc.value.message
    assert not OrderReturn.objects.exists()


@pytest.mark.parametrize(
    "status",
    [
        OrderStatus.SUBMITTED,
        OrderStatus.SECOND_APPROVED,
        OrderStatus.EXPORTED,
        OrderStatus.SHIPPED,
        OrderStatus.CANCELLED,
        OrderStatus.RETURNED,
        OrderStatus.MERGED,
    ],
)
def test_only_refused_or_delivered_orders_take_returns(finance, status):
    order = order_of(status)
    with pytest.raises(Conflict) as exc:
        ret(order, [(order.lines.get(), 1)], finance)
    assert exc.value.code == "not_returnable"
    assert not OrderReturn.objects.exists()


def test_no_items_and_no_reason_are_refused(finance):
    order = order_of(OrderStatus.DELIVERED)
    with pytest.raises(DomainError) as no_items:
        ret(order, [], finance)
    with pytest.raises(DomainError) as no_reason:
        ret(order, [(order.lines.get(), 1)], finance, reason="whim")
    assert "items" in no_items.value.fields
    assert "reason" in no_reason.value.fields


def test_refund_is_a_negative_payment_and_recomputes_payment_status(finance):
    # given a delivered order paid in full
    order = paid(order_of(OrderStatus.DELIVERED, ("100.00", 2)), "200.00", finance)
    line = order.lines.get()

    # when one item comes back with 100.00 refunded by bank transfer
    order_return = ret(
        order,
        [(line, 1)],
        finance,
        refund_amount=D("100.00"),
        refund_channel=PaymentChannel.BANK_TRANSFER,
    )

    # then a -100.00 record exists and the order is part-paid
    refund = order_return.refund_payment
    assert refund.amount == D("-100.00")
    assert refund.channel == PaymentChannel.BANK_TRANSFER
    order.refresh_from_db()
    assert order.paid_amount == D("100.00")
    assert order.payment_status == PaymentStatus.PART_PAID


def test_refund_larger_than_paid_is_refused_and_nothing_saved(finance):
    order = paid(order_of(OrderStatus.DELIVERED, ("100.00", 1)), "60.00", finance)
    gift = GiftFactory(stock=5)
    order_gift = add_gift(order, gift=gift)

    with pytest.raises(Conflict) as exc:
        ret(
            order,
            [(order.lines.get(), 1), (order_gift, 1)],
            finance,
            refund_amount=D("60.01"),
            refund_channel=PaymentChannel.COD,
        )

    assert exc.value.code == "refund_too_large"
    order.refresh_from_db()
    gift.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED
    assert order.paid_amount == D("60.00")
    assert gift.stock == 4  # not restored: the whole return was rolled back
    assert not OrderReturn.objects.exists()
    assert Payment.objects.filter(amount__lt=0).count() == 0


def test_refund_without_a_method_or_negative_is_refused(finance):
    order = paid(order_of(OrderStatus.DELIVERED, ("100.00", 1)), "100.00", finance)
    with pytest.raises(DomainError) as no_channel:
        ret(order, [(order.lines.get(), 1)], finance, refund_amount=D("10.00"))
    with pytest.raises(DomainError) as negative:
        ret(
            order,
            [(order.lines.get(), 1)],
            finance,
            refund_amount=D("-1.00"),
            refund_channel=PaymentChannel.COD,
        )
    assert "refund_channel" in no_channel.value.fields
    assert "refund_amount" in negative.value.fields
    assert not OrderReturn.objects.exists()


def test_delivered_order_fully_returned_with_a_gift_still_out_stays_delivered(finance):
    order = order_of(OrderStatus.DELIVERED, ("100.00", 1))
    order_gift = add_gift(order, quantity=2)

    ret(order, [(order.lines.get(), 1), (order_gift, 1)], finance)
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED

    ret(order, [(order_gift, 1)], finance)
    order.refresh_from_db()
    assert order.status == OrderStatus.RETURNED


def test_return_is_audited_with_items_stock_and_refund(finance):
    order = paid(order_of(OrderStatus.DELIVERED, ("80.00", 1)), "80.00", finance)
    gift = GiftFactory(stock=3)
    order_gift = add_gift(order, gift=gift)

    order_return = ret(
        order,
        [(order.lines.get(), 1), (order_gift, 1)],
        finance,
        refund_amount=D("80.00"),
        refund_channel=PaymentChannel.BANK_TRANSFER,
    )

    entry = AuditEntry.objects.get(
        action=AuditAction.CREATE,
        content_type__model="orderreturn",
        object_id=str(order_return.pk),
    )
    assert entry.actor == finance
    assert entry.after["gift_stock_restored"] == {str(gift.pk): 1}
    assert entry.after["refund_amount"] == "80.00"
    assert entry.after["complete"] is True
    assert entry.after["order"]["status"] == OrderStatus.RETURNED
    assert entry.before["order"]["status"] == OrderStatus.DELIVERED
    assert AuditEntry.objects.filter(
        action=AuditAction.STATUS, object_id=str(order.pk), content_type__model="order"
    ).exists()


def test_the_same_gift_twice_on_an_order_restocks_both(finance):
    order = order_of(OrderStatus.REFUSED, ("10.00", 1))
    gift = GiftFactory(stock=10)
    first = add_gift(order, gift=gift, quantity=1)
    second = add_gift(order, gift=gift, quantity=2)

    ret(order, [(order.lines.get(), 1), (first, 1), (second, 2)], finance)

    gift.refresh_from_db()
    assert gift.stock == 10
