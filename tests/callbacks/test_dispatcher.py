"""The dispatcher: gating (callers waiting, too few idle agents, surge, paused), priority
order, never more in flight than idle agents, SKIP LOCKED between two dispatchers and two
agents, offers that time out."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telephony.callbacks import surge_active
from telephony.callbacks.choices import CallbackStatus
from telephony.callbacks.dispatcher import callbacks_dispatch
from telephony.callbacks.models import CallbackRequest
from telephony.callbacks.services import (
    callback_claim,
    dispatcher_pause,
    dispatcher_resume,
    surge_set,
)
from telephony.choices import CallDirection
from telephony.models import Call
from tests.callbacks.support import agent_in_seat, capture, run_in_threads
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import Conflict

pytestmark = pytest.mark.django_db


def _in_flight():
    return CallbackRequest.objects.filter(
        status__in=[CallbackStatus.OFFERED, CallbackStatus.DIALLING, CallbackStatus.CONNECTED]
    )


def test_hands_callbacks_to_idle_agents_highest_priority_first():
    # given three waiting callbacks of different priority and two idle agents
    low = capture()
    high = capture()
    middle = capture()
    CallbackRequest.objects.filter(pk=high.pk).update(priority=900)
    CallbackRequest.objects.filter(pk=middle.pk).update(priority=500)
    a, b = agent_in_seat("1001"), agent_in_seat("1002")
    # when the dispatcher runs
    report = callbacks_dispatch()
    # then the two highest are offered, one per agent; the lowest waits
    assert report.gate == "open"
    assert sorted(report.offered) == sorted([high.pk, middle.pk])
    offered = CallbackRequest.objects.filter(status=CallbackStatus.OFFERED)
    assert {cb.assigned_agent_id for cb in offered} == {a.pk, b.pk}
    assert CallbackRequest.objects.get(pk=low.pk).status == CallbackStatus.PENDING
    assert AuditEntry.objects.filter(action=AuditAction.ASSIGN, object_id=str(high.pk)).exists()


def test_never_more_in_flight_than_idle_agents():
    for _ in range(10):
        capture()
    agent_in_seat("1001")
    agent_in_seat("1002")
    agent_in_seat("1003", idle=False)  # on break: not idle
    for _ in range(3):
        callbacks_dispatch()
    assert _in_flight().count() == 2


def test_a_callers_waiting_in_a_queue_stops_the_dispatcher():
    capture()
    agent_in_seat("1001")
    Call.objects.create(
        uuid="live-1",
        direction=CallDirection.INBOUND,
        caller="+8613600136000",
        created_at=timezone.now(),
        queued_at=timezone.now(),
    )
    report = callbacks_dispatch()
    assert (report.gate, report.callers_waiting, report.offered) == ("callers_waiting", 1, [])
    # once the caller is answered, the callback goes out
    Call.objects.filter(uuid="live-1").update(answered_at=timezone.now())
    assert len(callbacks_dispatch().offered) == 1


def test_too_few_idle_agents_dispatches_nothing(settings):
    settings.CALLBACKS = {"MIN_IDLE_AGENTS": 3}
    capture()
    agent_in_seat("1001")
    agent_in_seat("1002")
    report = callbacks_dispatch()
    assert (report.gate, report.idle_agents, report.offered) == ("too_few_idle", 2, [])
    agent_in_seat("1003")
    assert len(callbacks_dispatch().offered) == 1


def test_no_idle_agent_dispatches_nothing():
    capture()
    agent_in_seat("1001", idle=False)
    report = callbacks_dispatch()
    assert report.gate == "too_few_idle" and not _in_flight().exists()


def test_surge_active_dispatches_nothing_and_the_flag_is_audited():
    capture()
    agent_in_seat("1001")
    assert surge_set(active=True, reason="trunks 92%") is True
    assert surge_set(active=True) is False  # unchanged: no second audit row
    assert surge_active()
    report = callbacks_dispatch()
    assert (report.gate, report.offered) == ("surge", [])
    assert AuditEntry.objects.filter(note__startswith="surge on").count() == 1
    surge_set(active=False)
    assert not surge_active()
    assert len(callbacks_dispatch().offered) == 1


def test_paused_dispatcher_dispatches_nothing_and_pause_is_audited(make_user):
    capture()
    agent_in_seat("1001")
    supervisor = make_user("supervisor")
    dispatcher_pause(actor=supervisor, reason="meeting")
    assert callbacks_dispatch().gate == "paused"
    assert not _in_flight().exists()
    entry = AuditEntry.objects.get(actor=supervisor, note__startswith="dispatcher paused")
    assert entry.after["dispatcher_paused"] is True
    dispatcher_resume(actor=supervisor)
    assert len(callbacks_dispatch().offered) == 1


def test_callbacks_not_yet_due_wait():
    cb = capture()
    CallbackRequest.objects.filter(pk=cb.pk).update(
        status=CallbackStatus.NO_ANSWER, next_attempt_at=timezone.now() + dt.timedelta(minutes=5)
    )
    agent_in_seat("1001")
    assert callbacks_dispatch().offered == []


def test_an_offer_nobody_dials_goes_back_to_the_pool(settings):
    settings.CALLBACKS = {"OFFER_TIMEOUT_SECONDS": 60}
    cb = capture()
    agent_in_seat("1001")
    callbacks_dispatch()
    CallbackRequest.objects.filter(pk=cb.pk).update(
        offered_at=timezone.now() - dt.timedelta(minutes=2)
    )
    report = callbacks_dispatch()
    # returned, then offered again in the same run (the agent is still idle)
    assert report.returned == 1
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.OFFERED


def test_an_agent_holding_a_callback_gets_no_second_one():
    capture()
    capture()
    agent = agent_in_seat("1001")
    agent_in_seat("1002", idle=False)
    callbacks_dispatch()
    callbacks_dispatch()
    assert _in_flight().filter(assigned_agent=agent).count() == 1
    with pytest.raises(Conflict):
        callback_claim(
            actor=agent,
            callback_id=CallbackRequest.objects.get(status=CallbackStatus.PENDING).pk,
        )


@pytest.mark.django_db(transaction=True)
def test_two_dispatchers_at_once_never_hand_out_the_same_callback():
    # given 6 due callbacks and 4 idle agents
    for _ in range(6):
        capture()
    agents = [agent_in_seat(str(1001 + i)) for i in range(4)]
    # when two dispatchers run at the same moment (two connections)
    reports = run_in_threads(callbacks_dispatch, callbacks_dispatch)
    assert not [r for r in reports if isinstance(r, BaseException)], reports
    offered = [pk for report in reports for pk in report.offered]
    # then no callback was handed out twice, no agent got two, and in flight ≤ idle
    assert len(offered) == len(set(offered))
    assert _in_flight().count() == len(offered) <= len(agents)
    holders = list(_in_flight().values_list("assigned_agent_id", flat=True))
    assert len(holders) == len(set(holders))
    # and a later run fills the rest of the idle agents
    callbacks_dispatch()
    assert _in_flight().count() == 4


@pytest.mark.django_db(transaction=True)
def test_two_agents_claiming_one_callback_one_wins():
    cb = capture()
    a, b = agent_in_seat("1001"), agent_in_seat("1002")
    results = run_in_threads(
        lambda: callback_claim(actor=a, callback_id=cb.pk).assigned_agent_id,
        lambda: callback_claim(actor=b, callback_id=cb.pk).assigned_agent_id,
    )
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, Conflict)]
    assert len(winners) == 1 and len(losers) == 1, results
    assert CallbackRequest.objects.get(pk=cb.pk).assigned_agent_id == winners[0]


@pytest.mark.django_db(transaction=True)
def test_the_embedded_loop_runs_the_dispatcher_until_stopped():
    import time

    from telephony.callbacks.dispatcher import embedded_loop_start, embedded_loop_stop

    cb = capture()
    agent_in_seat("1001")
    assert embedded_loop_start(interval=0.1) is True
    try:
        assert embedded_loop_start(interval=0.1) is False  # once per process
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if CallbackRequest.objects.filter(pk=cb.pk, status=CallbackStatus.OFFERED).exists():
                break
            time.sleep(0.1)
        assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.OFFERED
    finally:
        embedded_loop_stop()
    from telephony.callbacks.models import CallbackControl

    assert CallbackControl.objects.get(pk=1).last_tick_at is not None


def test_the_beat_task_runs_the_dispatcher(settings):
    from telephony.callbacks.tasks import callbacks_dispatch_task

    assert "callbacks-dispatch" in settings.CELERY_BEAT_SCHEDULE
    cb = capture()
    agent_in_seat("1001")
    note = callbacks_dispatch_task.apply().get()
    assert note.startswith("open") and "offered 1" in note
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.OFFERED


def test_dials_that_never_got_or_never_closed_a_call_record_are_given_up(settings):
    from telephony.callbacks.models import CallbackAttempt
    from telephony.callbacks.services import _dial_start

    settings.CALLBACKS = {"DIAL_STALE_SECONDS": 60, "CALL_STALE_SECONDS": 3600}
    agent = agent_in_seat("1001")
    other = agent_in_seat("1002", idle=False)
    lost, stuck = capture(), capture()
    _dial_start(actor=agent, callback_id=lost.pk, mode="preview")
    _dial_start(actor=other, callback_id=stuck.pk, mode="preview")
    call = Call.objects.create(
        uuid="never-closed",
        direction=CallDirection.OUTBOUND,
        caller="1002",
        callee=stuck.number,
        agent=other,
        created_at=timezone.now(),
    )
    CallbackAttempt.objects.filter(request=stuck).update(call=call)
    # recent: left alone
    callbacks_dispatch(housekeeping=True)
    assert CallbackRequest.objects.filter(status=CallbackStatus.DIALLING).count() == 2
    # old: given up as the agent's side, no attempt counted
    CallbackAttempt.objects.update(started_at=timezone.now() - dt.timedelta(hours=2))
    report = callbacks_dispatch()
    assert report.reconciled == 2
    causes = set(CallbackAttempt.objects.values_list("cause", flat=True))
    assert causes == {"NO_CALL_RECORD", "CALL_NOT_CLOSED"}
    assert not CallbackRequest.objects.filter(status=CallbackStatus.DIALLING).exists()
    assert set(CallbackRequest.objects.values_list("attempts", flat=True)) == {0}
