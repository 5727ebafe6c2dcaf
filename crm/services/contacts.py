"""Service records (服务记录): one note per contact with a customer."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.choices import ContactChannel
from crm.models import Customer, ServiceRecord
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import DomainError

SERVICE_RECORD_MAX_LENGTH = 4000
# Seat PCs' clocks drift; a note stamped a little ahead of the server is not an error.
_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


def service_record_create(
    *,
    actor,
    customer: Customer,
    content: str,
    channel: str,
    at: dt.datetime | None = None,
    call_uuid: str = "",
) -> ServiceRecord:
    """Write one service note for ``customer`` by ``actor`` (the agent), audited.

    Refuses (DomainError, nothing saved) an empty or over-long note, an unknown channel,
    a time in the future, and a customer that was merged into another one.
    """
    content = (content or "").strip()
    errors: dict[str, list[str]] = {}
    if not content:
        errors["content"] = [_("Write what the contact was about.")]
    elif len(content) > SERVICE_RECORD_MAX_LENGTH:
        errors["content"] = [
            _("The note is too long (at most %(n)d characters).") % {"n": SERVICE_RECORD_MAX_LENGTH}
        ]
    if channel not in ContactChannel.values:
        errors["channel"] = [_("Choose a valid channel.")]
    now = timezone.now()
    if at is None:
        at = now
    elif timezone.is_naive(at):
        errors["at"] = [_("The time needs a time zone.")]
    elif at > now + _FUTURE_TOLERANCE:
        errors["at"] = [_("The time cannot be in the future.")]
    if customer.merged_into_id:
        errors["customer"] = [_("This customer was merged into another one; write the note there.")]
    if errors:
        raise DomainError(next(iter(errors.values()))[0], fields=errors)

    with transaction.atomic():
        record = ServiceRecord.objects.create(
            customer=customer,
            agent=actor,
            at=at,
            channel=channel,
            content=content,
            call_uuid=(call_uuid or "")[:64],
        )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=record, after=snapshot(record))
    return record
