"""Inbound leads (进线): one lead per caller number per day, assignment and export.

``lead_record_call`` is what the telephony bridge calls for every inbound call; it is an
upsert that stays correct when two calls of the same number arrive at the same moment
(the unique constraint on (phone, day) decides, the loser retries as an update).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import cycle

from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.choices import LeadStatus
from crm.models import CustomerPhone, Lead
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError, Forbidden, NotFound
from tvshop.media.models import Hotline


class LeadAssignStrategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", gettext_lazy("Round-robin over the chosen agents")
    BY_STATION = "by_station", gettext_lazy("By TV station")
    MANUAL = "manual", gettext_lazy("To one agent")


# Which status may follow which. Assignment moves a new lead to "assigned" and leaves a
# lead that was already contacted as it is; a closed lead is finished.
L = LeadStatus
LEAD_TRANSITIONS: dict[str, set[str]] = {
    L.NEW: {L.ASSIGNED, L.CONTACTED, L.CLOSED},
    L.ASSIGNED: {L.CONTACTED, L.CLOSED},
    L.CONTACTED: {L.CLOSED},
    L.CLOSED: set(),
}
EXPORT_MAX_ROWS = 100_000
_LEAD_FIELDS = ["status", "assigned_to", "assigned_at"]


def _lead_number(raw: str) -> str:
    """The caller number in canonical form; carriers' odd caller IDs are kept as digits."""
    from crm.phones import InvalidPhone, phone_normalize

    raw = (raw or "").strip()
    try:
        return phone_normalize(raw).number
    except InvalidPhone:
        digits = re.sub(r"\D", "", raw)[:20]
        if not digits:
            message = _("The call has no caller number.")
            raise DomainError(message, fields={"phone": [message]}) from None
        return digits


def _resolve_hotline(hotline: Hotline | str | None) -> Hotline | None:
    if hotline is None or isinstance(hotline, Hotline):
        return hotline
    digits = re.sub(r"\D", "", hotline)
    return Hotline.objects.filter(number=digits).first() if digits else None


def lead_record_call(*, phone: str, hotline: Hotline | str | None = None, at: dt.datetime) -> Lead:
    """Count one inbound call: create today's lead for the number or bump the existing one.

    The day is the local (Asia/Shanghai) date of ``at``. The first hotline seen gives the
    lead its hotline and station; the customer owning the number is linked when known.
    Safe under concurrency: at most one lead per (number, day), every call counted once.
    A system action (no actor), audited.
    """
    if timezone.is_naive(at):
        message = _("The time needs a time zone.")
        raise DomainError(message, fields={"at": [message]})
    number = _lead_number(phone)
    line = _resolve_hotline(hotline)
    day = timezone.localdate(at)
    customer_id = (
        CustomerPhone.objects.filter(number=number, customer__merged_into__isnull=True)
        .values_list("customer_id", flat=True)
        .first()
    )

    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(phone=number, day=day).first()
        if lead is None:
            try:
                with transaction.atomic():
                    lead = Lead.objects.create(
                        phone=number,
                        day=day,
                        customer_id=customer_id,
                        hotline=line,
                        station_id=line.station_id if line else None,
                        first_at=at,
                        last_at=at,
                        call_count=1,
                    )
            except IntegrityError:
                # Another call of the same number won the insert; count ours on its row.
                lead = Lead.objects.select_for_update().get(phone=number, day=day)
            else:
                audit_record(actor=None, action=AuditAction.CREATE, obj=lead, after=snapshot(lead))
                return lead

        watched = ["call_count", "first_at", "last_at", "customer", "hotline", "station"]
        before = snapshot(lead, fields=watched)
        lead.call_count += 1
        lead.first_at = min(lead.first_at, at)
        lead.last_at = max(lead.last_at, at)
        if lead.customer_id is None and customer_id:
            lead.customer_id = customer_id
        if lead.hotline_id is None and line is not None:
            lead.hotline = line
            lead.station_id = line.station_id
        lead.save(update_fields=watched)
        audit_record(
            actor=None,
            action=AuditAction.UPDATE,
            obj=lead,
            before=before,
            after=snapshot(lead, fields=watched),
            note="call",
        )
    return lead


