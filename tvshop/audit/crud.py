"""Audited create/update/delete of plain base-data rows (products, stations, ...).

Services of simple entities are thin wrappers around these helpers; each call is one
transaction with one audit entry (before/after from the database, not from memory, so
callers such as the Django admin may hand in an instance a form already changed).
Validation errors become :class:`tvshop.errors.DomainError` with ``fields``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.db.models import ProtectedError, RestrictedError
from django.utils.translation import gettext as _

from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError

M = TypeVar("M", bound=models.Model)


def _audited_fields(model: type[models.Model]) -> list[str]:
    """Concrete fields worth recording: timestamps Django sets itself are left out."""
    return [
        f.name
        for f in model._meta.concrete_fields
        if not getattr(f, "auto_now", False) and not getattr(f, "auto_now_add", False)
    ]


def _snapshot(instance: models.Model, fields: list[str]) -> dict[str, Any]:
    return snapshot(instance, fields=fields)


def validation_error_to_domain(exc: ValidationError) -> DomainError:
    if hasattr(exc, "error_dict"):
        fields = {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
    else:
        fields = {"__all__": [str(m) for m in exc.messages]}
    message = "; ".join(m for msgs in fields.values() for m in msgs) or _(
        "Please correct the errors below."
    )
    return DomainError(message, fields=fields)


def apply_changes(*, instance: M, changes: dict[str, Any], allowed: Iterable[str]) -> None:
    """Set the given attributes; an unknown field name is a programming error."""
    allowed = set(allowed)
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"{type(instance).__name__}: cannot change {sorted(unknown)}")
    for name, value in changes.items():
        setattr(instance, name, value)


def audited_save(*, actor, instance: M, note: str = "") -> M:
    """Validate (``full_clean``) and save ``instance``, recording create or update.

    An update that changes nothing saves nothing and records nothing.
    """
    model = type(instance)
    fields = _audited_fields(model)
    with transaction.atomic():
        before = None
        if instance.pk is not None and not instance._state.adding:
            current = model._default_manager.select_for_update().filter(pk=instance.pk).first()
            if current is None:
                raise Conflict(_("This record was deleted by someone else."))
            before = _snapshot(current, fields)
        try:
            instance.full_clean()
        except ValidationError as exc:
            raise validation_error_to_domain(exc) from exc
        if before is not None and _snapshot(instance, fields) == before:
            return instance
        try:
            with transaction.atomic():
                instance.save()
        except IntegrityError as exc:
            raise Conflict(
                _("The record conflicts with another one (for example a duplicate code).")
            ) from exc
        audit_record(
            actor=actor,
            action=AuditAction.CREATE if before is None else AuditAction.UPDATE,
            obj=instance,
            before=before,
            after=_snapshot(instance, fields),
            note=note,
        )
    return instance


def audited_delete(*, actor, instance: models.Model, note: str = "") -> None:
    """Delete ``instance``; refused with a reason when other records still use it."""
    model = type(instance)
    with transaction.atomic():
        current = model._default_manager.select_for_update().filter(pk=instance.pk).first()
        if current is None:
            return
        before = _snapshot(current, _audited_fields(model))
        pk, text = current.pk, str(current)
        try:
            with transaction.atomic():
                current.delete()
        except (ProtectedError, RestrictedError) as exc:
            raise Conflict(
                _("%(object)s is still used by other records and cannot be deleted.")
                % {"object": text}
            ) from exc
        audit_record(
            actor=actor,
            action=AuditAction.DELETE,
            object_type=model,
            object_id=pk,
            object_repr=text,
            before=before,
            note=note,
        )
