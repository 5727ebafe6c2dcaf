"""Issue #6 wiring: the recording-retention task is found by the Celery worker and beat
runs it daily; run through Celery (eager in tests) it purges expired recordings."""

from __future__ import annotations

import datetime as dt

import pytest
from celery.schedules import crontab
from django.utils import timezone

from telephony.choices import CallDirection
from telephony.models import Call

TASK = "telephony.recordings_purge_expired"


def test_the_worker_finds_the_task_and_beat_runs_it_daily(settings):
    from tvshop.celery import app

    app.loader.import_default_modules()  # what a worker does at start (autodiscover)
    assert TASK in app.tasks
    entry = settings.CELERY_BEAT_SCHEDULE["recordings-purge-expired"]
    assert entry["task"] == TASK
    assert isinstance(entry["schedule"], crontab)
    assert entry["schedule"].hour == {3} and entry["schedule"].minute == {30}


@pytest.mark.django_db
def test_the_task_purges_expired_recordings(settings, tmp_path):
    from telephony.tasks import recordings_purge_expired_task

    settings.TELEPHONY_RECORDINGS_ROOT = tmp_path
    settings.TELEPHONY_RECORDINGS_RETENTION_DAYS = 30
    old_file = tmp_path / "old.wav"
    old_file.write_bytes(b"x")
    new_file = tmp_path / "new.wav"
    new_file.write_bytes(b"y")
    now = timezone.now()
    for name, age in (("old.wav", 40), ("new.wav", 2)):
        Call.objects.create(
            uuid=name,
            direction=CallDirection.INBOUND,
            caller="+8613800138000",
            created_at=now - dt.timedelta(days=age),
            recording_path=name,
        )

    assert recordings_purge_expired_task.apply().get() == 1  # as the worker runs it
    assert not old_file.exists() and new_file.exists()
    assert Call.objects.get(uuid="old.wav").recording_path == ""
