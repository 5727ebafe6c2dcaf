"""The logistics REST API: the pages' permissions, the services' rules, the error contract
``{code, message, fields}``, and its place in the OpenAPI schema."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import include, path
from drf_spectacular.drainage import GENERATOR_STATS
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from logistics.choices import JobState
from logistics.models import Shipment
from orders.choices import OrderStatus
from orders.models import Order
from tests.logistics.conftest import csv_bytes, exported, upload
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db

BASE = "/api/logistics/"


def test_logistics_endpoints_build_into_the_schema_without_warnings():
    patterns = [path("api/logistics/", include("logistics.api.urls"))]
    GENERATOR_STATS.reset()
    GENERATOR_STATS.enable_trace_lineno()
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths[f"{BASE}batches/"])
    assert set(paths[f"{BASE}batches/{{id}}/reissue/"]) == {"post"}
    assert set(paths[f"{BASE}imports/{{id}}/apply/"]) == {"post"}
    assert set(paths[f"{BASE}couriers/"]) == {"get"}


def test_couriers_with_their_template_columns(sf, api_for):
    clerk = api_for("logistics")
    response = clerk.get(f"{BASE}couriers/")
    assert response.status_code == 200
    by_code = {c["code"]: c for c in response.json()["results"]}
    columns = by_code["sf"]["export_template"]["columns"]
    assert columns[0]["header"] == "用户订单号" and columns[0]["source"] == "order_number"
    assert [c["position"] for c in columns] == sorted(c["position"] for c in columns)
    assert api_for("agent").get(f"{BASE}couriers/").status_code == 403


def test_export_batch_create_progress_download_and_reissue(
    sf, api_for, eager_celery, django_capture_on_commit_callbacks
):
    # Given two approved SF orders and a clerk
    orders = [make_order(courier=sf) for _ in range(2)]
    clerk = api_for("logistics")
    # When the clerk starts an export of SF orders (the build runs in Celery, eagerly here)
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(f"{BASE}batches/", {"courier": sf.pk}, format="json")
    # Then one batch, its orders exported
    assert response.status_code == 201, response.json()
    [created] = response.json()
    detail = clerk.get(f"{BASE}batches/{created['id']}/").json()
    assert detail["state"] == JobState.DONE and detail["order_count"] == 2
    assert detail["progress"]["done"] == 2 and detail["has_file"]
    assert set(
        Order.objects.filter(pk__in=[o.pk for o in orders]).values_list("status", flat=True)
    ) == {OrderStatus.EXPORTED}
    # the download is the stored file, the same bytes each time
    first = b"".join(clerk.get(f"{BASE}batches/{created['id']}/download/").streaming_content)
    second = b"".join(clerk.get(f"{BASE}batches/{created['id']}/download/").streaming_content)
    assert first == second and hashlib.sha256(first).hexdigest() == detail["sha256"]
    # exporting again finds nothing: a domain error in the contract
    again = clerk.post(f"{BASE}batches/", {"courier": sf.pk}, format="json")
    assert again.status_code == 400
    assert again.json()["code"] == "nothing" and again.json()["message"]
    # re-issue needs a reason, then voids the batch and frees the orders
    no_reason = clerk.post(f"{BASE}batches/{created['id']}/reissue/", {}, format="json")
    assert no_reason.status_code == 400 and "reason" in no_reason.json()["fields"]
    reissued = clerk.post(
        f"{BASE}batches/{created['id']}/reissue/", {"reason": "sheet lost"}, format="json"
    )
    assert reissued.status_code == 200 and reissued.json()["state"] == JobState.REISSUED
    assert not Shipment.objects.filter(active=True).exists()


def test_export_input_is_checked_and_permissions_are_the_pages(sf, api_for):
    clerk = api_for("logistics")
    bad = clerk.post(
        f"{BASE}batches/",
        {"courier": 999999, "date_from": "2026-11-20", "date_to": "2026-11-01"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["code"] == "invalid" and "courier" in bad.json()["fields"]
    agent = api_for("agent")
    assert agent.get(f"{BASE}batches/").status_code == 403
    assert agent.post(f"{BASE}batches/", {}, format="json").status_code == 403
    # finance sees imports but does not export
    finance = api_for("finance")
    assert finance.post(f"{BASE}batches/", {}, format="json").status_code == 403


def test_status_import_upload_preview_error_sheet_and_apply(
    sf, api_for, eager_celery, django_capture_on_commit_callbacks
):
    # Given two exported orders with waybills and a courier status csv with a bad row
    orders = exported(sf, n=2, waybills=["SF7000000001", "SF7000000002"])
    content = csv_bytes(
        [
            ["运单号", "状态", "时间"],
            ["SF7000000001", "已签收", "2026-11-21 10:00"],
            ["SF7000000002", "飞走了", "2026-11-21 10:00"],
            ["SF7999999999", "已签收", "2026-11-21 10:00"],
        ]
    )
    clerk = api_for("logistics")
    # When the clerk uploads it (the dry run runs in Celery, eagerly here)
    with django_capture_on_commit_callbacks(execute=True):
        response = clerk.post(
            f"{BASE}imports/",
            {"kind": "status", "file": upload("status.csv", content)},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    # Then the preview has the counts and each bad row with its number and reason
    preview = clerk.get(f"{BASE}imports/{pk}/").json()
    assert preview["state"] == JobState.CHECKED
    assert (preview["to_change"], preview["error_count"]) == (1, 2)
    assert {e["row"] for e in preview["errors"]} == {3, 4}
    assert preview["has_error_file"]
    sheet = clerk.get(f"{BASE}imports/{pk}/errors/")
    assert sheet.status_code == 200 and "飞走了" in b"".join(sheet.streaming_content).decode(
        "utf-8-sig"
    )
    assert Order.objects.get(pk=orders[0].pk).status == OrderStatus.EXPORTED  # nothing yet
    # When applied: the good row moves its order; applying twice is a conflict
    with django_capture_on_commit_callbacks(execute=True):
        applied = clerk.post(f"{BASE}imports/{pk}/apply/")
    assert applied.status_code == 202
    assert clerk.get(f"{BASE}imports/{pk}/").json()["state"] == JobState.DONE
    assert Order.objects.get(pk=orders[0].pk).status == OrderStatus.DELIVERED
    twice = clerk.post(f"{BASE}imports/{pk}/apply/")
    assert twice.status_code == 409 and twice.json()["code"] == "not_checked"


def test_bad_uploads_are_4xx_with_fields(sf, api_for):
    clerk = api_for("logistics")
    wrong_type = clerk.post(
        f"{BASE}imports/", {"kind": "status", "file": upload("a.txt", b"x")}, format="multipart"
    )
    assert wrong_type.status_code == 400 and "file" in wrong_type.json()["fields"]
    no_header = clerk.post(
        f"{BASE}imports/",
        {"kind": "status", "file": upload("a.csv", csv_bytes([["foo", "bar"], ["1", "2"]]))},
        format="multipart",
    )
    assert no_header.status_code == 400 and no_header.json()["code"] == "bad_file"
    no_kind = clerk.post(f"{BASE}imports/", {}, format="multipart")
    assert no_kind.status_code == 400 and {"kind", "file"} <= set(no_kind.json()["fields"])
    # a clerk may not upload a COD remittance (finance's permission)
    remittance = clerk.post(
        f"{BASE}imports/",
        {"kind": "remittance", "file": upload("r.csv", csv_bytes([["运单号", "代收金额"]]))},
        format="multipart",
    )
    assert remittance.status_code == 403


def test_remittance_lines_for_finance_only(
    sf, api_for, eager_celery, django_capture_on_commit_callbacks
):
    [order] = exported(sf, n=1, waybills=["SF6100000001"])
    finance = api_for("finance")
    content = csv_bytes([["运单号", "代收金额"], ["SF6100000001", str(order.cod_amount)]])
    with django_capture_on_commit_callbacks(execute=True):
        response = finance.post(
            f"{BASE}imports/",
            {"kind": "remittance", "courier": sf.pk, "file": upload("r.csv", content)},
            format="multipart",
        )
    assert response.status_code == 201, response.json()
    pk = response.json()["id"]
    lines = finance.get(f"{BASE}imports/{pk}/lines/")
    assert lines.status_code == 200
    rows = lines.json()["results"]
    assert any(r["waybill"] == "SF6100000001" and r["order"] == order.pk for r in rows)
    assert api_for("logistics").get(f"{BASE}imports/{pk}/lines/").status_code == 403
