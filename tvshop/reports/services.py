"""Writes of the statistics: keeping the roll-ups equal to the raw rows, scheduled reports.

``rollups_refresh`` is what the beat task runs every minute (and a supervisor's "refresh
now"): it takes the hours the triggers logged, recomputes exactly those hours set-based
(``tvshop.reports.rollups``) and removes exactly the log rows it read, all in one
transaction under an advisory lock (two refreshes never rebuild the same hour at once).
``rollups_rebuild`` recomputes everything, a day of hours per statement.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tvshop.audit.services import audit_record
from tvshop.errors import DomainError
from tvshop.reports.models import ScheduledReport
from tvshop.reports.rollups import rollup_hours

# pg_advisory_xact_lock key: "rep" + "ort" in ASCII
LOCK_KEY = 7_365_112_001
REFRESH_BATCH = 50_000


@dataclass
class RefreshResult:
    call_hours: list[datetime] = field(default_factory=list)
    order_hours: list[datetime] = field(default_factory=list)
    slots: int = 0
    seconds: float = 0.0
    skipped: bool = False


def _lock(*, wait: bool) -> bool:
    with connection.cursor() as cursor:
        if wait:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
            return True
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [LOCK_KEY])
        return bool(cursor.fetchone()[0])


def rollups_refresh(*, wait: bool = True) -> RefreshResult:
    """Recompute every hour logged as dirty; with ``wait=False`` return at once (skipped)
    when another refresh is running. Runs until the log is empty."""
    started = time.perf_counter()
    result = RefreshResult()
    if connection.vendor != "postgresql":
        return result  # the embedded SQLite wiring keeps no roll-ups (pages say so)
    while True:
        with transaction.atomic():
            if not _lock(wait=wait):
                result.skipped = True
                break
            with connection.cursor() as cursor:
                cursor.execute(
                    "DELETE FROM reports_dirtyhour WHERE id IN (SELECT id FROM "
                    "reports_dirtyhour ORDER BY id LIMIT %s) RETURNING hour, source",
                    [REFRESH_BATCH],
                )
                logged = cursor.fetchall()
            if not logged:
                break
            call_hours = sorted({h for h, s in logged if s == "call"})
            order_hours = sorted({h for h, s in logged if s == "order"})
            slot_hours = sorted({h for h, s in logged if s == "slot"})
            slots = rollup_hours(
                call_hours=call_hours, order_hours=order_hours, slot_hours=slot_hours
            )
            result.call_hours += call_hours
            result.order_hours += order_hours
            result.slots += len(slots)
        if len(logged) < REFRESH_BATCH:
            break
    result.seconds = time.perf_counter() - started
    return result


def _hour_span(table: str) -> tuple[datetime, datetime] | None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT min(created_at), max(created_at) FROM {table}")  # noqa: S608
        low, high = cursor.fetchone()
    if low is None:
        return None
    return low.replace(minute=0, second=0, microsecond=0), high


def rollups_rebuild(*, hours_per_statement: int = 24) -> RefreshResult:
    """Empty every roll-up and recompute it from the raw rows (after changing the
    configured thresholds or window, or to repair)."""
    started = time.perf_counter()
    result = RefreshResult()
    with transaction.atomic():
        _lock(wait=True)
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM reports_dirtyhour")
            for table in (
                "stationhour",
                "stationminute",
                "queuehour",
                "agenthour",
                "orderhour",
                "slotstat",
                "callerhour",
                "callerday",
            ):
                cursor.execute(f"DELETE FROM reports_{table}")  # noqa: S608
        spans = {"call": _hour_span("telephony_call"), "order": _hour_span("orders_order")}
        for source, span in spans.items():
            if span is None:
                continue
            hour, high = span
            while hour <= high:
                batch = [hour + timedelta(hours=i) for i in range(hours_per_statement)]
                batch = [h for h in batch if h <= high]
                if source == "call":
                    rollup_hours(
                        call_hours=batch,
                        order_hours=[],
                        slot_hours=[],
                        slots=False,
                        follow_orders=False,
                    )
                    result.call_hours += batch
                else:
                    rollup_hours(call_hours=[], order_hours=batch, slot_hours=[], slots=False)
                    result.order_hours += batch
                hour = batch[-1] + timedelta(hours=1)
        from tvshop.reports.rollups import rollup_all_slots

        result.slots = rollup_all_slots()
    result.seconds = time.perf_counter() - started
    return result


def caller_sketches_rebuild(*, hours_per_statement: int = 24) -> RefreshResult:
    """Recompute only the unique-caller sketches (``CallerHour``/``CallerDay``) from every
    call: after upgrading to the release that added them, without rebuilding the rest."""
    from tvshop.reports import rollups

    started = time.perf_counter()
    result = RefreshResult()
    with transaction.atomic():
        _lock(wait=True)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("DELETE FROM reports_callerhour")
            cursor.execute("DELETE FROM reports_callerday")
            span = _hour_span("telephony_call")
            hour, high = span if span else (None, None)
            while span and hour <= high:
                batch = [hour + timedelta(hours=i) for i in range(hours_per_statement)]
                batch = [h for h in batch if h <= high]
                rollups._run(cursor, rollups.CALLER_HOUR, rollups._params(batch))
                rollups._run(cursor, rollups.CALLER_DAY, rollups._day_params(batch))
                result.call_hours += batch
                hour = batch[-1] + timedelta(hours=1)
    result.seconds = time.perf_counter() - started
    return result


def order_rollups_rebuild(
    *, start: datetime | None = None, end: datetime | None = None, hours_per_statement: int = 24
) -> RefreshResult:
    """Recompute only the order roll-up (``OrderHour``) of the hours in [start, end) (default:
    every hour with orders), a day of hours per statement: after upgrading to the release
    that added the courier, province and status grains (migration 0009 logs every order
    hour as dirty; this takes them at once instead of the minutely refresh), without the
    call roll-ups a full rebuild would redo. Slot statistics do not depend on these grains."""
    from tvshop.reports import rollups

    started = time.perf_counter()
    result = RefreshResult()
    with transaction.atomic():
        _lock(wait=True)
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
            span = _hour_span("orders_order")
            if span is None:
                return result
            low, high = span
            low = max(low, start) if start else low
            high = min(high, end - timedelta(microseconds=1)) if end else high
            low = low.replace(minute=0, second=0, microsecond=0)
            # the logged order hours this covers (a change committed from now on logs again)
            cursor.execute(
                "DELETE FROM reports_dirtyhour WHERE source = 'order' "
                "AND hour >= %s AND hour <= %s",
                [low, high],
            )
            hour = low
            while hour <= high:
                batch = [hour + timedelta(hours=i) for i in range(hours_per_statement)]
                batch = [h for h in batch if h <= high]
                rollups._run(cursor, rollups.ORDER_HOUR, rollups._params(batch))
                result.order_hours += batch
                hour = batch[-1] + timedelta(hours=1)
    result.seconds = time.perf_counter() - started
    return result


# -- scheduled reports ---------------------------------------------------------------------

SCHEDULE_TASK = "tvshop.reports.tasks.scheduled_report_send_task"
CRONTABS = {
    ScheduledReport.Frequency.DAILY: {
        "minute": "0",
        "hour": "7",
        "day_of_week": "*",
        "day_of_month": "*",
    },
    ScheduledReport.Frequency.WEEKLY: {
        "minute": "0",
        "hour": "7",
        "day_of_week": "1",
        "day_of_month": "*",
    },
    ScheduledReport.Frequency.MONTHLY: {
        "minute": "0",
        "hour": "7",
        "day_of_week": "*",
        "day_of_month": "1",
    },
}


def _beat_entry_sync(report: ScheduledReport) -> None:
    import json

    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    crontab, _ = CrontabSchedule.objects.get_or_create(
        timezone="Asia/Shanghai", month_of_year="*", **CRONTABS[report.frequency]
    )
    PeriodicTask.objects.update_or_create(
        name=f"reports: scheduled report {report.pk}",
        defaults={
            "task": SCHEDULE_TASK,
            "crontab": crontab,
            "interval": None,
            "args": json.dumps([report.pk]),
            "enabled": report.active,
        },
    )


def scheduled_report_create(
    *, actor, name: str, kind: str, frequency: str, recipients: str, active: bool = True
) -> ScheduledReport:
    """A report mailed every day/week/month at 07:00 Asia/Shanghai, covering the period
    that just ended (yesterday, last week, last month)."""
    if not actor.has_perm("reports.view_statistics"):
        from tvshop.errors import Forbidden

        raise Forbidden(_("You may not schedule reports."))
    report = ScheduledReport(
        name=name,
        kind=kind,
        frequency=frequency,
        recipients=recipients,
        active=active,
        created_by=actor,
    )
    if not report.recipient_list():
        message = _("Enter at least one e-mail address.")
        raise DomainError(message, fields={"recipients": [message]})
    with transaction.atomic():
        report.save()
        _beat_entry_sync(report)
        audit_record(
            actor=actor,
            action="create",
            obj=report,
            after={
                "name": name,
                "kind": kind,
                "frequency": frequency,
                "recipients": report.recipient_list(),
            },
        )
    return report


def scheduled_report_period(*, frequency: str, today) -> tuple:
    """The local dates [start, end] a report sent on ``today`` covers."""
    if frequency == ScheduledReport.Frequency.DAILY:
        day = today - timedelta(days=1)
        return day, day
    if frequency == ScheduledReport.Frequency.WEEKLY:
        end = today - timedelta(days=today.weekday() + 1)
        return end - timedelta(days=6), end
    end = today.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def scheduled_report_send(*, report: ScheduledReport, today=None) -> int:
    """Build the report's .xlsx for the period that just ended and mail it. Returns the
    number of messages sent (0 for an inactive report)."""
    from django.core.mail import EmailMessage

    from tvshop.reports.exports import XLSX_TYPE, report_workbook

    if not report.active:
        return 0
    today = today or timezone.localdate()
    start, end = scheduled_report_period(frequency=report.frequency, today=today)
    content, filename = report_workbook(kind=report.kind, start=start, end=end)
    message = EmailMessage(
        subject=f"{report.name} {start:%Y-%m-%d}–{end:%Y-%m-%d}",
        body=f"{report.get_kind_display()} {start:%Y-%m-%d} – {end:%Y-%m-%d}",
        to=report.recipient_list(),
    )
    message.attach(filename, content, XLSX_TYPE)
    sent = message.send()
    ScheduledReport.objects.filter(pk=report.pk).update(last_sent_at=timezone.now())
    return sent


def statistics_export(*, actor, tables: list, period, name: str) -> tuple[bytes, str]:
    """The tables as one .xlsx, audited (who exported which statistics for which period)."""
    from tvshop.errors import Forbidden
    from tvshop.reports.exports import tables_xlsx
    from tvshop.reports.models import DirtyHour

    if not actor.has_perm("reports.view_statistics"):
        raise Forbidden(_("You may not export statistics."))
    content = tables_xlsx(tables)
    audit_record(
        actor=actor,
        action="export",
        object_type=DirtyHour,
        object_repr=name,
        after={"tables": [t.name for t in tables], "first": period.first, "last": period.last},
    )
    return content, f"{name}-{period.first:%Y%m%d}-{period.last:%Y%m%d}.xlsx"
