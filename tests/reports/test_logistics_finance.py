"""Logistics (by courier, status, province) and finance (COD expected vs received) statistics
from the order roll-up, on hand-built orders with known answers: equal to the raw
aggregations that define them, kept current by the incremental refresh."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse

from crm.models import Division
from orders.models import Order, OrderStatusChange
from tests.crm.factories import beijing_haidian, make_customer
from tests.factories import ProductFactory, UserFactory
from tests.orders.factories import make_order
from tests.reports.helpers import local
from tvshop.catalog.models import Courier
from tvshop.reports import selectors
from tvshop.reports.selectors import Period
from tvshop.reports.services import order_rollups_rebuild, rollups_refresh

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 11, 10)
PERIOD = Period(DAY, DAY)


@pytest.fixture
def orders():
    sf = Courier.objects.create(code="t-sf", name="顺丰 T")
    ems = Courier.objects.create(code="t-ems", name="EMS T")
    customer = make_customer(name="丙")
    agent = UserFactory()
    product = ProductFactory()

    def order(at, *, status, courier=None, cod=True, price="100.00", paid="0", **fields):
        o = make_order(
            customer=customer,
            agent=agent,
            status=status,
            products=[(product, 1, Decimal(price))],
            payment_method="cod" if cod else "prepaid",
            courier=courier,
            paid_amount=Decimal(paid),
            **fields,
        )
        Order.objects.filter(pk=o.pk).update(created_at=at)
        return o

    made = {
        # 00:30 local is 16:30 UTC the day before: the local day decides
        "sf_shipped": order(local(2026, 11, 10, 0, 30), status="shipped", courier=sf),
        "sf_delivered": order(
            local(2026, 11, 10, 9, 0),
            status="delivered",
            courier=sf,
            price="200.00",
            paid="200.00",
            payment_status="paid",
            divisions=beijing_haidian(),
        ),
        # refused at the door, then returned to the warehouse: refused ever
        "ems_returned": order(
            local(2026, 11, 10, 23, 59), status="returned", courier=ems, price="80.00"
        ),
        "ems_prepaid": order(
            local(2026, 11, 10, 12, 0),
            status="delivered",
            courier=ems,
            cod=False,
            price="50.00",
            paid="50.00",
            payment_status="paid",
        ),
        "no_courier": order(local(2026, 11, 10, 12, 10), status="submitted"),
        "merged": order(local(2026, 11, 10, 12, 20), status="merged", courier=sf),
        "next_day": order(local(2026, 11, 11, 0, 0), status="shipped", courier=sf),
    }
    OrderStatusChange.objects.create(
        order=made["ems_returned"],
        from_status="shipped",
        to_status="refused",
        at=local(2026, 11, 11, 9, 0),
    )
    rollups_refresh()
    return {"sf": sf, "ems": ems, **made}


def _by_key(table, key="key"):
    return {r[key]: r for r in table.rows}


def _counts(row):
    return (row["orders"], row["shipped"], row["delivered"], row["refused"])


def test_logistics_by_courier_status_province_have_the_known_answers(orders):
    couriers = _by_key(selectors.logistics_stats(period=PERIOD, by="courier"))
    assert {k: _counts(r) for k, r in couriers.items()} == {
        "顺丰 T": (2, 2, 1, 0),
        "EMS T": (2, 2, 1, 1),
        "—": (1, 0, 0, 0),
    }
    assert couriers["EMS T"]["delivery_rate"] == 0.5
    assert couriers["EMS T"]["refusal_rate"] == 0.5
    assert couriers["—"]["delivery_rate"] is None
    statuses = _by_key(selectors.logistics_stats(period=PERIOD, by="status"))
    assert {k: _counts(r) for k, r in statuses.items()} == {
        "shipped": (1, 1, 0, 0),
        "delivered": (2, 2, 2, 0),
        "returned": (1, 1, 0, 1),
        "submitted": (1, 0, 0, 0),
    }
    provinces = _by_key(selectors.logistics_stats(period=PERIOD, by="province"))
    guangdong = Division.objects.get(code="44").name
    beijing = Division.objects.get(code="11").name
    assert {k: _counts(r) for k, r in provinces.items()} == {
        guangdong: (4, 3, 1, 1),
        beijing: (1, 1, 1, 0),
    }
    for by in ("courier", "status", "province"):
        table = selectors.logistics_stats(period=PERIOD, by=by)
        assert table.source == "rollup"
        assert table.rows == selectors.logistics_stats_raw(period=PERIOD, by=by).rows
        assert [r["orders"] for r in table.rows] == sorted(
            (r["orders"] for r in table.rows), reverse=True
        )


def test_finance_counts_cod_orders_shipped_per_courier(orders):
    table = selectors.finance_stats(period=PERIOD)
    assert table.source == "rollup"
    assert table.rows == selectors.finance_stats_raw(period=PERIOD).rows
    rows = _by_key(table, "courier")
    assert set(rows) == {"顺丰 T", "EMS T"}  # the unshipped order's courier-less row: none
    sf, ems = rows["顺丰 T"], rows["EMS T"]
    assert (sf["orders"], sf["expected"], sf["received"], sf["paid_orders"]) == (
        2,
        Decimal("300.00"),
        Decimal("200.00"),
        1,
    )
    assert sf["outstanding"] == Decimal("100.00")
    assert sf["received_rate"] == Decimal("0.67")
    # the prepaid delivery is not COD: only the returned COD order
    assert (ems["orders"], ems["expected"], ems["received"], ems["paid_orders"]) == (
        1,
        Decimal("80.00"),
        Decimal("0.00"),
        0,
    )


def test_a_later_refusal_and_courier_change_reach_the_tables_incrementally(orders):
    order = orders["sf_shipped"]
    OrderStatusChange.objects.create(
        order=order, from_status="shipped", to_status="refused", at=local(2026, 11, 12)
    )
    Order.objects.filter(pk=order.pk).update(status="refused", courier=orders["ems"])
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports_dirtyhour WHERE source = 'order'")
        assert cur.fetchone()[0] > 0
    assert rollups_refresh().order_hours  # only the logged hour is recomputed
    couriers = _by_key(selectors.logistics_stats(period=PERIOD, by="courier"))
    assert _counts(couriers["顺丰 T"]) == (1, 1, 1, 0)
    assert _counts(couriers["EMS T"]) == (3, 3, 1, 2)
    statuses = _by_key(selectors.logistics_stats(period=PERIOD, by="status"))
    assert _counts(statuses["refused"]) == (1, 1, 0, 1)
    assert "shipped" not in statuses
    finance = _by_key(selectors.finance_stats(period=PERIOD), "courier")
    assert finance["EMS T"]["expected"] == Decimal("180.00")
    for by in ("courier", "status", "province"):
        assert (
            selectors.logistics_stats(period=PERIOD, by=by).rows
            == selectors.logistics_stats_raw(period=PERIOD, by=by).rows
        )
    assert selectors.finance_stats(period=PERIOD).rows == (
        selectors.finance_stats_raw(period=PERIOD).rows
    )


def test_order_rollups_rebuild_refills_only_the_order_rollup(orders):
    with connection.cursor() as cur:
        cur.execute("DELETE FROM reports_orderhour")
        cur.execute(
            "INSERT INTO reports_dirtyhour (hour, source) VALUES (%s, 'order')",
            [local(2026, 11, 10, 9, 0)],
        )
    assert selectors.logistics_stats(period=PERIOD).rows == []
    result = order_rollups_rebuild()
    assert result.order_hours
    assert selectors.logistics_stats(period=PERIOD).rows == (
        selectors.logistics_stats_raw(period=PERIOD).rows
    )
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports_dirtyhour WHERE source = 'order'")
        assert cur.fetchone()[0] == 0  # taken by the rebuild
    # a range: only its hours
    with connection.cursor() as cur:
        cur.execute("DELETE FROM reports_orderhour")
    order_rollups_rebuild(start=PERIOD.start, end=PERIOD.end)
    assert selectors.finance_stats(period=PERIOD).rows == (
        selectors.finance_stats_raw(period=PERIOD).rows
    )
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports_orderhour WHERE hour >= %s", [PERIOD.end])
        assert cur.fetchone()[0] == 0


def test_logistics_page_reads_the_rollup(client_for, orders, django_assert_max_num_queries):
    client = client_for("supervisor")
    url = reverse("reports:logistics")
    params = {"first": "2026-11-10", "last": "2026-11-10"}
    with django_assert_max_num_queries(20):
        response = client.get(url, params)
    assert response.status_code == 200
    body = response.content.decode()
    assert "顺丰 T" in body and "EMS T" in body
    assert "(from the raw records)" not in body
    for by in ("status", "province"):
        assert client.get(url, {**params, "by": by}).status_code == 200
