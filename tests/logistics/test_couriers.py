"""Courier base-data pages in the catalog, the shipped SF template, status mappings."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse

from logistics.models import ExportTemplate, StatusMapping
from tvshop.audit.models import AuditEntry
from tvshop.catalog.models import Courier

pytestmark = pytest.mark.django_db


def test_courier_pages_permissions_and_audit(client_for, django_assert_max_num_queries):
    Courier.objects.create(code="ems", name="EMS")
    admin = client_for("administrator")
    with django_assert_max_num_queries(10):
        assert admin.get(reverse("catalog:courier_list")).status_code == 200
    response = admin.post(
        reverse("catalog:courier_create"),
        {"code": "sto", "name": "申通快递", "supports_cod": "on", "active": "on"},
    )
    assert response.status_code == 302
    courier = Courier.objects.get(code="sto")
    assert AuditEntry.objects.filter(action="create", object_id=str(courier.pk)).exists()
    dup = admin.post(reverse("catalog:courier_create"), {"code": "sto", "name": "x"})
    assert dup.status_code == 400
    clerk = client_for("logistics")
    assert clerk.get(reverse("catalog:courier_list")).status_code == 200
    assert clerk.get(reverse("catalog:courier_create")).status_code == 403
    assert (
        clerk.post(
            reverse("catalog:courier_update", args=[courier.pk]), {"code": "x", "name": "y"}
        ).status_code
        == 403
    )


def test_load_courier_templates_is_idempotent(db):
    call_command("load_courier_templates")
    call_command("load_courier_templates")
    sf = Courier.objects.get(code="sf")
    template = ExportTemplate.objects.get(courier=sf)
    headers = list(template.columns.values_list("header", flat=True))
    assert headers[0] == "用户订单号" and "代收货款金额" in headers
    assert Courier.objects.filter(code__in=["sf", "ems", "zto", "yto", "jd"]).count() == 5
    # the status texts come with the migration; normalised
    assert StatusMapping.objects.get(text="已签收", courier=None).status == "delivered"


def test_administrator_edits_a_template_in_the_admin(sf, client_for):
    admin = client_for("administrator")
    admin.user.is_staff = True
    admin.user.save()
    template = ExportTemplate.objects.get(courier=sf)
    url = reverse("admin:logistics_exporttemplate_change", args=[template.pk])
    page = admin.get(url)
    assert page.status_code == 200 and "用户订单号" in page.content.decode()
    columns = list(template.columns.order_by("position"))
    data = {
        "courier": sf.pk,
        "name": template.name,
        "file_format": "csv",
        "sheet_name": "Sheet1",
        "note": "",
        "columns-TOTAL_FORMS": len(columns) + 1,
        "columns-INITIAL_FORMS": len(columns),
        "columns-MIN_NUM_FORMS": 0,
        "columns-MAX_NUM_FORMS": 1000,
    }
    for i, column in enumerate(columns):
        data.update(
            {
                f"columns-{i}-id": column.pk,
                f"columns-{i}-template": template.pk,
                f"columns-{i}-position": column.position,
                f"columns-{i}-header": column.header,
                f"columns-{i}-source": column.source,
                f"columns-{i}-fixed_value": column.fixed_value,
            }
        )
    n = len(columns)
    data.update(
        {
            f"columns-{n}-template": template.pk,
            f"columns-{n}-position": 99,
            f"columns-{n}-header": "店铺",
            f"columns-{n}-source": "fixed",
            f"columns-{n}-fixed_value": "电视购物",
        }
    )
    response = admin.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    template.refresh_from_db()
    assert template.file_format == "csv"
    added = template.columns.get(position=99)
    assert added.fixed_value == "电视购物"
    assert AuditEntry.objects.filter(action="create", object_id=str(added.pk)).exists()
