"""Reading courier files: .xlsx (python-calamine) and .csv (UTF-8 or GBK), as couriers
send them — the header row anywhere in the first rows, merged title rows above it, header
text with variants and stray spaces, numbers that Excel stored as floats.

Everything here is pure (no database): ``open_sheet`` finds the header and yields
``(row_number, {field: cell})`` with the spreadsheet's own row numbers, and the
``clean_*`` functions turn one cell into a value or raise ``CellError`` with a reason a
clerk can act on.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.utils import timezone
from django.utils.translation import gettext as _

HEADER_SCAN_ROWS = 30

# field → header variants (normalised with normalize_text). First match wins per column.
HEADER_ALIASES: dict[str, list[str]] = {
    "order_number": [
        "订单号",
        "订单编号",
        "客户订单号",
        "商家订单号",
        "用户订单号",
        "客户单号",
        "参考号",
        "客户参考号",
        "订单号码",
        "ordernumber",
        "orderno",
        "order",
    ],
    "waybill": [
        "运单号",
        "运单编号",
        "运单号码",
        "快递单号",
        "物流单号",
        "面单号",
        "单号",
        "快件单号",
        "waybill",
        "waybillno",
        "trackingnumber",
        "trackingno",
    ],
    "status": [
        "状态",
        "物流状态",
        "快递状态",
        "运单状态",
        "快件状态",
        "签收状态",
        "派送状态",
        "最新状态",
        "status",
    ],
    "time": [
        "时间",
        "状态时间",
        "更新时间",
        "操作时间",
        "扫描时间",
        "签收时间",
        "最新时间",
        "time",
    ],
    "place": ["地点", "所在地", "当前位置", "扫描网点", "网点", "站点", "城市", "place"],
    "remark": ["备注", "说明", "描述", "详情", "remark", "note"],
    "collected": [
        "代收金额",
        "代收货款",
        "代收款",
        "实收金额",
        "代收货款金额",
        "货款金额",
        "cod金额",
        "collected",
        "codamount",
    ],
    "fee": ["手续费", "服务费", "代收手续费", "代收服务费", "fee"],
    "remitted_on": ["回款日期", "汇款日期", "打款日期", "结算日期", "回款时间", "remittedon"],
    "courier_batch": ["回款批次", "批次号", "结算单号", "回款单号", "批次", "batch"],
}

# What each kind of import needs: at least one of the first group, all of the rest.
REQUIRED: dict[str, tuple[set[str], set[str]]] = {
    "waybill": ({"order_number"}, {"waybill"}),
    "status": ({"waybill", "order_number"}, {"status"}),
    "remittance": ({"waybill", "order_number"}, {"collected"}),
}

_SPACES = re.compile(r"\s+")
_HEADER_JUNK = re.compile(r"[\s*＊:：()（）\[\]【】]")
_SCIENTIFIC = re.compile(r"^[+-]?\d+(\.\d+)?[eE][+-]?\d+$")
_IDENT = re.compile(r"^[A-Za-z0-9-]{4,40}$")


class CellError(ValueError):
    """A cell that cannot be used; the message tells the clerk why."""


class FileRefused(ValueError):
    """The whole file cannot be read (wrong type, no header, empty)."""


def normalize_text(value: str) -> str:
    """NFKC (full-width → ASCII), no whitespace at all (couriers' files are full of it)."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", str(value)))


def normalize_header(value) -> str:
    if value is None:
        return ""
    return _HEADER_JUNK.sub("", unicodedata.normalize("NFKC", str(value))).lower()


_ALIAS_INDEX = {alias: field for field, aliases in HEADER_ALIASES.items() for alias in aliases}


def match_header(cells: list) -> dict[str, int]:
    """Which field each column of a candidate header row names (field → column index)."""
    found: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = _ALIAS_INDEX.get(normalize_header(cell))
        if field and field not in found:
            found[field] = index
    return found


@dataclass
class Sheet:
    header_row: int  # 1-based
    columns: dict[str, int]
    header_cells: list
    rows: Iterator[tuple[int, list]]  # (1-based row number, raw cells) after the header

    def records(self) -> Iterator[tuple[int, dict]]:
        """(row number, {field: cell}) for every non-empty row below the header."""
        for number, cells in self.rows:
            if not any(_present(c) for c in cells):
                continue
            yield (
                number,
                {
                    field: (cells[i] if i < len(cells) else None)
                    for field, i in self.columns.items()
                },
            )


def _present(cell) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def file_type(name: str) -> str:
    suffix = Path(name).suffix.lower()
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == ".csv":
        return "csv"
    raise FileRefused(_("Upload an .xlsx or .csv file (got “%(name)s”).") % {"name": name})


def raw_rows(path: str | Path, kind: str) -> Iterator[tuple[int, list]]:
    """Every row of the first sheet with its 1-based row number."""
    if kind == "xlsx":
        return _xlsx_rows(path)
    return _csv_rows(path)


def _xlsx_rows(path) -> Iterator[tuple[int, list]]:
    from python_calamine import CalamineError, load_workbook

    if not zipfile.is_zipfile(path):
        raise FileRefused(_("This is not an .xlsx workbook (is it an old .xls? Save as .xlsx)."))
    try:
        workbook = load_workbook(str(path))
        sheet = workbook.get_sheet_by_index(0)
        rows = sheet.iter_rows()
    except (CalamineError, ValueError, OSError) as exc:
        raise FileRefused(_("The workbook cannot be read: %(error)s") % {"error": exc}) from exc
    # calamine yields from the sheet's first row (A1), empty rows included.
    for index, cells in enumerate(rows):
        yield index + 1, cells


def detect_encoding(path) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else GB18030 (⊇ GBK)."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return "gb18030"
    return "utf-8-sig"


def _csv_rows(path) -> Iterator[tuple[int, list]]:
    encoding = detect_encoding(path)
    with open(path, encoding=encoding, newline="") as handle:
        sample = handle.read(8192)
        handle.seek(0)
        try:
            dialect = csv.Sniffer().sniff(sample, delimiters=",\t;")
        except csv.Error:
            dialect = csv.excel
        for index, cells in enumerate(csv.reader(handle, dialect)):
            yield index + 1, cells


def open_sheet(path: str | Path, *, kind: str, import_kind: str) -> Sheet:
    """Find the header row (within the first rows) that names what ``import_kind`` needs."""
    rows = raw_rows(path, kind)
    one_of, all_of = REQUIRED[import_kind]
    try:
        for number, cells in rows:
            if number > HEADER_SCAN_ROWS:
                break
            columns = match_header(cells)
            if all_of <= columns.keys() and one_of & columns.keys():
                return Sheet(number, columns, list(cells), rows)
    except UnicodeDecodeError as exc:
        raise FileRefused(_("The file's text encoding cannot be read.")) from exc
    except csv.Error as exc:
        raise FileRefused(_("The CSV file cannot be read: %(error)s") % {"error": exc}) from exc
    wanted = [*sorted(all_of), " / ".join(sorted(one_of))]
    raise FileRefused(
        _(
            "No header row found in the first %(n)s rows: the file needs columns for "
            "%(fields)s (for example 订单号, 运单号, 状态)."
        )
        % {"n": HEADER_SCAN_ROWS, "fields": ", ".join(wanted)}
    )


# --- cells ---------------------------------------------------------------------------------
def clean_identifier(value, *, label: str) -> str:
    """A waybill or order number as text, refusing anything whose digits may be lost."""
    if type(value) is str and _IDENT.match(value) and not _SCIENTIFIC.match(value):
        return value  # the common case: plain ASCII letters and digits, nothing to clean
    if value is None or (isinstance(value, str) and not value.strip()):
        return ""
    if isinstance(value, bool):
        raise CellError(
            _("%(label)s is not a number: %(value)s") % {"label": label, "value": value}
        )
    if isinstance(value, float):
        if not value.is_integer():
            raise CellError(
                _("%(label)s %(value)s has decimals: format the column as text and export again.")
                % {"label": label, "value": value}
            )
        if abs(value) >= 1e15:
            raise CellError(
                _(
                    "%(label)s %(value)s has more digits than Excel keeps in a number; "
                    "format the column as text and export again."
                )
                % {"label": label, "value": f"{value:.15g}"}
            )
        value = int(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dt.date | dt.datetime | dt.time | dt.timedelta):
        raise CellError(_("%(label)s is a date, not a number.") % {"label": label})
    text = normalize_text(value)
    if text.startswith("'"):
        text = text[1:]
    if _SCIENTIFIC.match(text):
        raise CellError(
            _(
                "%(label)s “%(value)s” is in scientific notation: its digits are lost. "
                "Format the column as text in the courier's file and export it again."
            )
            % {"label": label, "value": text}
        )
    if text.endswith(".0") and text[:-2].isdigit():
        text = text[:-2]
    if not _IDENT.match(text):
        raise CellError(
            _("%(label)s “%(value)s” is not a valid number.") % {"label": label, "value": text}
        )
    return text


def clean_amount(value, *, label: str) -> Decimal:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise CellError(_("%(label)s is empty.") % {"label": label})
    if isinstance(value, float):
        value = repr(value)
    text = normalize_text(value).replace(",", "").replace("¥", "").replace("元", "")
    try:
        amount = Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation as exc:
        raise CellError(
            _("%(label)s “%(value)s” is not an amount.") % {"label": label, "value": value}
        ) from exc
    if not amount.is_finite():
        raise CellError(_("%(label)s is not an amount.") % {"label": label})
    return amount


_DT_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y%m%d%H%M%S",
    "%Y%m%d",
    "%Y年%m月%d日%H:%M:%S",
    "%Y年%m月%d日%H:%M",
    "%Y年%m月%d日",
)


