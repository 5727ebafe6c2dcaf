"""COD reconciliation: matching, the difference categories, payments recorded once."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from logistics.choices import ImportKind, JobState
from logistics.choices import RemittanceResult as R
from logistics.models import RemittanceLine
from logistics.services import imports as svc
from orders.choices import OrderStatus, PaymentChannel
from orders.models import Payment
from tests.logistics.conftest import exported, upload, xlsx_bytes

pytestmark = pytest.mark.django_db


def _check(actor, content, courier):
    imp = svc.logistics_import_upload(
        actor=actor, kind=ImportKind.REMITTANCE, courier=courier, upload=upload("r.xlsx", content)
    )
    return svc.logistics_import_check(import_id=imp.pk)


def _apply(actor, imp):
    svc.logistics_import_apply_start(actor=actor, import_id=imp.pk)
    return svc.logistics_import_apply(import_id=imp.pk)


def test_remittance_is_reconciled_and_recorded_once(sf, finance, client_for):
    waybills = [f"SF60000000{i:02d}" for i in range(6)]
    orders = exported(sf, n=6, waybills=waybills)
    for order in orders:
        order.status = OrderStatus.DELIVERED  # test set-up: delivered by the courier
        order.save(update_fields=["status"])
    refused = orders[4]
    refused.status = OrderStatus.REFUSED
    refused.save(update_fields=["status"])
    missing = orders[5]
    cod = orders[0].cod_amount
    content = xlsx_bytes(
        [
            ["运单号", "代收货款", "手续费", "回款日期", "回款批次"],
            [waybills[0], float(cod), 2, "2026-11-20", "B1"],  # matched
            [waybills[1], float(cod - 10), 2, "2026-11-20", "B1"],  # short
            [waybills[2], float(cod + 5), 2, "2026-11-20", "B1"],  # over
            [waybills[0], float(cod), 2, "2026-11-20", "B1"],  # duplicate waybill
            ["SF6999999999", 100, 1, "2026-11-20", "B1"],  # unknown
            [waybills[4], float(cod), 2, "2026-11-20", "B1"],  # refused but charged
            [waybills[3], "abc", 2, "2026-11-20", "B1"],  # unreadable amount
        ],
        title="代收货款回款明细",
        merge=5,
    )
    imp = _check(finance, content, sf)
    assert imp.state == JobState.CHECKED
    results = dict(
        RemittanceLine.objects.filter(source=imp, row__isnull=False).values_list("row", "result")
    )
    assert results == {
        3: R.MATCHED,
        4: R.SHORT,
        5: R.OVER,
        6: R.DUPLICATE,
        7: R.UNKNOWN,
        8: R.REFUSED_CHARGED,
        9: R.INVALID,
    }
    missing_lines = RemittanceLine.objects.filter(source=imp, result=R.MISSING)
    assert {line.order_id for line in missing_lines} == {missing.pk, orders[3].pk}
    assert (imp.to_change, imp.error_count) == (3, 4)
    assert not Payment.objects.exists()
    imp = _apply(finance, imp)
    assert imp.state == JobState.DONE
    payments = {p.order_id: p for p in Payment.objects.filter(channel=PaymentChannel.COD)}
    assert set(payments) == {orders[0].pk, orders[1].pk, orders[2].pk}
    assert payments[orders[0].pk].amount == cod
    assert payments[orders[1].pk].amount == cod - Decimal("10")
    assert payments[orders[2].pk].amount == orders[2].total  # no more than was due
    assert payments[orders[0].pk].reference == f"sf:{waybills[0]}"
    orders[0].refresh_from_db()
    assert orders[0].payment_status == "paid"
    # the same file again records nothing new
    again = _apply(finance, _check(finance, content, sf))
    assert again.to_change == 0 and again.unchanged == 3
    assert Payment.objects.count() == 3
    # the report downloads as a workbook; pages check permissions
    client = client_for("finance")
    response = client.get(reverse("logistics:remittance_report", args=[imp.pk]))
    assert response.status_code == 200
    rows = list(load_workbook(io.BytesIO(response.content)).active.iter_rows(values_only=True))
    assert len(rows) == 1 + RemittanceLine.objects.filter(source=imp).count()
    detail = client.get(reverse("logistics:import_detail", args=[imp.pk]))
    assert detail.status_code == 200 and b"remittance-summary" in detail.content
    clerk = client_for("logistics")
    assert clerk.get(reverse("logistics:remittance_report", args=[imp.pk])).status_code == 403
    assert clerk.post(reverse("logistics:import_apply", args=[again.pk])).status_code == 403
