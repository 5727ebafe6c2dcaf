"""Writing audit entries. Call inside the same transaction as the change it records."""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import uuid
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models

from tvshop.audit.models import AuditAction, AuditEntry

_SKIP_FIELDS = {"password", "pin_hash", "search_vector"}


def _jsonable(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        # One form per instant: a time read from the database (UTC) and the same time
        # entered in Asia/Shanghai must compare equal in before/after.
        return value.astimezone(dt.UTC).isoformat()
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def snapshot(obj: models.Model, *, fields: list[str] | None = None) -> dict[str, Any]:
    """The concrete field values of ``obj`` as JSON-safe data (foreign keys as ids)."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if field.name in _SKIP_FIELDS or (fields is not None and field.name not in fields):
            continue
        value = getattr(obj, field.attname)
        if isinstance(field, models.DecimalField) and isinstance(value, decimal.Decimal):
            # At the field's scale: 0.5 in memory and 0.500 from the database are equal.
            with contextlib.suppress(decimal.InvalidOperation):
                value = value.quantize(decimal.Decimal(1).scaleb(-field.decimal_places))
        data[field.name] = _jsonable(value)
    return data


def audit_record(
    *,
    actor,
    action: AuditAction | str,
    obj: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    note: str = "",
    ip: str | None = None,
    object_type: type[models.Model] | None = None,
    object_id: str | int | None = None,
    object_repr: str | None = None,
) -> AuditEntry:
    """Append one audit entry. ``actor`` may be None for system actions."""
    # obj.__class__, not type(obj): request.user is a lazy proxy whose type is not the model.
    model = obj.__class__ if obj is not None else object_type
    content_type = ContentType.objects.get_for_model(model) if model is not None else None
    if obj is not None:
        object_id = obj.pk
        object_repr = str(obj)
    return AuditEntry.objects.create(
        actor=actor if (actor is not None and actor.is_authenticated) else None,
        action=str(action),
        content_type=content_type,
        object_id="" if object_id is None else str(object_id),
        object_repr=(object_repr or "")[:200],
        before=_jsonable(before) if before is not None else None,
        after=_jsonable(after) if after is not None else None,
        note=note[:500],
        ip=ip,
    )


def audit_record_many(
    *,
    actor,
    action: AuditAction | str,
    model: type[models.Model],
    entries: list[tuple[Any, str, dict | None, dict | None]],
    note: str = "",
) -> int:
    """Append one audit entry per ``(object_id, object_repr, before, after)`` in one
    statement: the same rows ``audit_record`` would write one by one, for set-based
    actions (a shipping export, a courier status file) that move thousands of objects."""
    content_type = ContentType.objects.get_for_model(model)
    actor = actor if (actor is not None and actor.is_authenticated) else None
    rows = [
        AuditEntry(
            actor=actor,
            action=str(action),
            content_type=content_type,
            object_id=str(object_id),
            object_repr=(object_repr or "")[:200],
            before=_jsonable(before) if before is not None else None,
            after=_jsonable(after) if after is not None else None,
            note=note[:500],
        )
        for object_id, object_repr, before, after in entries
    ]
    AuditEntry.objects.bulk_create(rows, batch_size=2000)
    return len(rows)
