"""Orders API: orders with lines/gifts/payments, payments, returns, merge; permissions,
the error contract, query counts and the schema."""

from __future__ import annotations

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from orders.choices import OrderStatus, PaymentChannel, PaymentStatus
from orders.models import Order, OrderReturn, Payment
from orders.services.payments import payment_record
from tests.crm.factories import make_customer
from tests.factories import GiftFactory
from tests.orders.factories import make_order
from tests.orders.finance_factories import D, add_gift, an_hour_ago, order_of
from tvshop.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

ORDERS = "/api/orders/orders/"
PAYMENTS = "/api/orders/payments/"
RETURNS = "/api/orders/returns/"


def record(order, amount, actor, **kw):
    return payment_record(
        order=order,
        payer="张三",
        channel=kw.get("channel", PaymentChannel.BANK_TRANSFER),
        amount=D(amount),
        paid_at=an_hour_ago(),
        reference=kw.get("reference", ""),
        note="",
        actor=actor,
    )


# --- orders ------------------------------------------------------------------------------
def test_order_list_has_lines_gifts_payments_and_masked_phone(api_for, make_user):
    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED, ("100.00", 2), phone="+8613812345678")
    add_gift(order, quantity=1)
    record(order, "50.00", finance)
    api = api_for("finance")

    response = api.get(ORDERS)

    assert response.status_code == 200
    (row,) = response.json()["results"]
    assert row["number"] == order.number
    assert row["phone"] == "138****5678"
    assert [(ln["quantity"], ln["amount"]) for ln in row["lines"]] == [(2, "200.00")]
    assert len(row["gifts"]) == 1
    assert [p["amount"] for p in row["payments"]] == ["50.00"]
    assert (row["paid_amount"], row["payment_status"]) == ("50.00", PaymentStatus.PART_PAID)


def test_order_list_query_count_does_not_grow_with_the_page(api_for, django_assert_max_num_queries):
    api = api_for("finance")
    customer = make_customer()
    for _ in range(3):
        order = make_order(customer=customer, status=OrderStatus.DELIVERED)
        add_gift(order)
    api.get(ORDERS)  # warm caches (content types, permissions)

    with django_assert_max_num_queries(9) as small:
        assert len(api.get(ORDERS).json()["results"]) == 3
    for _ in range(12):
        order = make_order(customer=customer, status=OrderStatus.DELIVERED)
        add_gift(order)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get(ORDERS).json()["results"]) == 15


def test_order_filters(api_for):
    api = api_for("finance")
    delivered = order_of(OrderStatus.DELIVERED)
    order_of(OrderStatus.SUBMITTED)

    by_status = api.get(ORDERS, {"status": "delivered"}).json()["results"]
    by_number = api.get(ORDERS, {"number": delivered.number.lower()}).json()["results"]
    bad = api.get(ORDERS, {"status": "nonsense"})

    assert [o["id"] for o in by_status] == [delivered.pk]
    assert [o["id"] for o in by_number] == [delivered.pk]
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid"


def test_orders_need_login_and_view_permission(client, api_for, make_user):
    order = order_of(OrderStatus.DELIVERED)
    from rest_framework.test import APIClient

    nobody = APIClient()
    nobody.force_authenticate(make_user())

    assert client.get(ORDERS).status_code in (401, 403)
    assert nobody.get(ORDERS).status_code == 403
    assert nobody.get(f"{ORDERS}{order.pk}/").status_code == 403
    assert api_for("logistics").get(f"{ORDERS}{order.pk}/").status_code == 200


