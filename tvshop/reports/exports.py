"""Statistics tables as .xlsx (openpyxl write-only; text cells formula-safe)."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from tvshop.reports import selectors
from tvshop.reports.selectors import Period, Table

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {
    "seconds": "0.0",
    "duration": "0",
    "percent": "0.0%",
    "money": "#,##0.00",
    "ratio": "0.00",
    "datetime": "yyyy-mm-dd hh:mm",
}


def _value(value, kind: str):
    from crm.services.leads import cell_safe

    if value is None:
        return None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    if isinstance(value, str):
        return cell_safe(value)
    return value


def _sheet(book, table: Table) -> None:
    from openpyxl.cell import WriteOnlyCell

    title = "".join(" " if ch in "[]:*?/\\" else ch for ch in table.title)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(
        [
            str(c.label) + (" (s)" if c.kind in ("seconds", "duration") else "")
            for c in table.columns
        ]
    )
    for row in table.rows:
        cells = []
        for column in table.columns:
            cell = WriteOnlyCell(sheet, value=_value(row.get(column.key), column.kind))
            if column.kind in FORMATS:
                cell.number_format = FORMATS[column.kind]
            cells.append(cell)
        sheet.append(cells)
    if table.note:
        sheet.append([])
        sheet.append([_value(table.note, "text")])


def tables_xlsx(tables: list[Table]) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    for table in tables:
        _sheet(book, table)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_tables(*, kind: str, period: Period) -> list[Table]:
    if kind == "queue":
        return [
            selectors.queue_stats(period=period),
            selectors.queue_stats(period=period, group="day"),
        ]
    if kind == "agent":
        return [selectors.agent_stats(period=period)]
    if kind == "media":
        return [selectors.media_efficiency(period=period), selectors.slot_efficiency(period=period)]
    if kind == "funnel":
        return [selectors.funnel(period=period, by=by) for by in ("station", "product", "agent")]
    raise ValueError(kind)


def report_workbook(*, kind: str, start: dt.date, end: dt.date) -> tuple[bytes, str]:
    tables = report_tables(kind=kind, period=Period(start, end))
    return tables_xlsx(tables), f"{kind}-{start:%Y%m%d}-{end:%Y%m%d}.xlsx"