def clean_datetime(value, *, default: dt.datetime | None = None) -> dt.datetime:
    """A courier's time (local China time unless it says otherwise), aware."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if default is None:
            raise CellError(_("Time is empty."))
        return default
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime.combine(value, dt.time())
    elif isinstance(value, int | float):
        # A serial date that reached us as a number (csv from a spreadsheet).
        if not 20000 < value < 80000:
            raise CellError(_("Time “%(value)s” is not a date.") % {"value": value})
        moment = dt.datetime(1899, 12, 30) + dt.timedelta(days=float(value))
        moment = moment.replace(microsecond=0)
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip()
        text = _SPACES.sub(" ", text).replace("T", " ")
        moment = None
        for fmt in _DT_FORMATS:
            try:
                moment = dt.datetime.strptime(text.replace(" ", "") if "年" in fmt else text, fmt)
                break
            except ValueError:
                continue
        if moment is None:
            try:
                moment = dt.datetime.fromisoformat(text)
            except ValueError as exc:
                raise CellError(_("Time “%(value)s” is not a date.") % {"value": value}) from exc
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment, timezone.get_default_timezone())
    return moment


def clean_date(value) -> dt.date | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return timezone.localtime(clean_datetime(value)).date()


def clean_text(value, limit: int) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _SPACES.sub(" ", str(value)).strip()[:limit]


# --- writing -------------------------------------------------------------------------------
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    """Make a text cell inert in spreadsheets (CSV/formula injection): prefix with '."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def csv_bytes(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8-sig")
