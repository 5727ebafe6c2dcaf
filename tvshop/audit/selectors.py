"""Reads of the audit log."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from django.core.exceptions import FieldDoesNotExist
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tvshop.audit.models import AuditEntry


def audit_entry_list() -> QuerySet[AuditEntry]:
    return AuditEntry.objects.select_related("actor", "content_type").order_by("-at", "-id")


def display_value(value: Any) -> str:
    """A before/after value as people read it: local times, yes/no, lists joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, str):
        moment = parse_datetime(value) if "T" in value else None
        if moment is not None and timezone.is_aware(moment):
            return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")
        return value
    if isinstance(value, list):
        return ", ".join(display_value(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def audit_entry_changes(entry: AuditEntry) -> list[dict]:
    """The entry's before/after differences with each field's (translated) label; the
    primary key is left out (the entry names its object)."""
    model = entry.content_type.model_class() if entry.content_type_id else None
    rows = []
    for name, before, after in entry.changes:
        if name == "id":
            continue
        label = name
        if model is not None:
            with contextlib.suppress(FieldDoesNotExist):
                label = str(model._meta.get_field(name).verbose_name)
        rows.append(
            {
                "field": name,
                "label": label,
                "before": before,
                "after": after,
                "before_text": display_value(before),
                "after_text": display_value(after),
            }
        )
    return rows
