"""Status import: N courier status rows from .xlsx through the app, dry run and apply.

Run after ``shipping_export`` (it imports statuses for that batch's orders):
``make bench BENCH=shipping_import``. Measured in one run:

* the floor: python-calamine reading the file, one ``COPY`` into a temporary table and one
  ``UPDATE … FROM`` onto the shipments;
* the app: ``logistics_import_upload`` + ``logistics_import_check`` (the dry run) and
  ``logistics_import_apply`` (events inserted, shipments updated, orders moved
  EXPORTED → DELIVERED set-based, with their status changes and audit entries).

The floor, the dry run and the apply each run in a fresh child process
(``python -m bench.shipping_import --part …``); each reports its own peak resident set
(VmHWM), so no part's memory hides another's. Goal: within 2x of the floor's time.
"""

from __future__ import annotations

import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction

from bench.common import row, write_results
from bench.database import ensure_bench_database
from bench.shipping_export import PREFIX, in_child, own_peak_mb

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


FILE = Path(tempfile.gettempdir()) / "tvshop_bench_shipping_import.xlsx"


def run_part(part: str) -> dict:
    from logistics.models import LogisticsImport
    from logistics.services import imports as svc
    from tvshop.accounts.models import User

    clerk = User.objects.get(username="bench_clerk")
    if part == "floor":
        return {"seconds": floor_import(str(FILE))}
    if part == "dry":
        content = FILE.read_bytes()
        started = time.perf_counter()
        imp = svc.logistics_import_upload(
            actor=clerk, kind="status", upload=SimpleUploadedFile("status.xlsx", content)
        )
        imp = svc.logistics_import_check(import_id=imp.pk)
        return {
            "seconds": time.perf_counter() - started,
            "import": imp.pk,
            "state": imp.state,
            "to_change": imp.to_change,
            "errors": imp.error_count,
        }
    imp = LogisticsImport.objects.filter(created_by=clerk, state="checked").latest("id")
    started = time.perf_counter()
    svc.logistics_import_apply_start(actor=clerk, import_id=imp.pk)
    imp = svc.logistics_import_apply(import_id=imp.pk)
    return {
        "seconds": time.perf_counter() - started,
        "state": imp.state,
        "message": imp.message,
        "orders_moved": imp.orders_moved,
    }


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
    content, n = status_file()
    if not n:
        raise SystemExit("run the shipping_export benchmark first")
    FILE.write_bytes(content)
    del content
    params = {
        "rows": n,
        "database": database,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": round(os.getloadavg()[0], 2),
    }
    floor, floor_peak = in_child(__name__, "floor")
    dry, dry_peak = in_child(__name__, "dry")
    assert dry["state"] == "checked", dry
    apply, apply_peak = in_child(__name__, "apply")
    assert apply["state"] == "done", apply
    goal = "within 2x of calamine + COPY + UPDATE … FROM"
    memory_goal = "bounded (< 500 MB)"
    write_results(
        NAME,
        [
            row(
                NAME,
                "dry run seconds",
                dry["seconds"],
                "s",
                floor=floor["seconds"],
                goal=goal,
                met=dry["seconds"] <= 2 * floor["seconds"],
                params={**params, "to_change": dry["to_change"], "errors": dry["errors"]},
            ),
            row(
                NAME,
                "apply seconds",
                apply["seconds"],
                "s",
                floor=floor["seconds"],
                goal=goal,
                met=apply["seconds"] <= 2 * floor["seconds"],
                params={**params, "orders_moved": apply["orders_moved"]},
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
                "peak RSS, dry run (own process)",
                dry_peak,
                "MB",
                floor=floor_peak,
                goal=memory_goal,
                met=dry_peak < 500,
                params=params,
            ),
            row(
                NAME,
                "peak RSS, apply (own process)",
                apply_peak,
                "MB",
                floor=floor_peak,
                goal=memory_goal,
                met=apply_peak < 500,
                params=params,
            ),
        ],
    )


if __name__ == "__main__":
    child_main(sys.argv[1:])
