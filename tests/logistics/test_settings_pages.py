"""Courier settings pages without the admin: export templates (add, remove, reorder
columns), default courier by province, freight rules, status mappings. Permission-gated,
audited, bad input shown in the form with a 400."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from logistics.models import ExportTemplate, FreightRule, StatusMapping
from tvshop.audit.models import AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _columns_post(template_data: dict, rows: list[dict]) -> dict:
    data = {
        "columns-TOTAL_FORMS": str(len(rows)),
        "columns-INITIAL_FORMS": "0",
        "columns-MIN_NUM_FORMS": "0",
        "columns-MAX_NUM_FORMS": "1000",
        **template_data,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"columns-{i}-{key}"] = value
    return data


def _layout(courier):
    template = ExportTemplate.objects.get(courier=courier)
    return [
        (c.position, c.header, c.source, c.fixed_value)
        for c in template.columns.order_by("position")
    ]


def test_template_columns_are_reordered_removed_and_added(sf, client_for):
    admin = client_for("administrator")
    url = reverse("logistics:template_edit", args=[sf.pk])
    page = admin.get(url)
    assert page.status_code == 200 and "用户订单号" in page.content.decode()
    before = _layout(sf)
    # When the administrator swaps the first two columns, removes the third, adds a fixed one
    rows = [
        {"order": str(pos), "header": header, "source": source, "fixed_value": fixed}
        for pos, header, source, fixed in before
    ]
    rows[0]["order"], rows[1]["order"] = "2", "1"
    rows[2]["remove"] = "on"
    rows.append({"order": "99", "header": "支付方式", "source": "fixed", "fixed_value": "寄付月结"})
    rows.append({"order": "", "header": "", "source": "", "fixed_value": ""})  # blank row
    data = {"name": "顺丰批量下单模板", "file_format": "xlsx", "sheet_name": "Sheet1", "note": ""}
    response = admin.post(url, _columns_post(data, rows))
    # Then the layout is saved in the new order, renumbered, and audited
    assert response.status_code == 302, response.content.decode()[-3000:]
    after = _layout(sf)
    assert [h for _p, h, _s, _f in after] == [
        before[1][1],
        before[0][1],
        *[h for _p, h, _s, _f in before[3:]],
        "支付方式",
    ]
    assert [p for p, *_ in after] == list(range(1, len(after) + 1))
    assert after[-1][2:] == ("fixed", "寄付月结")
    entry = AuditEntry.objects.filter(
        action="update", object_id=str(ExportTemplate.objects.get(courier=sf).pk)
    ).latest("id")
    assert len(entry.before["columns"]) == len(before)
    assert len(entry.after["columns"]) == len(after)


def test_bad_template_input_is_shown_and_nothing_changes(sf, client_for):
    admin = client_for("administrator")
    url = reverse("logistics:template_edit", args=[sf.pk])
    before = _layout(sf)
    rows = [
        {"order": "1", "header": "订单号", "source": "order_number", "fixed_value": ""},
        {"order": "2", "header": "业务类型", "source": "", "fixed_value": "顺丰标快"},
    ]
    data = {"name": "x", "file_format": "xlsx", "sheet_name": "Sheet1"}
    response = admin.post(url, _columns_post(data, rows))
    assert response.status_code == 400
    assert "Column 2: choose what fills it." in response.content.decode()
    duplicate = [
        {"order": "1", "header": "订单号", "source": "order_number", "fixed_value": ""},
        {"order": "2", "header": "订单号", "source": "recipient", "fixed_value": ""},
    ]
    response = admin.post(url, _columns_post(data, duplicate))
    assert response.status_code == 400 and "Header text used twice" in response.content.decode()
    assert _layout(sf) == before


def test_settings_pages_are_permission_gated(sf, client_for, client):
    # clerks read templates and rules (to see what an export will contain), they do not
    # change them: administrators do
    clerk = client_for("logistics")
    assert clerk.get(reverse("logistics:template_edit", args=[sf.pk])).status_code == 403
    assert clerk.post(reverse("logistics:template_edit", args=[sf.pk]), {}).status_code == 403
    assert clerk.get(reverse("logistics:template_list")).status_code == 200
    assert clerk.get(reverse("logistics:rule_list", args=["freight-rules"])).status_code == 200
    assert client_for("agent").get(reverse("logistics:template_list")).status_code == 403
    assert (
        client_for("agent").get(reverse("logistics:rule_list", args=["freight-rules"])).status_code
        == 403
    )
    assert (
        clerk.post(
            reverse("logistics:rule_create", args=["freight-rules"]),
            {"courier": sf.pk, "first_kg": "10", "additional_kg": "2"},
        ).status_code
        == 403
    )
    assert not FreightRule.objects.filter(courier=sf, province__isnull=True, first_kg=10).exists()
    anonymous = client.get(reverse("logistics:rule_list", args=["status-mappings"]))
    assert anonymous.status_code == 302
    assert client_for("administrator").get(
        reverse("logistics:rule_list", args=["nothing-like-this"])
    ).status_code in (403, 404)


def test_freight_rule_and_status_mapping_pages(sf, zto, client_for, django_assert_max_num_queries):
    admin = client_for("administrator")
    FreightRule.objects.filter(courier=zto).delete()
    create = reverse("logistics:rule_create", args=["freight-rules"])
    # bad input: a negative amount comes back in the form
    bad = admin.post(create, {"courier": zto.pk, "first_kg": "-1", "additional_kg": "2"})
    assert bad.status_code == 400 and b"first_kg" in bad.content
    ok = admin.post(create, {"courier": zto.pk, "first_kg": "12.00", "additional_kg": "3.00"})
    assert ok.status_code == 302
    rule = FreightRule.objects.get(courier=zto, province__isnull=True)
    assert rule.first_kg == Decimal("12.00")
    assert AuditEntry.objects.filter(action="create", object_id=str(rule.pk)).exists()
    edit = reverse("logistics:rule_update", args=["freight-rules", rule.pk])
    assert (
        admin.post(
            edit, {"courier": zto.pk, "first_kg": "13.00", "additional_kg": "3.00"}
        ).status_code
        == 302
    )
    rule.refresh_from_db()
    assert rule.first_kg == Decimal("13.00")
    # a second default rule for the same courier is refused in the form
    again = admin.post(create, {"courier": zto.pk, "first_kg": "1", "additional_kg": "1"})
    assert again.status_code == 400
    # status mappings: the text is stored normalised; a duplicate is refused
    mappings = reverse("logistics:rule_create", args=["status-mappings"])
    assert (
        admin.post(
            mappings, {"courier": zto.pk, "text": " 已 揽收 ", "status": "picked_up"}
        ).status_code
        == 302
    )
    assert StatusMapping.objects.filter(courier=zto, text="已揽收").exists()
    dup = admin.post(mappings, {"courier": zto.pk, "text": "已揽收", "status": "in_transit"})
    assert dup.status_code == 400
    with django_assert_max_num_queries(12):
        listing = admin.get(reverse("logistics:rule_list", args=["status-mappings"]))
    assert listing.status_code == 200 and "已揽收" in listing.content.decode()
    # delete, audited
    delete = reverse("logistics:rule_delete", args=["freight-rules", rule.pk])
    assert admin.post(delete).status_code == 302
    assert not FreightRule.objects.filter(pk=rule.pk).exists()
    assert AuditEntry.objects.filter(action="delete", object_id=str(rule.pk)).exists()
