"""Shipping export: N second-approved orders to one courier's .xlsx through the app.

Run with ``make bench BENCH=shipping_export`` (a bench database; rows from
``BENCH_SHIPPING_ROWS``, default 100,000). Measured in one run:

* the app: ``shipment_export_start`` + ``shipment_batch_build`` (orders moved to EXPORTED
  set-based, shipments recorded, the file written from one server-side cursor and stored);
* the floor: openpyxl write-only of the same rows (values read with one query).

Each part runs in a fresh child process (``python -m bench.shipping_export --part …``) and
its peak memory is that child's own ``ru_maxrss`` (``os.wait4``), so neither part's
memory hides the other's. The app also runs on a tenth of the rows first: its peak must not
grow with the rows. Goal: within 1.5x of the floor's time; memory bounded.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from django.db import connection, transaction

from bench.common import row, write_results
from bench.database import ensure_bench_database

NAME = "shipping_export"
ROWS = int(os.environ.get("BENCH_SHIPPING_ROWS", "100000"))
PREFIX = "BENCHSHIP"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_orders(n: int, *, ready: int | None = None):
    """``n`` orders of the bench courier, no active shipment; the first ``ready`` of them
    (all by default) second-approved, the rest parked as exported."""
    from crm.models import Customer, Division
    from logistics.defaults import courier_templates_load
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
        # Earlier runs' shipments (and their tracking events) go: every run starts clean.
        with connection.cursor() as cursor:
            cursor.execute(
                """CREATE TEMP TABLE bench_old_shipments ON COMMIT DROP AS
                   SELECT s.id FROM logistics_shipment s JOIN orders_order o ON o.id = s.order_id
                   WHERE o.number LIKE %s""",
                [PREFIX + "%"],
            )
            cursor.execute(
                "DELETE FROM logistics_trackingevent WHERE shipment_id IN "
                "(SELECT id FROM bench_old_shipments)"
            )
            cursor.execute(
                "DELETE FROM logistics_shipment WHERE id IN (SELECT id FROM bench_old_shipments)"
            )
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
        ready = n if ready is None else ready
        with connection.cursor() as cursor:
            cursor.execute(
                """UPDATE orders_order SET status = CASE WHEN number < %s
                       THEN 'second_approved' ELSE 'exported' END
                   WHERE number LIKE %s""",
                [f"{PREFIX}{ready:08d}", PREFIX + "%"],
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE orders_order")
        cursor.execute("VACUUM ANALYZE logistics_shipment")
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
               WHERE o.number LIKE %s AND o.status = 'second_approved' ORDER BY o.id""",
            [PREFIX + "%"],
        )
        while rows := cursor.fetchmany(2000):
            for r in rows:
                sheet.append([*r, *([""] * (len(headers) - len(r)))][: len(headers)])
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        workbook.save(handle.name)
    return time.perf_counter() - started


def run_part(part: str) -> dict:
    """One measured part in this (child) process; returns its seconds."""
    from logistics.services.exports import shipment_batch_build, shipment_export_start
    from tvshop.accounts.models import User
    from tvshop.catalog.models import Courier

    clerk = User.objects.get(username="bench_clerk")
    courier = Courier.objects.get(code="sf")
    if part == "floor":
        return {"seconds": floor_write(courier)}
    started = time.perf_counter()
    [batch] = shipment_export_start(actor=clerk, courier=courier)
    batch = shipment_batch_build(batch_id=batch.pk)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "orders": batch.order_count, "message": batch.message}


def own_peak_mb() -> float:
    """This process's own peak resident set (VmHWM). Not ``ru_maxrss``: Linux carries a
    parent's peak over fork and exec, so a child would report the parent's seeding."""
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return peak_mb()


def in_child(module: str, part: str) -> tuple[dict, float]:
    """Run ``part`` in a fresh interpreter; its result and its own peak RSS in MB."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        child = subprocess.Popen([sys.executable, "-m", module, "--part", part, "--out", out.name])
        child.wait()
        if child.returncode != 0:
            raise SystemExit(f"{module} --part {part} failed ({child.returncode})")
        result = json.loads(Path(out.name).read_text() or "{}")
    return result, result["peak_mb"]


def child_main(argv: list[str]) -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvshop.settings")
    django.setup()
    part, out = argv[argv.index("--part") + 1], argv[argv.index("--out") + 1]
    result = run_part(part)
    result["peak_mb"] = own_peak_mb()
    Path(out).write_text(json.dumps(result))


def main() -> None:
    database = ensure_bench_database(benchmark=NAME, destructive=True)
    params = {
        "orders": ROWS,
        "database": database,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    small = max(ROWS // 10, 1)
    # The app on a tenth of the rows: its peak memory is the baseline for "bounded".
    ensure_orders(ROWS, ready=small)
    small_app, small_peak = in_child(__name__, "app")
    assert small_app["orders"] == small, small_app
    ensure_orders(ROWS)
    floor, floor_peak = in_child(__name__, "floor")
    app, app_peak = in_child(__name__, "app")
    assert app["orders"] == ROWS, app
    grew = app_peak - small_peak
    write_results(
        NAME,
        [
            row(
                NAME,
                "export seconds",
                app["seconds"],
                "s",
                floor=floor["seconds"],
                goal="within 1.5x of openpyxl write-only",
                met=app["seconds"] <= 1.5 * floor["seconds"],
                params=params,
            ),
            row(
                NAME,
                "peak RSS, floor (own process)",
                floor_peak,
                "MB",
                goal="reference",
                met=True,
                params=params,
            ),
            row(
                NAME,
                "peak RSS, export (own process)",
                app_peak,
                "MB",
                floor=floor_peak,
                goal="bounded: < 500 MB and < 1.25x the peak at a tenth of the rows",
                met=app_peak < 500 and app_peak <= 1.25 * small_peak,
                params={**params, "peak_at_tenth_mb": round(small_peak, 1), "grew_mb": grew},
            ),
            row(
                NAME,
                f"export seconds, {small} orders",
                small_app["seconds"],
                "s",
                goal="reference (memory baseline)",
                met=True,
                params={**params, "orders": small},
            ),
        ],
    )


if __name__ == "__main__":
    child_main(sys.argv[1:])