def _check_agents(agents: Sequence) -> list:
    unique = list({a.pk: a for a in agents}.values())
    bad = [a for a in unique if not a.is_active or not a.has_perm("crm.view_lead")]
    if bad:
        names = ", ".join(str(a) for a in bad)
        message = _("These users cannot take leads: %(names)s.") % {"names": names}
        raise DomainError(message, fields={"agents": [message]})
    return unique


def _lead_ids(leads) -> list[int]:
    if isinstance(leads, models.QuerySet):
        return list(leads.values_list("pk", flat=True))
    return [lead.pk if isinstance(lead, Lead) else int(lead) for lead in leads]


def lead_assign(
    *,
    actor,
    leads: Iterable[Lead | int] | models.QuerySet,
    strategy: str,
    agents: Sequence = (),
    station_agents: dict[int, Sequence] | None = None,
) -> dict[int, int]:
    """Distribute ``leads`` to agents; returns {agent id: number of leads given}. Audited.

    - ``manual``: all leads to the one agent in ``agents``;
    - ``round_robin``: in order of first call, each lead to the next agent of ``agents``,
      so counts differ by at most one;
    - ``by_station``: ``station_agents`` maps a station id to its agents; within each
      station the leads go round-robin. A lead whose station has no agents refuses the
      whole assignment (nothing changes).
    A closed lead refuses the assignment. Rows are locked in id order.
    """
    if not actor.has_perm("crm.assign_lead"):
        raise Forbidden(_("You may not assign leads."))
    if strategy not in LeadAssignStrategy.values:
        message = _("Choose a valid strategy.")
        raise DomainError(message, fields={"strategy": [message]})
    ids = _lead_ids(leads)
    if not ids:
        message = _("Select at least one lead.")
        raise DomainError(message, fields={"leads": [message]})

    plan: dict[int, object] = {}
    with transaction.atomic():
        locked = list(Lead.objects.select_for_update().filter(pk__in=ids).order_by("pk"))
        if not locked:
            raise NotFound(_("The selected leads no longer exist."))
        closed = [lead for lead in locked if lead.status == LeadStatus.CLOSED]
        if closed:
            message = _("%(n)d of the selected leads are closed and cannot be assigned.") % {
                "n": len(closed)
            }
            raise Conflict(message, fields={"leads": [message]})
        ordered = sorted(locked, key=lambda lead: (lead.first_at, lead.pk))

        if strategy == LeadAssignStrategy.MANUAL:
            chosen = _check_agents(agents)
            if len(chosen) != 1:
                message = _("Choose exactly one agent.")
                raise DomainError(message, fields={"agents": [message]})
            plan = {lead.pk: chosen[0] for lead in ordered}
        elif strategy == LeadAssignStrategy.ROUND_ROBIN:
            chosen = _check_agents(agents)
            if not chosen:
                message = _("Choose at least one agent.")
                raise DomainError(message, fields={"agents": [message]})
            plan = {lead.pk: agent for lead, agent in zip(ordered, cycle(chosen), strict=False)}
        else:
            mapping = {
                int(station): _check_agents(people)
                for station, people in (station_agents or {}).items()
                if people
            }
            by_station: dict[int | None, list[Lead]] = defaultdict(list)
            for lead in ordered:
                by_station[lead.station_id].append(lead)
            missing = [s for s in by_station if s not in mapping]
            if missing:
                if None in missing:
                    message = _("Some leads have no TV station; assign them another way.")
                else:
                    message = _("Choose agents for every TV station of the selected leads.")
                raise DomainError(message, fields={"station_agents": [message]})
            for station, station_leads in by_station.items():
                for lead, agent in zip(station_leads, cycle(mapping[station]), strict=False):
                    plan[lead.pk] = agent

        now = timezone.now()
        for lead in locked:
            agent = plan[lead.pk]
            before = snapshot(lead, fields=_LEAD_FIELDS)
            lead.assigned_to = agent
            lead.assigned_at = now
            if lead.status == LeadStatus.NEW:
                lead.status = LeadStatus.ASSIGNED
            lead.save(update_fields=_LEAD_FIELDS)
            audit_record(
                actor=actor,
                action=AuditAction.ASSIGN,
                obj=lead,
                before=before,
                after=snapshot(lead, fields=_LEAD_FIELDS),
                note=str(LeadAssignStrategy(strategy).label),
            )
    return dict(Counter(agent.pk for agent in plan.values()))


