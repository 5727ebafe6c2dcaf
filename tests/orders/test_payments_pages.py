"""Finance pages: payment list with filters, export (masked, formula-safe), record a payment."""

from __future__ import annotations

import csv
import io

import openpyxl
import pytest
from django.urls import reverse

from orders.choices import OrderStatus, PaymentChannel
from orders.models import Payment
from orders.resources import PaymentResource
from orders.services.payments import payment_record
from tests.factories import StationFactory
from tests.orders.finance_factories import D, an_hour_ago, order_of
from tvshop.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db

LIST = "/orders/finance/payments/"
EXPORT = "/orders/finance/payments/export/"


def record(order, amount, actor, **kw):
    return payment_record(
        order=order,
        payer=kw.pop("payer", "张三"),
        channel=kw.pop("channel", PaymentChannel.BANK_TRANSFER),
        amount=D(amount),
        paid_at=kw.pop("paid_at", an_hour_ago()),
        reference=kw.pop("reference", ""),
        note=kw.pop("note", ""),
        actor=actor,
    )


def test_urls_are_in_the_orders_namespace():
    assert reverse("orders:payment_list") == LIST
    assert reverse("orders:payment_export") == EXPORT
    assert reverse("orders:payment_create", args=[7]) == "/orders/7/payments/new/"


@pytest.mark.parametrize(
    ("role", "status"),
    [("finance", 200), ("supervisor", 200), ("agent", 403), ("reviewer2", 403), ("logistics", 403)],
)
def test_payment_list_permissions(client_for, role, status):
    assert client_for(role).get(LIST).status_code == status


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_payment_list_filters_by_channel_station_and_status(client_for, make_user):
    finance = make_user("finance")
    station = StationFactory()
    mine = order_of(OrderStatus.DELIVERED, ("10.00", 1), station=station)
    other = order_of(OrderStatus.DELIVERED, ("10.00", 1))
    record(mine, "10.00", finance, channel=PaymentChannel.ONLINE, payer="甲")
    record(other, "5.00", finance, channel=PaymentChannel.COD, payer="乙")
    client = client_for("finance")

    by_channel = client.get(LIST, {"channel": "online"}).content.decode()
    by_station = client.get(LIST, {"station": station.pk}).content.decode()
    by_status = client.get(LIST, {"status": "part_paid"}).content.decode()
    htmx = client.get(LIST, {"channel": "cod"}, HTTP_HX_REQUEST="true").content.decode()

    assert mine.number in by_channel and other.number not in by_channel
    assert mine.number in by_station and other.number not in by_station
    assert other.number in by_status and mine.number not in by_status
    assert "<html" not in htmx and other.number in htmx


def test_payment_list_query_count_is_constant(client_for, make_user, django_assert_max_num_queries):
    finance = make_user("finance")
    client = client_for("finance")
    for _ in range(3):
        record(
            order_of(OrderStatus.DELIVERED, ("10.00", 1), station=StationFactory()), "1.00", finance
        )
    client.get(LIST)
    with django_assert_max_num_queries(12) as few:
        client.get(LIST)
    for _ in range(10):
        record(
            order_of(OrderStatus.DELIVERED, ("10.00", 1), station=StationFactory()), "1.00", finance
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(LIST).status_code == 200


def test_payment_list_masks_phones_for_finance(client_for, make_user):
    finance = make_user("finance")
    record(order_of(OrderStatus.DELIVERED, phone="+8613812345678"), "1.00", finance)

    body = client_for("finance").get(LIST).content.decode()

    assert "138****5678" in body
    assert "13812345678" not in body


def _xlsx_rows(content: bytes) -> list[list]:
    sheet = openpyxl.load_workbook(io.BytesIO(content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_export_neutralises_formulas_and_masks_phones(client_for, make_user):
    # given a payment whose payer and note were typed as spreadsheet formulas
    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED, ("100.00", 1), phone="+8613812345678")
    record(order, "30.00", finance, payer="=cmd|' /C calc'!A0", note="@SUM(1+1)", reference="+1")
    client = client_for("finance")

    xlsx = client.get(EXPORT, {"format": "xlsx"})
    csv_response = client.get(EXPORT, {"format": "csv"})

    assert xlsx.status_code == 200
    rows = _xlsx_rows(xlsx.content)
    header, row = rows[0], rows[1]
    cells = dict(zip(header, row, strict=True))
    values = [str(v) for v in row if v is not None]
    assert "'=cmd|' /C calc'!A0" in values
    assert "'@SUM(1+1)" in values
    assert "'+1" in values
    assert not any(v.startswith(("=", "+", "@")) for v in values)
    assert "138****5678" in values
    assert order.number in values
    assert len(cells) == len(header)
    text = csv_response.content.decode("utf-8-sig")
    parsed = list(csv.reader(io.StringIO(text)))
    assert "'=cmd|' /C calc'!A0" in parsed[1]
    assert "138****5678" in parsed[1]


def test_export_keeps_refund_amounts_as_numbers(client_for, make_user):
    from orders.services.returns import order_return_create

    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED, ("100.00", 1))
    record(order, "100.00", finance)
    order_return_create(
        order=order,
        reason="quality",
        items=[(order.lines.get(), 1)],
        refund_amount=D("100.00"),
        refund_channel="bank_transfer",
        actor=finance,
    )

    response = client_for("finance").get(EXPORT, {"format": "csv"})
    parsed = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))

    column = list(PaymentResource.Meta.export_order).index("amount")
    amounts = sorted(row[column] for row in parsed[1:])
    assert amounts == ["-100.00", "100.00"]