# --- payments ----------------------------------------------------------------------------
def test_finance_records_a_payment(api_for):
    api = api_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("99.90", 1))

    response = api.post(
        PAYMENTS,
        {
            "order": order.pk,
            "payer": "李四",
            "channel": "online",
            "amount": "99.90",
            "paid_at": an_hour_ago().isoformat(),
            "reference": "WX-1",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["amount"] == "99.90"
    order.refresh_from_db()
    assert order.payment_status == PaymentStatus.PAID
    assert AuditEntry.objects.filter(
        action=AuditAction.CREATE, object_id=str(response.json()["id"]), actor=api.user
    ).exists()


def test_overpayment_and_duplicate_reference_answer_409_with_the_contract(api_for):
    api = api_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("10.00", 1))
    body = {
        "order": order.pk,
        "payer": "李四",
        "channel": "bank_transfer",
        "paid_at": an_hour_ago().isoformat(),
        "reference": "B-1",
    }
    assert api.post(PAYMENTS, {**body, "amount": "4.00"}, format="json").status_code == 201

    over = api.post(PAYMENTS, {**body, "reference": "B-2", "amount": "6.01"}, format="json")
    dup = api.post(PAYMENTS, {**body, "amount": "1.00"}, format="json")

    assert over.status_code == 409
    assert over.json()["code"] == "overpayment"
    assert set(over.json()) == {"code", "message", "fields"}
    assert dup.status_code == 409
    assert dup.json()["code"] == "duplicate_reference"
    assert "reference" in dup.json()["fields"]
    assert Payment.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-1"}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"channel": "cash_in_sock"}, "channel"),
        ({"paid_at": "yesterday"}, "paid_at"),
        ({"order": 999999}, "order"),
        ({"payer": ""}, "payer"),
    ],
)
def test_bad_payment_input_is_400_and_nothing_saved(api_for, change, field):
    api = api_for("finance")
    order = order_of(OrderStatus.DELIVERED)
    body = {
        "order": order.pk,
        "payer": "李四",
        "channel": "online",
        "amount": "1.00",
        "paid_at": an_hour_ago().isoformat(),
        **change,
    }

    response = api.post(PAYMENTS, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["fields"]
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", ["agent", "reviewer1", "reviewer2", "logistics", "supervisor"])
def test_only_finance_records_payments(api_for, role):
    api = api_for(role)
    order = order_of(OrderStatus.DELIVERED)

    response = api.post(
        PAYMENTS,
        {
            "order": order.pk,
            "payer": "x",
            "channel": "online",
            "amount": "1.00",
            "paid_at": an_hour_ago().isoformat(),
        },
        format="json",
    )

    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"
    assert not Payment.objects.exists()


def test_payment_list_filters_and_query_count(api_for, make_user, django_assert_max_num_queries):
    finance = make_user("finance")
    api = api_for("finance")
    orders = [order_of(OrderStatus.DELIVERED, ("10.00", 1)) for _ in range(6)]
    for i, order in enumerate(orders):
        record(order, "10.00", finance, channel="online" if i % 2 else "cod")
    api.get(PAYMENTS)

    with django_assert_max_num_queries(6):
        rows = api.get(PAYMENTS, {"channel": "online"}).json()["results"]

    assert len(rows) == 3
    assert {r["channel"] for r in rows} == {"online"}
    assert api_for("agent").get(PAYMENTS).status_code == 403
    assert api_for("supervisor").get(PAYMENTS).status_code == 200


# --- returns -----------------------------------------------------------------------------
def test_finance_records_a_return_with_refund(api_for, make_user):
    finance = make_user("finance")
    api = api_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("60.00", 2))
    gift = GiftFactory(stock=4)
    order_gift = add_gift(order, gift=gift, quantity=1)
    record(order, "120.00", finance)

    response = api.post(
        RETURNS,
        {
            "order": order.pk,
            "reason": "quality",
            "items": [
                {"line": order.lines.get().pk, "quantity": 2},
                {"gift": order_gift.pk, "quantity": 1},
            ],
            "refund_amount": "120.00",
            "refund_channel": "bank_transfer",
            "note": "坏了",
        },
        format="json",
    )

    assert response.status_code == 201, response.json()
    body = response.json()
    assert len(body["items"]) == 2
    assert Payment.objects.get(pk=body["refund_payment"]).amount == D("-120.00")
    order.refresh_from_db()
    gift.refresh_from_db()
    assert order.status == OrderStatus.RETURNED
    assert (order.paid_amount, order.payment_status) == (D("0.00"), PaymentStatus.UNPAID)
    assert gift.stock == 4


def test_return_of_too_many_or_foreign_items_is_refused(api_for):
    api = api_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("60.00", 1))
    other = order_of(OrderStatus.DELIVERED)
    base = {"order": order.pk, "reason": "quality"}

    too_many = api.post(
        RETURNS, {**base, "items": [{"line": order.lines.get().pk, "quantity": 2}]}, format="json"
    )
    foreign = api.post(
        RETURNS, {**base, "items": [{"line": other.lines.get().pk, "quantity": 1}]}, format="json"
    )
    empty = api.post(RETURNS, {**base, "items": []}, format="json")
    both = api.post(
        RETURNS, {**base, "items": [{"line": 1, "gift": 1, "quantity": 1}]}, format="json"
    )

    assert too_many.status_code == 400 and too_many.json()["code"] == "bad_items"
    assert foreign.status_code == 400 and "items" in foreign.json()["fields"]
    assert empty.status_code == 400
    assert both.status_code == 400
    assert not OrderReturn.objects.exists()


