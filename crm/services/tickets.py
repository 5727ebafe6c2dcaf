"""Tickets: complaints (投诉), after-sales (售后) and consultations (咨询).

The status workflow lives in one place: ``TICKET_TRANSITIONS`` says which status may
follow which and who may make the step; ``ticket_set_status`` is the only code that
assigns ``Ticket.status``. Every change writes a ``TicketEvent`` (the history shown on
the ticket page) and an audit entry in the same transaction, under a row lock.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.choices import TicketKind, TicketPriority, TicketStatus
from crm.models import Customer, Ticket, TicketEvent
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError, Forbidden

TITLE_MAX_LENGTH = 120
NOTE_MAX_LENGTH = 4000

# When nobody sets a due time, the priority sets it.
DEFAULT_DUE = {
    TicketPriority.URGENT: dt.timedelta(hours=4),
    TicketPriority.HIGH: dt.timedelta(hours=24),
    TicketPriority.NORMAL: dt.timedelta(hours=72),
    TicketPriority.LOW: dt.timedelta(days=7),
}
OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)


@dataclass(frozen=True)
class Transition:
    """One allowed step: the permission it needs and whether a note must explain it."""

    perm: str = "crm.change_ticket"
    note_required: bool = False


S = TicketStatus
TICKET_TRANSITIONS: dict[tuple[str, str], Transition] = {
    (S.OPEN, S.IN_PROGRESS): Transition(),
    (S.IN_PROGRESS, S.RESOLVED): Transition(note_required=True),
    (S.RESOLVED, S.CLOSED): Transition(),
    # Reopening: the customer calls back, the fix did not hold.
    (S.RESOLVED, S.IN_PROGRESS): Transition(note_required=True),
    (S.CLOSED, S.IN_PROGRESS): Transition(note_required=True),
}


def ticket_next_statuses(*, ticket: Ticket, user=None) -> list[str]:
    """The statuses ``ticket`` may move to next (for ``user``, when given)."""
    return [
        to
        for (frm, to), rule in TICKET_TRANSITIONS.items()
        if frm == ticket.status and (user is None or user.has_perm(rule.perm))
    ]


def _lock(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update().get(pk=ticket.pk)


def _check_assignee(assignee) -> None:
    if assignee is None:
        return
    if not assignee.is_active or not assignee.has_perm("crm.change_ticket"):
        raise DomainError(
            _("%(user)s cannot work on tickets.") % {"user": assignee},
            fields={"assignee": [_("%(user)s cannot work on tickets.") % {"user": assignee}]},
        )


def _clean_note(note: str, *, required: bool, field: str = "note") -> str:
    note = (note or "").strip()
    if required and not note:
        message = _("Write a note.")
        raise DomainError(message, fields={field: [message]})
    if len(note) > NOTE_MAX_LENGTH:
        message = _("The note is too long (at most %(n)d characters).") % {"n": NOTE_MAX_LENGTH}
        raise DomainError(message, fields={field: [message]})
    return note


def ticket_create(
    *,
    actor,
    customer: Customer,
    kind: str,
    title: str,
    description: str = "",
    priority: str = TicketPriority.NORMAL,
    assignee=None,
    due_at: dt.datetime | None = None,
) -> Ticket:
    """Open a ticket for ``customer``; history starts with a "created" event. Audited."""
    title = (title or "").strip()
    errors: dict[str, list[str]] = {}
    if kind not in TicketKind.values:
        errors["kind"] = [_("Choose a valid kind.")]
    if not title:
        errors["title"] = [_("Give the ticket a title.")]
    elif len(title) > TITLE_MAX_LENGTH:
        errors["title"] = [
            _("The title is too long (at most %(n)d characters).") % {"n": TITLE_MAX_LENGTH}
        ]
    if priority not in TicketPriority.values:
        errors["priority"] = [_("Choose a valid priority.")]
    now = timezone.now()
    if due_at is not None and (timezone.is_naive(due_at) or due_at <= now):
        errors["due_at"] = [_("The due time must be in the future.")]
    if customer.merged_into_id:
        errors["customer"] = [_("This customer was merged into another one.")]
    if errors:
        raise DomainError(next(iter(errors.values()))[0], fields=errors)
    _check_assignee(assignee)
    description = _clean_note(description, required=False, field="description")
    if due_at is None:
        due_at = now + DEFAULT_DUE[TicketPriority(priority)]

    with transaction.atomic():
        ticket = Ticket.objects.create(
            customer=customer,
            kind=kind,
            title=title,
            description=description,
            priority=priority,
            assignee=assignee,
            due_at=due_at,
            created_by=actor,
        )
        TicketEvent.objects.create(
            ticket=ticket,
            kind=TicketEvent.Kind.CREATED,
            actor=actor,
            to_status=ticket.status,
            assignee=assignee,
        )
        audit_record(actor=actor, action=AuditAction.CREATE, obj=ticket, after=snapshot(ticket))
    return ticket


def ticket_set_status(*, actor, ticket: Ticket, to_status: str, note: str = "") -> Ticket:
    """Move ``ticket`` to ``to_status`` if ``TICKET_TRANSITIONS`` allows it for ``actor``.

    Locks the row, so two agents clicking at once cannot both apply a step from the same
    status. A refused step raises (Conflict for an illegal step, Forbidden for a missing
    permission, DomainError for a missing note) and changes nothing. Starting work on an
    unassigned ticket assigns it to the actor. Returns the updated ticket.
    """
    if to_status not in TicketStatus.values:
        message = _("Choose a valid status.")
        raise DomainError(message, fields={"to_status": [message]})
    with transaction.atomic():
        locked = _lock(ticket)
        from_status = locked.status
        rule = TICKET_TRANSITIONS.get((from_status, to_status))
        if rule is None:
            message = _("A ticket that is “%(from)s” cannot become “%(to)s”.") % {
                "from": TicketStatus(from_status).label,
                "to": TicketStatus(to_status).label,
            }
            raise Conflict(message, fields={"to_status": [message]}, code="illegal_transition")
        if not actor.has_perm(rule.perm):
            raise Forbidden(_("You may not change the status of tickets."))
        note = _clean_note(note, required=rule.note_required)

        before = snapshot(locked, fields=["status", "assignee", "closed_at"])
        locked.status = to_status
        locked.closed_at = timezone.now() if to_status == TicketStatus.CLOSED else None
        fields = ["status", "closed_at", "updated_at"]
        new_assignee = None
        if to_status == TicketStatus.IN_PROGRESS and locked.assignee_id is None:
            locked.assignee = new_assignee = actor
            fields.append("assignee")
        locked.save(update_fields=fields)
        TicketEvent.objects.create(
            ticket=locked,
            kind=TicketEvent.Kind.STATUS,
            actor=actor,
            from_status=from_status,
            to_status=to_status,
            assignee=new_assignee,
            note=note,
        )
        audit_record(
            actor=actor,
            action=AuditAction.STATUS,
            obj=locked,
            before=before,
            after=snapshot(locked, fields=["status", "assignee", "closed_at"]),
            note=note,
        )
    return locked


def ticket_assign(*, actor, ticket: Ticket, assignee, note: str = "") -> Ticket:
    """Give ``ticket`` to ``assignee`` (None: nobody). Recorded in the history; audited.

    Assigning to the current assignee changes nothing and records nothing.
    """
    _check_assignee(assignee)
    note = _clean_note(note, required=False)
    with transaction.atomic():
        locked = _lock(ticket)
        if locked.assignee_id == (assignee.pk if assignee else None):
            return locked
        if locked.status == TicketStatus.CLOSED:
            message = _("A closed ticket cannot be reassigned; reopen it first.")
            raise Conflict(message, fields={"assignee": [message]})
        before = snapshot(locked, fields=["assignee"])
        locked.assignee = assignee
        locked.save(update_fields=["assignee", "updated_at"])
        TicketEvent.objects.create(
            ticket=locked, kind=TicketEvent.Kind.ASSIGN, actor=actor, assignee=assignee, note=note
        )
        audit_record(
            actor=actor,
            action=AuditAction.ASSIGN,
            obj=locked,
            before=before,
            after=snapshot(locked, fields=["assignee"]),
            note=note,
        )
    return locked


def ticket_comment(*, actor, ticket: Ticket, note: str) -> TicketEvent:
    """Add a comment to the ticket's history. Audited."""
    note = _clean_note(note, required=True)
    with transaction.atomic():
        locked = _lock(ticket)
        locked.save(update_fields=["updated_at"])
        event = TicketEvent.objects.create(
            ticket=locked, kind=TicketEvent.Kind.COMMENT, actor=actor, note=note
        )
        audit_record(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=locked,
            after={"comment": note},
            note=note,
        )
    return event
