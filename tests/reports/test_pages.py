"""Statistics pages: permission on every view and export, rendering, xlsx, click-through,
scheduled reports mailed as .xlsx."""

from __future__ import annotations

import datetime as dt
import io
import re
from decimal import Decimal

import pytest
from django.core import mail
from django.urls import reverse
from django_celery_beat.models import PeriodicTask
from openpyxl import load_workbook

from tests.factories import HotlineFactory, ProductFactory
from tests.reports.helpers import local, make_call
from tvshop.audit.models import AuditEntry
from tvshop.media.models import AiringSlot
from tvshop.reports.models import ScheduledReport
from tvshop.reports.services import rollups_refresh, scheduled_report_create, scheduled_report_send

pytestmark = pytest.mark.django_db

PAGES = ["media", "queues", "agents", "funnel", "sales", "logistics", "calls", "schedules"]
PERIOD = {"first": "2026-11-20", "last": "2026-11-20"}


@pytest.fixture
def data():
    hotline = HotlineFactory(queue_name="q1")
    hotline.station.name = "=HYPERLINK(1)"  # a formula-looking name must stay text
    hotline.station.save()
    AiringSlot.objects.create(
        station=hotline.station,
        product=ProductFactory(),
        hotline=hotline,
        start=local(2026, 11, 20, 20, 0),
        end=local(2026, 11, 20, 20, 5),
        cost=Decimal("800"),
    )
    for minute in range(4):
        make_call(at=local(2026, 11, 20, 20, minute), hotline=hotline, answered=5, ended=65)
    make_call(at=local(2026, 11, 20, 21, 0), hotline=hotline, ended=9, outcome="abandoned")
    rollups_refresh()
    return hotline


@pytest.mark.parametrize("page", PAGES)
def test_every_page_needs_the_statistics_permission(client_for, client, page):
    url = reverse(f"reports:{page}")
    assert client.get(url).status_code == 302  # anonymous → log-in
    assert client_for("agent").get(url).status_code == 403
    assert client_for("finance").get(url, {"format": "xlsx"}).status_code == 403
    assert client_for("supervisor").get(url).status_code == 200
    assert client_for("administrator").get(url).status_code == 200


def test_curve_json_and_refresh_need_the_permission(client_for, data):
    agent = client_for("agent")
    assert agent.get(reverse("reports:curve"), PERIOD).status_code == 403
    assert agent.post(reverse("reports:refresh")).status_code == 403
    sup = client_for("supervisor")
    response = sup.get(reverse("reports:curve"), {**PERIOD, "stations": data.station_id})
    assert response.status_code == 200
    curve = response.json()
    assert curve["resolution"] == "hour"
    assert curve["series"][0]["data"][20] == 4
    assert len(curve["slots"]) == 1
    minute = sup.get(
        reverse("reports:curve"), {**PERIOD, "stations": data.station_id, "resolution": "minute"}
    ).json()
    assert sum(minute["series"][0]["data"]) == 5 and minute["series"][0]["data"][20 * 60] == 1


def test_media_page_shows_curve_tables_and_attribution_rule(
    client_for, data, django_assert_max_num_queries
):
    sup = client_for("supervisor", language="en")
    with django_assert_max_num_queries(25):
        response = sup.get(reverse("reports:media"), {**PERIOD, "stations": data.station_id})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="station-chart"' in body and 'id="station-curve"' in body
    assert 'id="table-media"' in body and 'id="table-slots"' in body
    assert "30 minutes" in body
    assert response.context["tables"][0].rows[0]["calls"] == 5


def test_bad_period_is_a_400_not_a_500(client_for):
    response = client_for("supervisor").get(
        reverse("reports:queues"), {"first": "2026-11-20", "last": "2026-11-01"}
    )
    assert response.status_code == 400


