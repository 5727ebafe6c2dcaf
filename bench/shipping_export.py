"""Shipping export: N second-approved orders to one courier's .xlsx through the app.

Run with ``make bench BENCH=shipping_export`` (a bench database; rows from
``BENCH_SHIPPING_ROWS``, default 100,000). Measured in one run:

* the app: ``shipment_export_start`` + ``shipment_batch_build`` (orders moved to EXPORTED
  one ``order_transition`` each, shipments recorded, the file written and stored);
* the floor: openpyxl write-only of the same rows (values read with one query).

Peak memory is the process's peak resident set (``ru_maxrss``) after each part (the
floor runs first). Goal: within 1.5x of the floor's time; memory bounded.
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from decimal import Decimal

from django.db import connection, transaction

from bench.common import row, write_results
from bench.database import ensure_bench_database

NAME = "shipping_export"
ROWS = int(os.environ.get("BENCH_SHIPPING_ROWS", "100000"))
PREFIX = "BENCHSHIP"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_orders(n: int):
    """``n`` orders of the bench courier, all second-approved, no active shipment."""
    from crm.models import Customer, Division
    from logistics.defaults import courier_templates_load
    from logistics.models import Shipment
    from orders.models import Order, OrderLine
    from tvshop.accounts.models import User
    from tvshop.catalog.models import Courier, Product

    courier_templates_load()
    courier = Courier.objects.get(code="sf")
    clerk, _ = User.objects.get_or_create(username="bench_clerk")
    from django.contrib.auth.models import Group

    clerk.groups.add(Group.objects.get(name="logistics"))
    product, _ = Product.objects.get_or_create(
        sku="BENCH-SHIP", defaults={"name": "按摩椅", "price": Decimal("199.00")}
    )
    province, city, district = (Division.objects.get(code=c) for c in ("44", "4403", "440305"))
    with transaction.atomic():
        Shipment.objects.filter(order__number__startswith=PREFIX).update(active=False)
        existing = Order.objects.filter(number__startswith=PREFIX).count()
        # One customer per order, as in life (points accrue per customer on delivery).
        customers = Customer.objects.bulk_create(
            [Customer(name=f"客户{i}") for i in range(existing, n)], batch_size=5000
        )
        new = [
            Order(
                number=f"{PREFIX}{i:08d}",
                status="second_approved",
                customer=customers[i - existing],
                agent=clerk,
                recipient="张三",
                phone="+8613800138000",
                province=province,
                city=city,
                district=district,
                street=f"科技园南路 {i} 号",
                courier=courier,
                goods_amount=Decimal("199.00"),
                total=Decimal("199.00"),
                cod_amount=Decimal("199.00"),
                remark="=1+1" if i % 100 == 0 else "",
            )
            for i in range(existing, n)
        ]
        Order.objects.bulk_create(new, batch_size=5000)
        OrderLine.objects.bulk_create(
            (
                OrderLine(
                    order=o,
                    product=product,
                    sku=product.sku,
                    name=product.name,
                    list_price=product.price,
                    unit_price=product.price,
                    quantity=1,
                    amount=product.price,
                )
                for o in new
            ),
            batch_size=5000,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE orders_order SET status = 'second_approved' WHERE number LIKE %s",
                [PREFIX + "%"],
            )
    return clerk, courier


def floor_write(courier) -> float:
    from openpyxl import Workbook

    from logistics.services.rules import template_columns

    headers = [h for h, _s, _f in template_columns(courier)]
    started = time.perf_counter()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    sheet.append(headers)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT o.number, o.recipient, o.phone, p.name, c.name, d.name, o.street,
                      o.cod_amount, o.goods_amount, o.remark
               FROM orders_order o JOIN crm_division p ON p.code = o.province_id
               JOIN crm_division c ON c.code = o.city_id
               JOIN crm_division d ON d.code = o.district_id
               WHERE o.number LIKE %s ORDER BY o.id""",
            [PREFIX + "%"],
        )
        while rows := cursor.fetchmany(2000):
            for r in rows:
                sheet.append([*r, *([""] * (len(headers) - len(r)))][: len(headers)])
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        workbook.save(handle.name)
    return time.perf_counter() - started


def main() -> None:
    from logistics.services.exports import shipment_batch_build, shipment_export_start

    database = ensure_bench_database(benchmark=NAME, destructive=True)
    clerk, courier = ensure_orders(ROWS)
    params = {
        "orders": ROWS,
        "database": database,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    floor = floor_write(courier)
    floor_peak = peak_mb()
    started = time.perf_counter()
    [batch] = shipment_export_start(actor=clerk, courier=courier)
    batch = shipment_batch_build(batch_id=batch.pk)
    app = time.perf_counter() - started
    app_peak = peak_mb()
    assert batch.order_count == ROWS, (batch.order_count, batch.message)
    write_results(
        NAME,
        [
            row(
                NAME,
                "export seconds",
                app,
                "s",
                floor=floor,
                goal="within 1.5x of openpyxl write-only",
                met=app <= 1.5 * floor,
                params=params,
            ),
            row(
                NAME,
                "peak RSS after floor",
                floor_peak,
                "MB",
                goal="bounded",
                met=True,
                params=params,
            ),
            row(
                NAME,
                "peak RSS after export",
                app_peak,
                "MB",
                goal="bounded (< 500 MB)",
                met=app_peak < 500,
                params=params,
            ),
        ],
    )