def test_export_is_audited_and_needs_export_permission(client_for, make_user):
    finance = make_user("finance")
    record(order_of(OrderStatus.DELIVERED), "1.00", finance)
    client = client_for("finance")

    assert client.get(EXPORT, {"format": "csv", "channel": "bank_transfer"}).status_code == 200
    assert client.get(EXPORT, {"format": "pdf"}).status_code == 400
    assert client_for("agent").get(EXPORT).status_code == 403
    entry = AuditEntry.objects.get(action=AuditAction.EXPORT, actor=client.user)
    assert entry.after["count"] == 1
    assert entry.after["filters"] == {"channel": "bank_transfer"}
    assert entry.after["masked"] is True


def test_record_payment_page(client_for):
    client = client_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("88.00", 1))
    url = reverse("orders:payment_create", args=[order.pk])

    form = client.get(url)
    response = client.post(
        url,
        {
            "payer": "王五",
            "channel": "bank_transfer",
            "amount": "88.00",
            "paid_at": "2026-01-05T10:30",
            "reference": "ICBC-77",
            "note": "",
        },
    )

    assert form.status_code == 200
    assert 'value="88.00"' in form.content.decode()
    assert response.status_code == 302
    assert response["Location"] == reverse("orders:order_detail", args=[order.pk])
    payment = Payment.objects.get()
    assert (payment.amount, payment.reference, payment.recorded_by) == (
        D("88.00"),
        "ICBC-77",
        client.user,
    )


def test_record_payment_page_refuses_overpayment_with_400(client_for):
    client = client_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("88.00", 1))

    response = client.post(
        reverse("orders:payment_create", args=[order.pk]),
        {"payer": "王五", "channel": "online", "amount": "88.01", "paid_at": "2026-01-05T10:30"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "has-error" in body
    assert "88.01" in body  # the message names the amount refused
    assert not Payment.objects.exists()


@pytest.mark.parametrize("role", ["agent", "reviewer2", "supervisor", "logistics"])
def test_record_payment_page_needs_add_payment(client_for, role):
    order = order_of(OrderStatus.DELIVERED)
    client = client_for(role)
    url = reverse("orders:payment_create", args=[order.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, {"payer": "x", "channel": "online", "amount": "1"}).status_code == 403
    assert not Payment.objects.exists()


def test_payment_include_renders_on_its_own(rf, make_user):
    from django.template.loader import render_to_string

    finance = make_user("finance")
    order = order_of(OrderStatus.DELIVERED, ("10.00", 1))
    record(order, "4.00", finance, payer="赵六")
    request = rf.get("/")
    request.user = finance

    html = render_to_string("orders/includes/payments.html", {"order": order}, request=request)

    assert "赵六" in html
    assert reverse("orders:payment_create", args=[order.pk]) in html
    assert reverse("orders:return_create", args=[order.pk]) in html


def test_bad_filter_values_are_not_a_server_error(client_for):
    client = client_for("finance")

    page = client.get(LIST, {"station": "abc", "date_from": "2026-13-45", "channel": "x"})
    export = client.get(EXPORT, {"format": "csv", "station": "abc"})

    assert page.status_code == 200
    assert export.status_code == 400
    assert not AuditEntry.objects.filter(action=AuditAction.EXPORT).exists()


# --- receivables -------------------------------------------------------------------------
RECEIVABLES = "/orders/finance/orders/"


def test_finance_sees_unpaid_orders(client_for, make_user, django_assert_max_num_queries):
    finance = make_user("finance")
    unpaid = order_of(OrderStatus.SECOND_APPROVED, ("50.00", 1), station=StationFactory())
    paid = order_of(OrderStatus.DELIVERED, ("50.00", 1), station=StationFactory())
    record(paid, "50.00", finance)
    cancelled = order_of(OrderStatus.CANCELLED)
    client = client_for("finance")
    client.get(RECEIVABLES)

    with django_assert_max_num_queries(12):
        body = client.get(RECEIVABLES, {"payment_status": "unpaid"}).content.decode()
    everything = client.get(RECEIVABLES).content.decode()

    assert unpaid.number in body and paid.number not in body
    assert reverse("orders:payment_create", args=[unpaid.pk]) in body
    assert cancelled.number not in everything and paid.number in everything


@pytest.mark.parametrize(
    ("role", "status"), [("finance", 200), ("supervisor", 200), ("agent", 403), ("logistics", 403)]
)
def test_receivables_permissions(client_for, role, status):
    assert client_for(role).get(RECEIVABLES).status_code == status


def test_payment_include_hides_payments_from_roles_without_view_payment(rf, make_user):
    from django.template.loader import render_to_string

    finance, reviewer = make_user("finance"), make_user("reviewer2")
    order = order_of(OrderStatus.SUBMITTED, ("10.00", 1), payment_method="prepaid")
    record(order, "4.00", finance, payer="赵六")
    request = rf.get("/")
    request.user = reviewer

    html = render_to_string("orders/includes/payments.html", {"order": order}, request=request)

    assert "赵六" not in html
    assert reverse("orders:order_merge", args=[order.pk]) in html
    assert reverse("orders:payment_create", args=[order.pk]) not in html
