"""Formatting of statistics cells (seconds, durations, rates, money) in pages."""

from __future__ import annotations

import html
from decimal import Decimal

from django import template
from django.utils import numberformat
from django.utils.formats import get_format, number_format
from django.utils.safestring import mark_safe

register = template.Library()


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@register.simple_tag
def cell(row: dict, column) -> str:
    return cell_text(row.get(column.key), column.kind)


def cell_text(value, kind: str) -> str:
    """The text of one cell (plain, not escaped)."""
    if value is None:
        return "—"
    if kind == "seconds":
        return f"{float(value):.1f}"
    if kind == "duration":
        return _hms(float(value))
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    if kind == "money":
        return number_format(Decimal(value).quantize(Decimal("0.01")), 2, force_grouping=True)
    if kind == "ratio":
        return f"{float(value):.2f}"
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M")
    return str(value)


def _money_formatter():
    """``number_format(v, 2, force_grouping=True)`` for the active locale, resolved once
    per table (it looks the locale's formats up on every call otherwise)."""
    sep = get_format("THOUSAND_SEPARATOR")
    dec = get_format("DECIMAL_SEPARATOR")
    grouping = get_format("NUMBER_GROUPING")
    if dec == "." and (not sep or not grouping):
        return lambda v: f"{Decimal(v):.2f}"
    if dec == "." and sep == "," and grouping == 3:
        return lambda v: f"{Decimal(v):,.2f}"
    return lambda v: numberformat.format(
        Decimal(v).quantize(Decimal("0.01")), dec, 2, grouping, sep, force_grouping=True
    )


@register.simple_tag
def table_rows(table) -> str:
    """Every ``<tr>`` of a statistics table in one pass (a table of the media page has
    thousands of cells; a template loop with a tag per cell cost ~30 µs a cell)."""
    money = _money_formatter()
    kinds = [(c.key, c.kind, ' class="num"' if c.kind != "text" else "") for c in table.columns]
    out = []
    for row in table.rows:
        out.append('<tr class="total">' if row.get("total") else "<tr>")
        for key, kind, cls in kinds:
            value = row.get(key)
            if value is None:
                text = "—"
            elif kind == "money":
                text = money(value)
            elif kind == "int" and isinstance(value, int):
                text = str(value)
            else:
                text = html.escape(cell_text(value, kind))
            out.append(f"<td{cls}>{text}</td>")
        out.append("</tr>")
    return mark_safe("".join(out))