def test_return_of_an_order_not_delivered_is_409(api_for):
    api = api_for("finance")
    order = order_of(OrderStatus.SHIPPED)

    response = api.post(
        RETURNS,
        {
            "order": order.pk,
            "reason": "quality",
            "items": [{"line": order.lines.get().pk, "quantity": 1}],
        },
        format="json",
    )

    assert response.status_code == 409
    assert response.json()["code"] == "not_returnable"


@pytest.mark.parametrize("role", ["agent", "reviewer2", "logistics", "supervisor"])
def test_only_finance_records_returns(api_for, role):
    order = order_of(OrderStatus.DELIVERED)
    response = api_for(role).post(
        RETURNS,
        {
            "order": order.pk,
            "reason": "quality",
            "items": [{"line": order.lines.get().pk, "quantity": 1}],
        },
        format="json",
    )
    assert response.status_code == 403
    assert not OrderReturn.objects.exists()


def test_return_list_query_count(api_for, make_user, django_assert_max_num_queries):
    finance = make_user("finance")
    api = api_for("finance")
    from orders.services.returns import order_return_create

    for _ in range(5):
        order = order_of(OrderStatus.REFUSED, ("10.00", 1), ("20.00", 1))
        order_return_create(
            order=order,
            reason="refused",
            items=[(ln, 1) for ln in order.lines.all()],
            actor=finance,
        )
    api.get(RETURNS)

    with django_assert_max_num_queries(6):
        rows = api.get(RETURNS).json()["results"]

    assert len(rows) == 5
    assert all(len(r["items"]) == 2 for r in rows)


# --- merge -------------------------------------------------------------------------------
def test_second_reviewer_merges_through_the_api(api_for):
    api = api_for("reviewer2")
    customer = make_customer()
    a = make_order(customer=customer, status=OrderStatus.SUBMITTED)
    b = make_order(customer=customer, status=OrderStatus.FIRST_APPROVED)

    mergeable = api.get(f"{ORDERS}{a.pk}/mergeable/")
    response = api.post(f"{ORDERS}merge/", {"orders": [b.pk, a.pk]}, format="json")

    assert [o["id"] for o in mergeable.json()] == [b.pk]
    assert response.status_code == 200, response.json()
    assert response.json()["id"] == a.pk
    assert response.json()["goods_amount"] == "398.00"
    assert len(response.json()["lines"]) == 2
    assert Order.objects.get(pk=b.pk).merged_into_id == a.pk


def test_merge_refusals_answer_with_the_contract(api_for):
    api = api_for("supervisor")
    customer = make_customer()
    a = make_order(customer=customer, status=OrderStatus.SUBMITTED)
    exported = make_order(customer=customer, status=OrderStatus.EXPORTED)

    refused = api.post(f"{ORDERS}merge/", {"orders": [a.pk, exported.pk]}, format="json")
    one = api.post(f"{ORDERS}merge/", {"orders": [a.pk]}, format="json")
    missing = api.post(f"{ORDERS}merge/", {"orders": [a.pk, 999999]}, format="json")

    assert refused.status_code == 409
    assert refused.json()["code"] == "merge_refused"
    assert exported.number in refused.json()["message"]
    assert one.status_code == 400
    assert missing.status_code == 404
    assert not Order.objects.filter(status=OrderStatus.MERGED).exists()


@pytest.mark.parametrize("role", ["agent", "reviewer1", "finance", "logistics"])
def test_merge_needs_the_merge_permission(api_for, role):
    customer = make_customer()
    a = make_order(customer=customer, status=OrderStatus.SUBMITTED)
    b = make_order(customer=customer, status=OrderStatus.SUBMITTED)
    api = api_for(role)

    assert api.post(f"{ORDERS}merge/", {"orders": [a.pk, b.pk]}, format="json").status_code == 403
    assert api.get(f"{ORDERS}{a.pk}/mergeable/").status_code == 403
    assert not Order.objects.filter(status=OrderStatus.MERGED).exists()


# --- schema ------------------------------------------------------------------------------
def test_orders_api_schema_builds_without_warnings():
    GENERATOR_STATS.reset()
    GENERATOR_STATS.enable_trace_lineno()

    schema = SchemaGenerator(patterns=[path("api/orders/", include("orders.api.urls"))]).get_schema(
        request=None, public=True
    )
    validate_schema(schema)

    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
    paths = schema["paths"]
    assert set(paths["/api/orders/orders/"]) == {"get"}
    assert set(paths["/api/orders/orders/merge/"]) == {"post"}
    assert {"get", "post"} == set(paths["/api/orders/payments/"])
    assert {"get", "post"} == set(paths["/api/orders/returns/"])
    order = schema["components"]["schemas"]["Order"]["properties"]
    assert {"lines", "gifts", "payments"} <= set(order)
