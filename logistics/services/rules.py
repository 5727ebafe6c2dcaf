"""Courier rules: freight, default courier by province, status mappings, templates.

``freight_calculate`` and ``default_courier_for_province`` are installed into order entry
(``orders.hooks``) by ``LogisticsConfig.ready``. Writes are audited base-data saves.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Q

from logistics.models import (
    ExportTemplate,
    FreightRule,
    ProvinceCourier,
    StatusMapping,
    TemplateColumn,
)
from logistics.readers import normalize_text
from tvshop.audit.crud import audited_delete, audited_save
from tvshop.catalog.models import Courier

ZERO = Decimal("0.00")


def freight_calculate(courier_id: int | None, province_code: str, weight_kg: Decimal) -> Decimal:
    """First kilogram + each further started kilogram, by the courier's rule for the
    province (or its rule for any province). No courier or no rule: zero."""
    if courier_id is None:
        return ZERO
    rules = list(
        FreightRule.objects.filter(courier_id=courier_id)
        .filter(Q(province_id=province_code[:2]) | Q(province__isnull=True))
        .order_by("province_id")
    )
    rule = next((r for r in rules if r.province_id), None) or (rules[0] if rules else None)
    if rule is None:
        return ZERO
    weight = max(Decimal(weight_kg or 0), Decimal("0"))
    further = max(math.ceil(weight - 1), 0) if weight > 1 else 0
    amount = rule.first_kg + rule.additional_kg * further
    return amount.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def default_courier_for_province(province_code: str) -> int | None:
    row = (
        ProvinceCourier.objects.filter(province_id=province_code[:2], courier__active=True)
        .values_list("courier_id", flat=True)
        .first()
    )
    return row


# --- audited base-data writes (pages and admin) ---------------------------------------------
def status_mapping_save(*, actor, mapping: StatusMapping) -> StatusMapping:
    mapping.text = normalize_text(mapping.text)
    return audited_save(actor=actor, instance=mapping)


def status_mapping_delete(*, actor, mapping: StatusMapping) -> None:
    audited_delete(actor=actor, instance=mapping)


def status_mappings(courier_id: int | None) -> dict[str, str]:
    """Normalised courier text → normalised status, the courier's own mappings winning."""
    rows = StatusMapping.objects.filter(Q(courier__isnull=True) | Q(courier_id=courier_id))
    result: dict[str, str] = {}
    for text, status, courier in rows.values_list("text", "status", "courier_id").order_by(
        "courier_id"
    ):
        if courier is None:
            result.setdefault(text, status)
        else:
            result[text] = status
    return result


def template_columns(courier: Courier) -> list[tuple[str, str, str]]:
    """(header, source, fixed value) of the courier's template, or the generic layout."""
    from logistics.defaults import GENERIC_TEMPLATE

    template = ExportTemplate.objects.filter(courier=courier).first()
    if template is not None:
        columns = list(
            TemplateColumn.objects.filter(template=template)
            .order_by("position", "id")
            .values_list("header", "source", "fixed_value")
        )
        if columns:
            return columns
    return [(h, str(s), f) for h, s, f in GENERIC_TEMPLATE]


def template_format(courier: Courier) -> str:
    template = ExportTemplate.objects.filter(courier=courier).first()
    return template.file_format if template else "xlsx"
