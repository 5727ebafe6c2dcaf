"""Every column a template can ask for, as the one SQL statement of the export fills it,
against the values computed from the order in Python; the set-based move's rows."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.utils import timezone
from django.utils.translation import gettext
from openpyxl import load_workbook

from crm.phones import phone_display
from logistics.choices import ColumnSource
from logistics.models import ExportTemplate, TemplateColumn
from logistics.services.exports import shipment_batch_build, shipment_export_start
from orders.choices import OrderStatus, PaymentMethod
from orders.models import Order, OrderGift, OrderStatusChange
from tests.crm.factories import beijing_haidian
from tests.factories import GiftFactory, ProductFactory, StationFactory
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db

ALL = [s for s in ColumnSource.values if s != ColumnSource.FIXED]


def _template(courier, sources, fixed="顺丰标快"):
    ExportTemplate.objects.filter(courier=courier).delete()
    template = ExportTemplate.objects.create(courier=courier, name="all columns")
    for position, source in enumerate([*sources, ColumnSource.FIXED], start=1):
        TemplateColumn.objects.create(
            template=template,
            position=position,
            header=f"h-{source}",
            source=source,
            fixed_value=fixed if source == ColumnSource.FIXED else "",
        )
    return [f"h-{s}" for s in [*sources, ColumnSource.FIXED]]


def _build(actor, courier):
    [batch] = shipment_export_start(actor=actor, courier=courier)
    batch = shipment_batch_build(batch_id=batch.pk)
    with batch.file.open("rb") as handle:
        sheet = load_workbook(io.BytesIO(handle.read())).active
    return batch, sheet


def test_every_source_column_matches_the_order(zto, clerk):
    # Given an order to Beijing (a municipality) with two lines, a gift, a landline phone,
    # a station and a bank-transfer payment; and one with a foreign mobile and a risky
    # street and recipient
    headers = _template(zto, ALL)
    heavy = ProductFactory(name="按摩椅", weight_kg=Decimal("12.500"))
    light = ProductFactory(name="靠垫", weight_kg=Decimal("0.250"))
    station = StationFactory(name="湖南卫视")
    a = make_order(
        courier=zto,
        products=[(heavy, 1, Decimal("999.00")), (light, 3, Decimal("20.00"))],
        phone="+861088881234",
        station=station,
        divisions=beijing_haidian(),
        payment_method=PaymentMethod.PREPAID,
        remark="门口放",
    )
    gift = GiftFactory(name="保温杯")
    OrderGift.objects.create(
        order=a, gift=gift, sku=gift.sku, name=gift.name, quantity=2, value=Decimal("0")
    )
    b = make_order(
        courier=zto, phone="+85291234567", recipient="-张三", street="+1 科技园", remark="@x"
    )
    # When the clerk exports them
    batch, sheet = _build(clerk, zto)
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == headers
    by_number = {r[0]: dict(zip([*ALL, "fixed"], r, strict=True)) for r in rows[1:]}
    # Then every cell is what the order says
    ra = by_number[a.number]
    a = Order.objects.select_related("province", "city", "district").get(pk=a.pk)
    assert ra["recipient"] == a.recipient
    assert ra["phone"] == phone_display("+861088881234") == "010-88881234"
    assert (ra["province"], ra["city"], ra["district"]) == (
        a.province.name,
        a.city.name,
        a.district.name,
    )
    assert ra["street"] == a.street
    # 北京市 北京市 海淀区 → once
    assert ra["full_address"] == a.province.name + a.district.name + a.street
    # the gift prefix is in the exporting language (zh-hans: 赠品)
    assert ra["goods"] == f"按摩椅×1; 靠垫×3; {gettext('Gift')}:保温杯×2"
    assert ra["pieces"] == 6
    assert Decimal(str(ra["weight"])) == Decimal("13.25")
    assert Decimal(str(ra["cod_amount"])) == Decimal("0")  # not cash on delivery
    assert Decimal(str(ra["declared_value"])) == a.goods_amount
    assert Decimal(str(ra["total"])) == a.total
    assert ra["remark"] == "门口放"
    assert ra["station"] == "湖南卫视"
    assert ra["order_date"] == timezone.localtime(a.created_at).date().isoformat()
    assert ra["empty"] in ("", None)
    assert ra["fixed"] == "顺丰标快"
    rb = by_number[b.number]
    # Risky first characters are neutralised, phones stay text
    assert rb["recipient"] == "'-张三"
    assert rb["street"] == "'+1 科技园"
    assert rb["remark"] == "'@x"
    assert rb["phone"] == "'+85291234567"
    assert rb["station"] in ("", None)
    assert Decimal(str(rb["cod_amount"])) == b.cod_amount
    phone_col = ALL.index("phone") + 1
    assert all(sheet.cell(row=i, column=phone_col).data_type == "s" for i in (2, 3))
    assert batch.order_count == 2


def test_a_risky_fixed_value_is_neutralised(zto, clerk):
    _template(zto, [ColumnSource.ORDER_NUMBER], fixed="=SUM(A1)")
    order = make_order(courier=zto)
    _batch, sheet = _build(clerk, zto)
    assert list(sheet.iter_rows(values_only=True))[1] == (order.number, "'=SUM(A1)")


def test_the_set_based_move_records_a_status_change_and_an_audit_entry_per_order(zto, clerk):
    orders = [make_order(courier=zto) for _ in range(3)]
    batch, _sheet = _build(clerk, zto)
    ids = [o.pk for o in orders]
    assert set(Order.objects.filter(pk__in=ids).values_list("status", flat=True)) == {
        OrderStatus.EXPORTED
    }
    changes = OrderStatusChange.objects.filter(order_id__in=ids)
    assert changes.count() == 3
    assert {(c.from_status, c.to_status, c.actor_id, c.note) for c in changes} == {
        (OrderStatus.SECOND_APPROVED, OrderStatus.EXPORTED, clerk.pk, batch.number)
    }
    entries = AuditEntry.objects.filter(
        action="status", object_id__in=[str(i) for i in ids], actor=clerk
    )
    assert entries.count() == 3
    entry = entries.get(object_id=str(orders[0].pk))
    assert entry.before == {"status": "second_approved"}
    assert entry.after == {"status": "exported"}
    assert entry.object_repr == orders[0].number


@pytest.mark.django_db(transaction=True)
def test_the_overlapped_build_writes_every_row_and_moves_every_order(make_user):
    # The Celery path: the batch's transaction is the outermost one, so the move runs on
    # a worker thread while the rows are read over a second connection.
    from logistics.defaults import courier_templates_load
    from tvshop.catalog.models import Courier

    courier_templates_load()
    sf = Courier.objects.get(code="sf")
    clerk = make_user("logistics")
    orders = [make_order(courier=sf, remark="=1+1" if i == 0 else "") for i in range(25)]
    batch, sheet = _build(clerk, sf)
    rows = list(sheet.iter_rows(values_only=True))
    assert [r[0] for r in rows[1:]] == [o.number for o in orders]
    assert batch.order_count == 25
    assert Order.objects.filter(status=OrderStatus.EXPORTED).count() == 25
    assert OrderStatusChange.objects.filter(to_status=OrderStatus.EXPORTED).count() == 25
    assert batch.shipments.filter(active=True).count() == 25
