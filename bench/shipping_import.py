"""Status import: N courier status rows from .xlsx through the app, dry run and apply.

Run after ``shipping_export`` (it imports statuses for that batch's orders):
``make bench BENCH=shipping_import``. Measured in one run:

* the floor: python-calamine reading the file, one ``COPY`` into a temporary table and one
  ``UPDATE … FROM`` onto the shipments;
* the app: ``logistics_import_upload`` + ``logistics_import_check`` (the dry run) and
  ``logistics_import_apply`` (events inserted, shipments updated, orders moved
  EXPORTED → DELIVERED, one ``order_transition`` each).

Goal: within 2x of the floor's time.
"""

from __future__ import annotations

import io
import os
import time

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from bench.common import row, write_results
from bench.database import ensure_bench_database
from bench.shipping_export import PREFIX, peak_mb

NAME = "shipping_import"


def status_file() -> tuple[bytes, int]:
    from openpyxl import Workbook

    from logistics.models import Shipment

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Sheet1")
    sheet.append(["顺丰 状态回传"])
    sheet.append(["订单号", "快件状态", "时间", "网点", "备注"])
    n = 0
    for number in (
        Shipment.objects.filter(active=True, order__number__startswith=PREFIX)
        .values_list("order__number", flat=True)
        .iterator(chunk_size=5000)
    ):
        sheet.append([number, "已签收", "2026-11-21 10:00", "深圳南山", ""])
        n += 1
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue(), n


def floor_import(path: str) -> float:
    from python_calamine import load_workbook

    started = time.perf_counter()
    rows = load_workbook(path).get_sheet_by_index(0).iter_rows()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE bench_rows (number text, status text, place text)")
        with cursor.cursor.copy("COPY bench_rows (number, status, place) FROM STDIN") as copy:
            for i, cells in enumerate(rows):
                if i >= 2:
                    copy.write_row((cells[0], cells[1], cells[3]))
        cursor.execute(
            """UPDATE logistics_shipment s SET place = b.place
               FROM bench_rows b JOIN orders_order o ON o.number = b.number
               WHERE s.order_id = o.id AND s.active"""
        )
        transaction.set_rollback(True)
    return time.perf_counter() - started


def main() -> None:
    import tempfile

    from logistics.services import imports as svc
    from tvshop.accounts.models import User

    database = ensure_bench_database(benchmark=NAME, destructive=True)
    clerk = User.objects.get(username="bench_clerk")
    content, n = status_file()
    if not n:
        raise SystemExit("run the shipping_export benchmark first")
    params = {
        "rows": n,
        "database": database,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    with tempfile.NamedTemporaryFile(suffix=".xlsx") as handle:
        handle.write(content)
        handle.flush()
        floor = floor_import(handle.name)
    started = time.perf_counter()
    imp = svc.logistics_import_upload(
        actor=clerk, kind="status", upload=SimpleUploadedFile("status.xlsx", content)
    )
    imp = svc.logistics_import_check(import_id=imp.pk)
    dry = time.perf_counter() - started
    started = time.perf_counter()
    svc.logistics_import_apply_start(actor=clerk, import_id=imp.pk)
    imp = svc.logistics_import_apply(import_id=imp.pk)
    apply = time.perf_counter() - started
    assert imp.state == "done", imp.message
    peak = peak_mb()
    goal = "within 2x of calamine + COPY + UPDATE … FROM"
    write_results(
        NAME,
        [
            row(
                NAME,
                "dry run seconds",
                dry,
                "s",
                floor=floor,
                goal=goal,
                met=dry <= 2 * floor,
                params=params,
            ),
            row(
                NAME,
                "apply seconds",
                apply,
                "s",
                floor=floor,
                goal=goal,
                met=apply <= 2 * floor,
                params={**params, "orders_moved": imp.orders_moved},
            ),
            row(
                NAME,
                "peak RSS",
                peak,
                "MB",
                goal="bounded (< 500 MB)",
                met=peak < 500,
                params=params,
            ),
        ],
    )