def lead_set_status(*, actor, lead: Lead, to_status: str, note: str = "") -> Lead:
    """Mark a lead contacted or closed. The assigned agent or a user with crm.change_lead."""
    if to_status not in LeadStatus.values:
        message = _("Choose a valid status.")
        raise DomainError(message, fields={"to_status": [message]})
    with transaction.atomic():
        locked = Lead.objects.select_for_update().get(pk=lead.pk)
        if locked.assigned_to_id != actor.pk and not actor.has_perm("crm.change_lead"):
            raise Forbidden(_("This lead is not assigned to you."))
        if to_status not in LEAD_TRANSITIONS[locked.status]:
            message = _("A lead that is “%(from)s” cannot become “%(to)s”.") % {
                "from": LeadStatus(locked.status).label,
                "to": LeadStatus(to_status).label,
            }
            raise Conflict(message, fields={"to_status": [message]}, code="illegal_transition")
        before = snapshot(locked, fields=["status"])
        locked.status = to_status
        locked.save(update_fields=["status"])
        audit_record(
            actor=actor,
            action=AuditAction.STATUS,
            obj=locked,
            before=before,
            after={"status": to_status},
            note=(note or "")[:500],
        )
    return locked


# --- export -------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^(\+\d[\d*]*|-?\d+(\.\d+)?)$")


def cell_safe(value):
    """A cell value that a spreadsheet will not run as a formula (CSV/formula injection).

    Text starting with = + - @ TAB or CR gets a leading apostrophe, except plain numbers
    and (masked) phone numbers such as ``+86138****8000``, which no spreadsheet evaluates.
    """
    if not isinstance(value, str):
        return value
    if value.startswith(_FORMULA_START) and not _PLAIN_NUMBER.match(value):
        return "'" + value
    return value


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    content_type: str
    filename: str


def _write_csv(header: list[str], rows: list[list]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    # The BOM makes Excel read the file as UTF-8 (Chinese names).
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _write_xlsx(header: list[str], rows: list[list], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    sheet.append(header)
    for row in rows:
        # openpyxl stores a string starting with "=" as a formula; cell_safe prevents it.
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def lead_export(*, actor, leads: models.QuerySet, fmt: str, filters: str = "") -> ExportFile:
    """The leads as an xlsx or csv file, phones masked for ``actor``. The export is audited."""
    from crm.selectors.contacts import lead_export_rows

    if not actor.has_perm("crm.export_lead"):
        raise Forbidden(_("You may not export leads."))
    if fmt not in ("xlsx", "csv"):
        raise DomainError(_("Choose xlsx or csv."), fields={"format": [_("Choose xlsx or csv.")]})
    count = leads.count()
    if count > EXPORT_MAX_ROWS:
        message = _("Too many rows (%(n)d); narrow the date range (at most %(max)d).") % {
            "n": count,
            "max": EXPORT_MAX_ROWS,
        }
        raise DomainError(message)
    header, rows = lead_export_rows(leads=leads, user=actor)
    rows = [[cell_safe(v) for v in row] for row in rows]
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=AuditAction.EXPORT,
            object_type=Lead,
            object_repr=_("%(n)d inbound leads") % {"n": len(rows)},
            note=f"{fmt} {filters}"[:500],
        )
    if fmt == "csv":
        return ExportFile(_write_csv(header, rows), "text/csv; charset=utf-8", f"leads-{stamp}.csv")
    return ExportFile(
        _write_xlsx(header, rows, title=_("Inbound leads")),
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        f"leads-{stamp}.xlsx",
    )
