"""Courier rules: freight, default courier by province, status mappings, templates.

``freight_calculate`` and ``default_courier_for_province`` are installed into order entry
(``orders.hooks``) by ``LogisticsConfig.ready``. Writes are audited base-data saves.
"""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from logistics.models import (
    ExportTemplate,
    FreightRule,
    ProvinceCourier,
    StatusMapping,
    TemplateColumn,
)
from logistics.readers import normalize_text
from tvshop.audit.crud import audited_delete, audited_save
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record
from tvshop.catalog.models import Courier
from tvshop.errors import DomainError, Forbidden

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


def rule_save(*, actor, instance):
    """Save a province → courier, freight rule or status mapping (validated, audited)."""
    if isinstance(instance, StatusMapping):
        return status_mapping_save(actor=actor, mapping=instance)
    return audited_save(actor=actor, instance=instance)


def rule_delete(*, actor, instance) -> None:
    audited_delete(actor=actor, instance=instance)


def _columns_snapshot(template: ExportTemplate | None) -> list[list]:
    if template is None or template.pk is None:
        return []
    return [
        [c.position, c.header, c.source, c.fixed_value]
        for c in template.columns.order_by("position", "id")
    ]


def export_template_save(
    *,
    actor,
    courier: Courier,
    name: str,
    file_format: str,
    sheet_name: str,
    note: str = "",
    columns: list[dict],
) -> ExportTemplate:
    """Create or replace a courier's sheet layout: ``columns`` in sheet order, each
    ``{"header", "source", "fixed_value"}``; positions are renumbered 1, 2, 3 … One
    transaction, audited with the columns before and after; bad input is refused with the
    field (``columns``) and the column's number."""
    from logistics.choices import ColumnSource

    if actor is None or not actor.has_perm("logistics.change_exporttemplate"):
        raise Forbidden(_("You are not allowed to edit export templates."))
    problems = []
    if not columns:
        problems.append(_("A template needs at least one column."))
    for number, column in enumerate(columns, start=1):
        header = (column.get("header") or "").strip()
        source = column.get("source") or ""
        if not header:
            problems.append(_("Column %(n)s has no header text.") % {"n": number})
        if source not in ColumnSource.values:
            problems.append(_("Column %(n)s: choose what fills it.") % {"n": number})
    headers = [(c.get("header") or "").strip() for c in columns]
    duplicates = sorted({h for h in headers if h and headers.count(h) > 1})
    if duplicates:
        problems.append(
            _("Header text used twice: %(headers)s") % {"headers": ", ".join(duplicates)}
        )
    if not (name or "").strip():
        raise DomainError(_("Give the template a name."), fields={"name": [_("Required.")]})
    if problems:
        raise DomainError(problems[0], fields={"columns": problems})
    with transaction.atomic():
        Courier.objects.select_for_update().get(pk=courier.pk)
        template = ExportTemplate.objects.filter(courier=courier).first()
        before = None
        if template is not None:
            before = {
                "name": template.name,
                "file_format": template.file_format,
                "sheet_name": template.sheet_name,
                "note": template.note,
                "columns": _columns_snapshot(template),
            }
        else:
            template = ExportTemplate(courier=courier)
        template.name = name.strip()[:100]
        template.file_format = file_format
        template.sheet_name = (sheet_name or "Sheet1").strip()[:31] or "Sheet1"
        template.note = (note or "")[:300]
        try:
            template.full_clean()
        except ValidationError as exc:
            from tvshop.audit.crud import validation_error_to_domain

            raise validation_error_to_domain(exc) from exc
        template.save()
        template.columns.all().delete()
        TemplateColumn.objects.bulk_create(
            TemplateColumn(
                template=template,
                position=number,
                header=column["header"].strip()[:60],
                source=column["source"],
                fixed_value=(column.get("fixed_value") or "").strip()[:200]
                if column["source"] == ColumnSource.FIXED
                else "",
            )
            for number, column in enumerate(columns, start=1)
        )
        after = {
            "name": template.name,
            "file_format": template.file_format,
            "sheet_name": template.sheet_name,
            "note": template.note,
            "columns": _columns_snapshot(template),
        }
        if after != before:
            audit_record(
                actor=actor,
                action=AuditAction.CREATE if before is None else AuditAction.UPDATE,
                obj=template,
                before=before,
                after=after,
            )
    return template


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
