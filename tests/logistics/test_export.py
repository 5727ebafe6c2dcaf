"""Shipping export: batches per courier, the courier's columns, formula injection, stored
file, refusal of double exports, re-issue, a cancel racing the export, permissions."""

from __future__ import annotations

import hashlib
import io
import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.urls import reverse
from openpyxl import load_workbook

from logistics.choices import JobState
from logistics.models import Shipment, ShipmentBatch
from logistics.services.exports import (
    shipment_batch_build,
    shipment_batch_reissue,
    shipment_export_start,
)
from orders.choices import OrderStatus
from orders.hooks import default_courier_for, freight_for
from orders.models import Order
from orders.services.workflow import order_transition
from tests.logistics.conftest import exported
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry
from tvshop.errors import Conflict, DomainError

pytestmark = pytest.mark.django_db


def _export(actor, courier=None, **filters):
    batches = shipment_export_start(actor=actor, courier=courier, **filters)
    return [shipment_batch_build(batch_id=b.pk) for b in batches]


def _sheet(batch):
    with batch.file.open("rb") as handle:
        workbook = load_workbook(io.BytesIO(handle.read()))
    return list(workbook.active.iter_rows(values_only=True)), workbook.active


def test_export_writes_the_couriers_columns_and_moves_orders(sf, zto, clerk):
    # Given two approved SF orders (one with a formula in its remark) and one ZTO order
    a = make_order(courier=sf, remark='=HYPERLINK("http://x")', recipient="@张三")
    b = make_order(courier=sf, phone="+8613800138000")
    c = make_order(courier=zto)
    # When the clerk exports all couriers
    batches = _export(clerk)
    # Then one file per courier, the orders are exported and on one shipment each
    assert sorted(x.courier.code for x in batches) == ["sf", "zto"]
    assert {x.state for x in batches} == {JobState.DONE}
    for order in (a, b, c):
        order.refresh_from_db()
        assert order.status == OrderStatus.EXPORTED
        assert Shipment.objects.filter(order=order, active=True).count() == 1
    sf_batch = next(x for x in batches if x.courier == sf)
    rows, sheet = _sheet(sf_batch)
    assert rows[0][0] == "用户订单号" and "收件手机" in rows[0]
    by_number = {r[0]: r for r in rows[1:]}
    assert set(by_number) == {a.number, b.number}
    header = list(rows[0])
    row_b = by_number[b.number]
    assert row_b[header.index("收件手机")] == "13800138000"
    # phone written as text, not a number
    phone_cell = sheet.cell(
        row=[r[0] for r in rows].index(b.number) + 1, column=header.index("收件手机") + 1
    )
    assert phone_cell.data_type == "s"
    row_a = by_number[a.number]
    assert row_a[header.index("备注")].startswith("'=")
    assert row_a[header.index("收件联系人")] == "'@张三"
    assert row_a[header.index("代收货款金额")] == pytest.approx(float(a.cod_amount))
    assert row_a[header.index("业务类型")] == "顺丰标快"
    assert AuditEntry.objects.filter(action="export", object_id=str(sf_batch.pk)).exists()


def test_download_gives_the_same_bytes_every_time(sf, clerk, client):
    make_order(courier=sf)
    [batch] = _export(clerk, courier=sf)
    client.force_login(clerk)
    url = reverse("logistics:batch_download", args=[batch.pk])
    first = b"".join(client.get(url).streaming_content)
    second = b"".join(client.get(url).streaming_content)
    assert first == second
    assert hashlib.sha256(first).hexdigest() == batch.sha256


def test_exporting_twice_is_refused_until_the_batch_is_reissued(sf, clerk):
    order = make_order(courier=sf)
    [batch] = _export(clerk, courier=sf)
    with pytest.raises(DomainError):
        _export(clerk, courier=sf)
    # The shipment constraint refuses a second active shipment outright.
    with pytest.raises(Exception), transaction.atomic():
        Shipment.objects.create(order=order, batch=batch, courier=sf)
    with pytest.raises(DomainError):
        shipment_batch_reissue(actor=clerk, batch_id=batch.pk, reason="")
    shipment_batch_reissue(actor=clerk, batch_id=batch.pk, reason="sheet lost")
    order.refresh_from_db()
    assert order.status == OrderStatus.SECOND_APPROVED
    batch.refresh_from_db()
    assert batch.state == JobState.REISSUED
    assert AuditEntry.objects.filter(
        action="status", object_id=str(batch.pk), note="sheet lost"
    ).exists()
    [again] = _export(clerk, courier=sf)
    assert again.order_count == 1
    assert Shipment.objects.filter(order=order, active=True).get().batch == again


def test_reissue_is_refused_once_an_order_has_a_waybill(sf, clerk):
    [order] = exported(sf, waybills=["SF1234567890"])
    batch = order.shipments.get().batch
    with pytest.raises(Conflict):
        shipment_batch_reissue(actor=clerk, batch_id=batch.pk, reason="again")


