"""Formatting of statistics cells (seconds, durations, rates, money) in pages."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.formats import number_format

register = template.Library()


def _hms(seconds: float) -> str:
    seconds = round(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


@register.simple_tag
def cell(row: dict, column) -> str:
    value = row.get(column.key)
    if value is None:
        return "—"
    kind = column.kind
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
