"""Celery tasks of the statistics: thin, each calls one service."""

from celery import shared_task


@shared_task(ignore_result=True)
def rollups_refresh_task() -> None:
    """Every minute (beat): recompute the hours changed since the last run."""
    from tvshop.reports.services import rollups_refresh

    rollups_refresh(wait=False)


@shared_task(ignore_result=True)
def scheduled_report_send_task(report_id: int) -> None:
    from tvshop.reports.models import ScheduledReport
    from tvshop.reports.services import scheduled_report_send

    report = ScheduledReport.objects.filter(pk=report_id).first()
    if report is not None:
        scheduled_report_send(report=report)