def test_an_order_cancelled_before_the_build_is_not_in_the_sheet(sf, clerk, make_user):
    keep = make_order(courier=sf)
    gone = make_order(courier=sf)
    [batch] = shipment_export_start(actor=clerk, courier=sf)
    order_transition(
        order_id=gone.pk,
        to_status=OrderStatus.CANCELLED,
        actor=make_user("reviewer2"),
        reason="customer_cancelled",
    )
    batch = shipment_batch_build(batch_id=batch.pk)
    rows, _ = _sheet(batch)
    assert [r[0] for r in rows[1:]] == [keep.number]
    assert batch.order_count == 1
    gone.refresh_from_db()
    assert gone.status == OrderStatus.CANCELLED
    assert not Shipment.objects.filter(order=gone).exists()


@pytest.mark.django_db(transaction=True)
def test_a_cancel_racing_the_export_is_either_exported_or_cancelled(sf, make_user):
    # Given orders, an export running in one connection and a reviewer cancelling one of
    # them in another at the same time
    clerk = make_user("logistics")
    reviewer = make_user("reviewer2")
    orders = [make_order(courier=sf) for _ in range(30)]
    target = orders[15]
    [batch] = shipment_export_start(actor=clerk, courier=sf)
    results = {}

    def cancel():
        try:
            order_transition(
                order_id=target.pk,
                to_status=OrderStatus.CANCELLED,
                actor=reviewer,
                reason="customer_cancelled",
            )
            results["cancel"] = "ok"
        except Conflict:
            results["cancel"] = "refused"
        finally:
            connection.close()

    thread = threading.Thread(target=cancel)
    thread.start()
    batch = shipment_batch_build(batch_id=batch.pk)
    thread.join(30)
    # Then the order is in the sheet and exported, or cancelled and not in it — never both
    target.refresh_from_db()
    rows, _ = _sheet(batch)
    in_sheet = target.number in [r[0] for r in rows[1:]]
    if target.status == OrderStatus.CANCELLED:
        assert not in_sheet and results["cancel"] == "ok"
    else:
        assert target.status == OrderStatus.EXPORTED and in_sheet
        assert results["cancel"] == "refused"
    # none lost: every order not cancelled is in the batch (the cancel may even land before
    # the build counts its candidates, and then it is not counted as skipped either)
    cancelled = target.status == OrderStatus.CANCELLED
    assert batch.order_count == 30 - cancelled
    assert batch.order_count + batch.skipped in (29, 30)
    assert Order.objects.filter(status=OrderStatus.EXPORTED).count() == batch.order_count


def test_export_page_permissions_and_progress(
    sf, client_for, eager_celery, django_capture_on_commit_callbacks
):
    make_order(courier=sf)
    agent = client_for("agent")
    assert agent.get(reverse("logistics:batch_list")).status_code == 403
    assert agent.post(reverse("logistics:batch_list"), {}).status_code == 403
    finance = client_for("finance")
    assert finance.get(reverse("logistics:batch_list")).status_code == 403
    clerk = client_for("logistics")
    assert clerk.get(reverse("logistics:batch_list")).status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(reverse("logistics:batch_list"), {"courier": sf.pk})
    assert response.status_code == 302
    batch = ShipmentBatch.objects.get()
    assert batch.state == JobState.DONE and batch.order_count == 1
    progress = clerk.get(reverse("logistics:batch_progress", args=[batch.pk]))
    assert progress.status_code == 200 and progress["HX-Refresh"] == "true"
    # nothing left: a 4xx form answer, not a 500
    response = clerk.post(reverse("logistics:batch_list"), {"courier": sf.pk})
    assert response.status_code == 400
    bad = clerk.post(
        reverse("logistics:batch_list"), {"date_from": "2026-02-01", "date_to": "2026-01-01"}
    )
    assert bad.status_code == 400
    assert agent.get(reverse("logistics:batch_download", args=[batch.pk])).status_code == 403


def test_batch_list_query_count(sf, client_for, django_assert_max_num_queries):
    clerk = client_for("logistics")
    for _ in range(3):
        exported(sf)
    with django_assert_max_num_queries(12):
        assert clerk.get(reverse("logistics:batch_list")).status_code == 200


def test_freight_and_default_courier_rules(sf, zto):
    from crm.models import Division
    from logistics.models import FreightRule, ProvinceCourier

    guangdong = Division.objects.get(code="44")
    FreightRule.objects.create(
        courier=sf, province=None, first_kg=Decimal("12"), additional_kg=Decimal("2")
    )
    FreightRule.objects.create(
        courier=sf, province=guangdong, first_kg=Decimal("8"), additional_kg=Decimal("1.5")
    )
    ProvinceCourier.objects.create(province=guangdong, courier=zto)
    assert freight_for(courier_id=sf.pk, province_code="44", weight_kg=Decimal("0.5")) == Decimal(
        "8.00"
    )
    assert freight_for(courier_id=sf.pk, province_code="44", weight_kg=Decimal("2.1")) == Decimal(
        "11.00"
    )
    assert freight_for(courier_id=sf.pk, province_code="11", weight_kg=Decimal("3")) == Decimal(
        "16.00"
    )
    assert freight_for(courier_id=zto.pk, province_code="11", weight_kg=Decimal("3")) == Decimal(
        "0.00"
    )
    assert default_courier_for(province_code="44") == zto.pk
    assert default_courier_for(province_code="11") is None
