"""Courier file imports: the readers' quirks, dry run, apply, idempotence, atomicity, the
error file, status normalisation and the pages' permissions and 4xx answers."""

from __future__ import annotations

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from logistics.choices import ImportKind, JobState
from logistics.models import LogisticsImport, Shipment, StatusMapping, TrackingEvent
from logistics.readers import CellError, clean_identifier, open_sheet
from logistics.services import imports as svc
from orders.choices import OrderStatus
from tests.logistics.conftest import csv_bytes, exported, upload, xlsx_bytes
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _import(actor, kind, name, content, courier=None):
    imp = svc.logistics_import_upload(
        actor=actor, kind=kind, courier=courier, upload=upload(name, content)
    )
    return svc.logistics_import_check(import_id=imp.pk)


def _apply(actor, imp):
    svc.logistics_import_apply_start(actor=actor, import_id=imp.pk)
    return svc.logistics_import_apply(import_id=imp.pk)


# --- readers ------------------------------------------------------------------------------
def test_header_below_a_merged_title_with_variants_and_spaces(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(
        xlsx_bytes(
            [
                [" 客户 订单号 ", "快递单号　", "备注"],
                ["T1", 770000000001, "x"],
                [],
                ["T2", "SF 123 456 789", ""],
            ],
            title="顺丰速运 运单回传 2026-11-22",
            blank_rows=2,
            merge=3,
        )
    )
    sheet = open_sheet(path, kind="xlsx", import_kind="waybill")
    assert sheet.header_row == 4
    records = list(sheet.records())
    assert [n for n, _ in records] == [5, 7]
    assert clean_identifier(records[0][1]["waybill"], label="w") == "770000000001"
    assert clean_identifier(records[1][1]["waybill"], label="w") == "SF123456789"


@pytest.mark.parametrize(
    "value", ["7.7E+11", "7.70E+11", "７.７E+11", 1.2345678901234567e16, 770000000001.5]
)
def test_numbers_whose_digits_are_lost_are_refused(value):
    with pytest.raises(CellError) as exc:
        clean_identifier(value, label="Waybill number")
    assert "Waybill number" in str(exc.value)


def test_gbk_csv_is_read(tmp_path):
    path = tmp_path / "s.csv"
    path.write_bytes(csv_bytes([["运单号", "状态"], ["SF1000000001", "已签收"]], encoding="gbk"))
    sheet = open_sheet(path, kind="csv", import_kind="status")
    assert [c for _, c in sheet.records()] == [{"waybill": "SF1000000001", "status": "已签收"}]


# --- waybills -----------------------------------------------------------------------------
def test_waybill_import_dry_run_then_apply_then_again(sf, clerk):
    a, b, c = exported(sf, n=3)
    content = xlsx_bytes(
        [
            ["订单号", "运单号"],
            [a.number, "SF1000000001"],
            [b.number, 770000000002],  # a float in Excel: exact, accepted
            [b.number, 770000000002],  # duplicate row: unchanged
            [c.number, "7.7E+11"],  # scientific notation: refused
            ["T19990101000001", "SF1000000009"],  # unknown order
        ],
        title="回单",
        merge=2,
    )
    imp = _import(clerk, ImportKind.WAYBILL, "waybills.xlsx", content, courier=sf)
    # dry run: counts and reasons, nothing changed
    assert imp.state == JobState.CHECKED
    assert (imp.rows, imp.to_change, imp.unchanged, imp.error_count) == (5, 2, 1, 2)
    reasons = {e["row"]: e["reason"] for e in imp.errors}
    assert "scientific notation" in reasons[6]
    assert "Unknown order" in reasons[7]
    assert not Shipment.objects.exclude(waybill="").exists()
    a.refresh_from_db()
    assert a.status == OrderStatus.EXPORTED
    # the error file: the original sheet with an error column
    workbook = load_workbook(io.BytesIO(imp.error_file.read()))
    rows = list(workbook.active.iter_rows(values_only=True))
    assert rows[0][0] == "回单"
    assert rows[1][:3] == ("订单号", "运单号", "Error")
    assert "scientific notation" in rows[5][2] and rows[2][2] in ("", None)
    # apply
    imp = _apply(clerk, imp)
    assert imp.state == JobState.DONE and imp.changed == 2 and imp.orders_moved == 2
    assert Shipment.objects.get(order=a).waybill == "SF1000000001"
    assert Shipment.objects.get(order=b).waybill == "770000000002"
    for order, status in (
        (a, OrderStatus.SHIPPED),
        (b, OrderStatus.SHIPPED),
        (c, OrderStatus.EXPORTED),
    ):
        order.refresh_from_db()
        assert order.status == status
    assert AuditEntry.objects.filter(action="import", object_id=str(imp.pk)).exists()
    with pytest.raises(DomainError):
        svc.logistics_import_apply_start(actor=clerk, import_id=imp.pk)
    # the same file again changes nothing
    again = _import(clerk, ImportKind.WAYBILL, "waybills.xlsx", content, courier=sf)
    assert (again.to_change, again.unchanged) == (0, 3)
    again = _apply(clerk, again)
    assert again.changed == 0 and again.orders_moved == 0


def test_a_waybill_for_another_order_or_a_changed_waybill_is_refused(sf, clerk):
    a, b = exported(sf, n=2)
    _apply(
        clerk,
        _import(
            clerk, "waybill", "w.csv", csv_bytes([["订单号", "运单号"], [a.number, "SF1000000001"]])
        ),
    )
    imp = _import(
        clerk,
        "waybill",
        "w2.csv",
        csv_bytes([["订单号", "运单号"], [a.number, "SF1000000002"], [b.number, "SF1000000001"]]),
    )
    reasons = {e["row"]: e["reason"] for e in imp.errors}
    assert "already has waybill SF1000000001" in reasons[2]
    assert a.number in reasons[3]
    assert imp.to_change == 0


# --- statuses -----------------------------------------------------------------------------
def test_status_import_gbk_csv_moves_orders_and_is_idempotent(sf, clerk):
    a, b, c = exported(sf, n=3, waybills=["SF2000000001", "SF2000000002", "SF2000000003"])
    rows = [
        ["", "", "", ""],
        ["运单号", "物流状态", "时间", "地点"],
        ["SF2000000001", "已揽收", "2026-11-20 09:00", "深圳"],
        ["SF2000000001", "已签收", "2026-11-21 10:00", "北京"],
        ["SF2000000001", "已签收", "2026-11-21 10:00", "北京"],  # duplicate row
        ["SF2000000002", "拒收", "2026/11/21 11:00", "上海"],
        ["SF2000000003", "派件中", "2026-11-21 08:00", ""],
        ["SF2000000003", "外星人取走", "2026-11-21 09:00", ""],  # unknown status text
        ["SF9999999999", "已签收", "2026-11-21 10:00", ""],  # unknown waybill
    ]
    content = csv_bytes(rows, encoding="gbk")
    imp = _import(clerk, ImportKind.STATUS, "状态.csv", content, courier=sf)
    assert imp.header_row == 2
    assert (imp.rows, imp.to_change, imp.unchanged, imp.error_count) == (7, 4, 1, 2)
    reasons = {e["row"]: e["reason"] for e in imp.errors}
    assert "外星人取走" in reasons[8] and "SF9999999999" in reasons[9]
    assert imp.orders_moved == 3
    assert not TrackingEvent.objects.exists()
    imp = _apply(clerk, imp)
    statuses = {o.pk: o for o in (a, b, c)}
    for order in statuses.values():
        order.refresh_from_db()
    assert (a.status, b.status, c.status) == (
        OrderStatus.DELIVERED,
        OrderStatus.REFUSED,
        OrderStatus.SHIPPED,
    )
    assert TrackingEvent.objects.count() == 4
    assert Shipment.objects.get(order=a).status == "delivered"
    # again: nothing changes
    again = _apply(clerk, _import(clerk, ImportKind.STATUS, "状态.csv", content, courier=sf))
    assert (again.changed, again.unchanged, again.orders_moved) == (0, 5, 0)
    assert TrackingEvent.objects.count() == 4
    # an administrator maps the unknown text; now the row is understood
    StatusMapping.objects.create(courier=sf, text=" 外星人 取走 ", status="problem")
    third = _import(clerk, ImportKind.STATUS, "状态.csv", content, courier=sf)
    assert third.error_count == 1 and third.to_change == 1


def test_apply_is_all_or_nothing(sf, clerk, monkeypatch):
    orders = exported(sf, n=3, waybills=["SF3000000001", "SF3000000002", "SF3000000003"])
    content = csv_bytes(
        [["运单号", "状态", "时间"]]
        + [[f"SF300000000{i}", "签收", "2026-11-21 10:00"] for i in (1, 2, 3)]
    )
    imp = _import(clerk, ImportKind.STATUS, "s.csv", content)
    real = svc.orders_move_set

    def failing(**kwargs):
        # the orders move, then the database goes away before the file is recorded
        real(**kwargs)
        raise RuntimeError("database went away")

    monkeypatch.setattr(svc, "orders_move_set", failing)
    with pytest.raises(RuntimeError):
        _apply(clerk, imp)
    imp.refresh_from_db()
    assert imp.state == JobState.CHECKED
    assert not TrackingEvent.objects.exists()
    for order in orders:
        order.refresh_from_db()
        assert order.status == OrderStatus.EXPORTED
    monkeypatch.setattr(svc, "orders_move_set", real)
    imp = _apply(clerk, imp)
    assert imp.changed == 3


# --- pages ----------------------------------------------------------------------------------
def test_import_pages_permissions_and_bad_files(
    sf, client_for, eager_celery, django_capture_on_commit_callbacks
):
    [order] = exported(sf)
    agent = client_for("agent")
    assert agent.get(reverse("logistics:import_list")).status_code == 403
    finance = client_for("finance")
    good = csv_bytes([["订单号", "运单号"], [order.number, "SF4000000001"]])
    response = finance.post(
        reverse("logistics:import_list"), {"kind": "waybill", "file": upload("w.csv", good)}
    )
    assert response.status_code == 403
    clerk = client_for("logistics")
    url = reverse("logistics:import_list")
    assert clerk.post(url, {"kind": "waybill", "file": upload("w.txt", good)}).status_code == 400
    assert (
        clerk.post(url, {"kind": "waybill", "file": upload("w.xlsx", b"not a zip")}).status_code
        == 400
    )
    no_header = xlsx_bytes([["a", "b"], [1, 2]])
    response = clerk.post(url, {"kind": "waybill", "file": upload("w.xlsx", no_header)})
    assert response.status_code == 400 and b"header" in response.content
    assert clerk.post(url, {"kind": "remittance", "file": upload("r.csv", good)}).status_code == 403
    assert not LogisticsImport.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(
            url, {"kind": "waybill", "courier": sf.pk, "file": upload("w.csv", good)}
        )
    assert response.status_code == 302
    imp = LogisticsImport.objects.get()
    assert imp.state == JobState.CHECKED
    detail = clerk.get(reverse("logistics:import_detail", args=[imp.pk]))
    assert detail.status_code == 200 and b"import-apply" in detail.content
    assert agent.post(reverse("logistics:import_apply", args=[imp.pk])).status_code == 403
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(reverse("logistics:import_apply", args=[imp.pk]))
    assert response.status_code == 302
    imp.refresh_from_db()
    assert imp.state == JobState.DONE
    assert clerk.post(reverse("logistics:import_apply", args=[imp.pk])).status_code == 409
    assert clerk.get(reverse("logistics:import_progress", args=[imp.pk])).status_code == 200
    assert clerk.get(reverse("logistics:import_errors", args=[imp.pk])).status_code == 404


def test_tracking_query_masks_phone_per_role(sf, client_for):
    [order] = exported(sf, waybills=["SF5000000001"], phone="+8613800138000")
    from django.contrib.auth.models import Group, Permission

    finance = client_for("finance")
    response = finance.get(reverse("logistics:tracking"), {"q": "13800138000"})
    assert response.status_code == 200
    assert order.number.encode() in response.content
    assert b"138****8000" in response.content and b"13800138000</span>" not in response.content
    clerk = client_for("logistics")
    full = Permission.objects.get(codename="view_full_phone")
    Group.objects.get(name="logistics").permissions.add(full)
    response = clerk.get(reverse("logistics:tracking"), {"q": "SF5000000001"})
    assert b"13800138000" in response.content
    assert client_for("agent").get(reverse("logistics:tracking")).status_code == 403
    stats = clerk.get(reverse("logistics:statistics"))
    assert stats.status_code == 200 and "顺丰速运".encode() in stats.content


def test_the_dry_run_predicts_the_moves_the_apply_makes(sf, clerk):
    # Given a shipment whose courier already reported "delivered" at 10:00 (order
    # delivered) and one still exported
    done, fresh = exported(sf, n=2, waybills=["SF2100000001", "SF2100000002"])
    first = _apply(
        clerk,
        _import(
            clerk,
            ImportKind.STATUS,
            "a.csv",
            csv_bytes([["运单号", "状态", "时间"], ["SF2100000001", "已签收", "2026-11-21 10:00"]]),
        ),
    )
    assert first.orders_moved == 1
    # When a file brings an older "in transit" for the delivered one (no move) and, for the
    # other, "in transit" then a later "delivered" (one move, to delivered)
    content = csv_bytes(
        [
            ["运单号", "状态", "时间"],
            ["SF2100000001", "运输中", "2026-11-20 10:00"],
            ["SF2100000002", "已签收", "2026-11-21 12:00"],
            ["SF2100000002", "运输中", "2026-11-21 09:00"],
        ]
    )
    checked = _import(clerk, ImportKind.STATUS, "b.csv", content)
    assert not TrackingEvent.objects.filter(shipment__order=fresh).exists()  # dry run
    applied = _apply(clerk, checked)
    # Then the dry run said what the apply did
    assert checked.orders_moved == applied.orders_moved == 1
    fresh.refresh_from_db()
    done.refresh_from_db()
    assert (fresh.status, done.status) == (OrderStatus.DELIVERED, OrderStatus.DELIVERED)
    assert Shipment.objects.get(order=fresh).status == "delivered"