def test_queue_export_is_a_real_formula_safe_xlsx_and_audited(client_for, data):
    sup = client_for("supervisor", language="en")
    response = sup.get(reverse("reports:queues"), {**PERIOD, "group": "station", "format": "xlsx"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("TV station", "Inbound calls", "Answered")
    assert rows[1][0] == "'=HYPERLINK(1)"  # neutralised, not a formula
    assert rows[1][1:3] == (5, 4)
    assert rows[2][0] == "Total"
    assert AuditEntry.objects.filter(action="export", actor=sup.user).exists()


def test_click_on_a_point_lists_its_calls(client_for, data):
    sup = client_for("supervisor")
    response = sup.get(
        reverse("reports:point"),
        {
            "station": data.station_id,
            "bucket": "2026-11-20T20:00:00+08:00",
            "resolution": "hour",
        },
    )
    assert response.status_code == 302
    listing = sup.get(response["Location"])
    assert listing.status_code == 200
    assert listing.context["page_obj"].paginator.count == 4  # the 21:00 abandon is not in it


def test_call_search_query_count(client_for, data, django_assert_max_num_queries):
    sup = client_for("supervisor")
    with django_assert_max_num_queries(12):
        response = sup.get(reverse("reports:calls"), {"outcome": "answered"})
    assert response.context["page_obj"].paginator.count == 4


def test_refresh_now_takes_pending_changes(client_for, data):
    make_call(at=local(2026, 11, 20, 20, 30), hotline=data, answered=5, ended=65)
    sup = client_for("supervisor")
    response = sup.post(reverse("reports:refresh"), {"next": reverse("reports:media")})
    assert response.status_code == 302
    curve = sup.get(reverse("reports:curve"), {**PERIOD, "stations": data.station_id}).json()
    assert curve["series"][0]["data"][20] == 5


def test_beat_refreshes_every_minute():
    # the data migration's entry (run again here: tests that flush the database drop it)
    from importlib import import_module

    from django.apps import apps

    import_module("tvshop.reports.migrations.0003_refresh_every_minute").forwards(apps, None)
    task = PeriodicTask.objects.get(task="tvshop.reports.tasks.rollups_refresh_task")
    assert task.enabled
    assert (task.interval.every, task.interval.period) == (1, "minutes")


def test_scheduled_report_is_mailed_as_xlsx_with_the_right_rows(make_user, data, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    user = make_user("supervisor")
    report = scheduled_report_create(
        actor=user,
        name="Daily queues",
        kind="queue",
        frequency="daily",
        recipients="boss@example.com\nops@example.com",
    )
    entry = PeriodicTask.objects.get(name=f"reports: scheduled report {report.pk}")
    assert (entry.crontab.hour, entry.crontab.day_of_week) == ("7", "*")
    sent = scheduled_report_send(report=report, today=dt.date(2026, 11, 21))
    assert sent == 1
    message = mail.outbox[0]
    assert message.to == ["boss@example.com", "ops@example.com"]
    name, content, mimetype = message.attachments[0]
    assert mimetype.startswith("application/vnd.openxmlformats")
    assert name == "queue-20261120-20261120.xlsx"
    sheet = load_workbook(io.BytesIO(content)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("q1", 5, 4)
    ScheduledReport.objects.filter(pk=report.pk).update(active=False)
    report.refresh_from_db()
    assert scheduled_report_send(report=report, today=dt.date(2026, 11, 22)) == 0


def test_schedule_form_refuses_bad_addresses(client_for):
    sup = client_for("supervisor")
    response = sup.post(
        reverse("reports:schedule_create"),
        {
            "name": "x",
            "kind": "queue",
            "frequency": "weekly",
            "recipients": "not an address",
        },
    )
    assert response.status_code == 400
    assert not ScheduledReport.objects.exists()
    response = sup.post(
        reverse("reports:schedule_create"),
        {
            "name": "x",
            "kind": "media",
            "frequency": "monthly",
            "recipients": "a@example.com",
            "active": "on",
        },
    )
    assert response.status_code == 302
    assert ScheduledReport.objects.get().frequency == "monthly"


def test_the_beat_task_takes_pending_changes(data):
    from tvshop.reports.selectors import Period, pending_changes, station_curve
    from tvshop.reports.tasks import rollups_refresh_task

    make_call(at=local(2026, 11, 20, 20, 40), hotline=data, answered=5, ended=65)
    assert pending_changes() > 0
    rollups_refresh_task()
    assert pending_changes() == 0
    day = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 20))
    assert station_curve(period=day, stations=[data.station_id])["series"][0]["data"][20] == 5


def test_a_long_table_is_bounded_on_the_page_and_whole_in_the_export(client_for, data, monkeypatch):
    from tvshop.reports import views

    monkeypatch.setattr(views, "ROWS_ON_PAGE", 2)
    for day in (18, 19, 21):
        make_call(at=local(2026, 11, day, 10, 0), hotline=data, answered=5, ended=65)
    rollups_refresh()
    sup = client_for("supervisor")
    params = {"first": "2026-11-18", "last": "2026-11-21", "group": "day"}
    page = sup.get(reverse("reports:queues"), params).content.decode()
    # 4 days; 2 shown, then the total row (the note's words are translated: match its count)
    assert re.search(r'<p class="muted note">[^<]*\b4\b', page)
    assert page.count("<tr") - page.count("<thead><tr") == 3
    export = sup.get(reverse("reports:queues"), {**params, "format": "xlsx"})
    rows = list(load_workbook(io.BytesIO(export.content)).active.iter_rows(values_only=True))
    assert any(r and r[0] == "2026-11-21" for r in rows)
