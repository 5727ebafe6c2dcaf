"""Payment records: paid amount and status arithmetic in Decimal, refusals, audit."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.choices import OrderStatus, PaymentChannel, PaymentStatus
from orders.models import Order, Payment
from orders.services.payments import payment_record, payment_status_for
from tests.orders.finance_factories import D, an_hour_ago, order_of
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


def pay(order, amount, *, actor, channel=PaymentChannel.BANK_TRANSFER, reference="", **kw):
    return payment_record(
        order=order,
        payer=kw.pop("payer", "张三"),
        channel=channel,
        amount=amount,
        paid_at=kw.pop("paid_at", an_hour_ago()),
        reference=reference,
        note=kw.pop("note", ""),
        actor=actor,
    )


@pytest.mark.parametrize(
    ("paid", "total", "status"),
    [
        ("0.00", "10.00", PaymentStatus.UNPAID),
        ("0.01", "10.00", PaymentStatus.PART_PAID),
        ("9.99", "10.00", PaymentStatus.PART_PAID),
        ("10.00", "10.00", PaymentStatus.PAID),
        ("-5.00", "10.00", PaymentStatus.UNPAID),
        ("0.00", "0.00", PaymentStatus.UNPAID),
    ],
)
def test_payment_status_from_paid_and_total(paid, total, status):
    assert payment_status_for(paid=D(paid), total=D(total)) == status


def test_payments_add_up_exactly_in_decimal(make_user):
    # given an order of 0.30 + 0.30 + 0.40 (floats would not add up to 1.00)
    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED, ("0.30", 1), ("0.30", 1), ("0.40", 1))
    assert order.total == D("1.00")

    # when three payments of 0.10, 0.20 and 0.70 are recorded
    pay(order, D("0.10"), actor=finance)
    order.refresh_from_db()
    assert (order.paid_amount, order.payment_status) == (D("0.10"), PaymentStatus.PART_PAID)
    pay(order, "0.20", actor=finance)
    pay(order, D("0.70"), actor=finance)

    # then the order is paid, to the cent
    order.refresh_from_db()
    assert order.paid_amount == D("1.00")
    assert order.payment_status == PaymentStatus.PAID
    assert isinstance(order.paid_amount, Decimal)


def test_overpayment_is_refused_and_nothing_saved(make_user):
    finance = make_user("finance")
    order = order_of(OrderStatus.SECOND_APPROVED, ("199.00", 1))
    pay(order, D("150.00"), actor=finance)

    with pytest.raises(Conflict) as exc:
        pay(order, D("49.01"), actor=finance)

    assert exc.value.code == "overpayment"
    assert "49.00" in exc.value.message
    assert "amount" in exc.value.fields
    order.refresh_from_db()
    assert order.paid_amount == D("150.00")
    assert order.payments.count() == 1


def test_duplicate_reference_for_the_same_method_is_refused(make_user):
    finance = make_user("finance")
    first, second = order_of(OrderStatus.DELIVERED), order_of(OrderStatus.DELIVERED)
    pay(first, D("10.00"), actor=finance, reference="BANK-001")

    with pytest.raises(Conflict) as exc:
        pay(second, D("10.00"), actor=finance, reference=" BANK-001 ")

    assert exc.value.code == "duplicate_reference"
    assert "reference" in exc.value.fields
    assert not second.payments.exists()
    # the same reference under another method is someone else's number: accepted
    pay(second, D("10.00"), actor=finance, reference="BANK-001", channel=PaymentChannel.ONLINE)
    assert second.payments.count() == 1


@pytest.mark.parametrize(
    ("amount", "field"),
    [
        ("0", "amount"),
        ("-5.00", "amount"),
        ("1.005", "amount"),
        ("abc", "amount"),
        ("NaN", "amount"),
    ],
)
def test_bad_amounts_are_refused(make_user, amount, field):
    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED)

    with pytest.raises(DomainError) as exc:
        pay(order, amount, actor=finance)

    assert field in exc.value.fields
    assert not Payment.objects.exists()


def test_missing_payer_bad_method_and_future_time_are_refused(make_user):
    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED)

    with pytest.raises(DomainError) as exc:
        payment_record(
            order=order,
            payer=" ",
            channel="cheque",
            amount=D("1.00"),
            paid_at=timezone.now() + dt.timedelta(days=1),
            reference="",
            note="",
            actor=finance,
        )

    assert set(exc.value.fields) == {"payer", "channel", "paid_at"}
    assert not Payment.objects.exists()


@pytest.mark.parametrize("status", [OrderStatus.CANCELLED, OrderStatus.MERGED])
def test_no_payment_on_cancelled_or_merged_orders(make_user, status):
    finance = make_user("finance")
    order = order_of(status)

    with pytest.raises(Conflict) as exc:
        pay(order, D("1.00"), actor=finance)

    assert exc.value.code == "order_closed"
    assert not Payment.objects.exists()


def test_prepaid_order_can_be_paid_before_review(make_user):
    finance = make_user("finance")
    order = order_of(OrderStatus.SUBMITTED, ("88.00", 2), payment_method="prepaid")

    payment = pay(order, D("176.00"), actor=finance, channel=PaymentChannel.ONLINE)

    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PAID
    assert payment.recorded_by == finance


def test_payment_is_audited_with_the_order_before_and_after(make_user):
    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED, ("100.00", 1))

    payment = pay(order, D("40.00"), actor=finance, reference="R-9")

    entry = AuditEntry.objects.get(action=AuditAction.CREATE, object_id=str(payment.pk))
    assert entry.actor == finance
    assert entry.content_type.model == "payment"
    assert entry.before["order"] == {"paid_amount": "0.00", "payment_status": "unpaid"}
    assert entry.after["order"] == {"paid_amount": "40.00", "payment_status": "part_paid"}
    assert entry.after["amount"] == "40.00"
    assert entry.after["reference"] == "R-9"


def test_paid_amount_is_the_sum_of_records_after_many_payments(make_user):
    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED, ("33.33", 3))
    for _ in range(9):
        pay(order, D("11.11"), actor=finance)

    order = Order.objects.get(pk=order.pk)
    assert order.paid_amount == D("99.99") == order.total
    assert order.payment_status == PaymentStatus.PAID
    with pytest.raises(Conflict):
        pay(order, D("0.01"), actor=finance)


@pytest.mark.django_db(transaction=True)
def test_two_clerks_paying_at_once_cannot_overpay(make_user):
    # given an order of 100.00 and two clerks recording 60.00 each at the same moment
    import threading

    from django.db import close_old_connections

    clerks = [make_user("finance"), make_user("finance")]
    order = order_of(OrderStatus.DELIVERED, ("100.00", 1))
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def record(clerk):
        try:
            barrier.wait(timeout=10)
            pay(Order(pk=order.pk), D("60.00"), actor=clerk)
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=record, args=(c,)) for c in clerks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # then one is recorded, the other refused as an overpayment
    assert sorted(outcomes) == ["ok", "overpayment"]
    order.refresh_from_db()
    assert order.paid_amount == D("60.00")
    assert order.payments.count() == 1
