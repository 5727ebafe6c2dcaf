"""The overflow controller: load read from the switch flips the queue's overflow global
in the simulator, with hysteresis (no flapping), surge flag and audit rows; work hours and
holidays turn the branch on after hours."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django.utils import timezone

from telephony.callbacks import surge_active
from telephony.routing.choices import OverflowReason
from telephony.routing.controller import Controller, Load, decide, overflow_evaluate
from telephony.routing.models import Holiday, RoutingPolicy
from telephony.routing.services import is_open
from telephony.switch import switch_api
from tests.factories import HotlineFactory
from tests.routing.support import HOTLINE, QUEUE, flushed, global_get, start_simulator
from tvshop.audit.models import AuditEntry

VAR = f"tvshop_overflow_{QUEUE}"


def _policy(**values) -> RoutingPolicy:
    defaults = dict(
        trunk_capacity=10,
        overflow_threshold_pct=50,
        hysteresis_pct=20,
        max_wait_seconds=0,
        max_queued=0,
    )
    defaults.update(values)
    return RoutingPolicy(**defaults)


def _run(policy: RoutingPolicy, channels: list[int], **load) -> list[str]:
    """Feed a sequence of channel counts; the reasons decided, state carried along."""
    out = []
    for n in channels:
        reason = decide(policy, Load(channels=n, **load), open_now=True)
        policy.overflow_active, policy.overflow_reason = bool(reason), reason
        out.append(reason)
    return out


def test_threshold_and_hysteresis_on_channels():
    # capacity 10, threshold 50% → on at 5; off only below 30% (3 channels)
    reasons = _run(_policy(), [4, 5, 4, 3, 2, 3, 4, 5])
    assert reasons == ["", "channels", "channels", "channels", "", "", "", "channels"]


def test_no_flapping_around_the_threshold():
    reasons = _run(_policy(), [4, 5, 4, 5, 4, 5, 4, 5, 4])
    switches = sum(1 for a, b in zip(["", *reasons], reasons, strict=False) if bool(a) != bool(b))
    assert switches == 1


def test_queued_and_wait_limits_with_hysteresis():
    policy = _policy(max_queued=10, max_wait_seconds=100)
    assert decide(policy, Load(queued=10), open_now=True) == OverflowReason.QUEUED
    policy.overflow_active, policy.overflow_reason = True, OverflowReason.QUEUED
    assert decide(policy, Load(queued=9), open_now=True) == OverflowReason.QUEUED  # ≥ 8
    assert decide(policy, Load(queued=7), open_now=True) == ""
    policy.overflow_active, policy.overflow_reason = False, ""
    assert decide(policy, Load(longest_wait=100), open_now=True) == OverflowReason.WAIT
    policy.overflow_active, policy.overflow_reason = True, OverflowReason.WAIT
    assert decide(policy, Load(longest_wait=85), open_now=True) == OverflowReason.WAIT
    assert decide(policy, Load(longest_wait=70), open_now=True) == ""


def test_forced_and_after_hours():
    assert decide(_policy(force_overflow=True), Load(), open_now=True) == OverflowReason.MANUAL
    assert decide(_policy(), Load(), open_now=False) == OverflowReason.AFTER_HOURS


@pytest.mark.django_db
def test_work_hours_and_holidays():
    hotline = HotlineFactory()
    policy = RoutingPolicy.objects.create(
        hotline=hotline, hours_enabled=True, work_hours={"0": "08:00-22:00", "6": ""}
    )
    tz = timezone.get_current_timezone()
    monday = dt.datetime(2026, 11, 23, 9, 0, tzinfo=tz)
    assert monday.weekday() == 0
    assert is_open(policy, monday)
    assert not is_open(policy, monday.replace(hour=7, minute=59))
    assert not is_open(policy, monday.replace(hour=22, minute=1))
    assert not is_open(policy, monday + dt.timedelta(days=6))  # Sunday: closed
    assert not is_open(policy, monday + dt.timedelta(days=1))  # Tuesday: no hours = closed
    Holiday.objects.create(policy=policy, date=monday.date())
    assert not is_open(policy, monday)
    policy.hours_enabled = False
    assert not is_open(policy, monday)  # holidays close even a 24-hour hotline
    assert is_open(policy, monday + dt.timedelta(days=1))


def _place(n: int, caller0: int = 13500135000) -> list[str]:
    return [
        switch_api(f"sim_inbound {HOTLINE} {caller0 + i} patience=100000").split()[1]
        for i in range(n)
    ]


def _wait_channels(n: int, timeout: float = 5.0) -> None:
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = json.loads(switch_api("show channels as json")).get("rows") or []
        if len([r for r in rows if r.get("direction") == "inbound"]) == n:
            return
        time.sleep(0.05)
    raise AssertionError(f"expected {n} channels")


@pytest.mark.django_db
def test_load_flips_the_switch_global_with_hysteresis(settings):
    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE)
    RoutingPolicy.objects.create(
        hotline=hotline,
        trunk_capacity=10,
        overflow_threshold_pct=50,
        hysteresis_pct=20,
        max_wait_seconds=0,
        max_queued=0,
    )
    # nobody answers: the callers stay in the queue, holding trunk channels
    sim = start_simulator(settings, speed=1.0)
    controller = Controller()
    try:
        calls = _place(4)
        _wait_channels(4)
        assert controller.tick() == []
        assert global_get(VAR) == "false"
        assert not surge_active()

        calls += _place(1, 13500135100)
        _wait_channels(5)
        assert [p.hotline.number for p in controller.tick()] == [HOTLINE]
        assert global_get(VAR) == "true"
        assert surge_active()
        policy = RoutingPolicy.objects.get(hotline=hotline)
        assert policy.overflow_active and policy.overflow_reason == OverflowReason.CHANNELS

        # below the threshold but within the hysteresis: stays on, no flapping
        for uuid in calls[:2]:
            switch_api(f"uuid_kill {uuid}")
        _wait_channels(3)
        for _ in range(3):
            assert controller.tick() == []
        assert global_get(VAR) == "true"

        # clearly below: off again, once three readings in a row confirm it
        switch_api(f"uuid_kill {calls[2]}")
        _wait_channels(2)
        assert controller.tick() == [] and controller.tick() == []
        assert global_get(VAR) == "true"
        assert len(controller.tick()) == 1
        assert global_get(VAR) == "false"
        assert not surge_active()

        entries = AuditEntry.objects.filter(object_id=str(policy.pk)).order_by("at", "id")
        notes = [e.note for e in entries if e.note.startswith("overflow")]
        assert len(notes) == 2
        assert notes[0].startswith("overflow on (channels): channels 5/10")
        assert notes[1].startswith("overflow off")
    finally:
        controller.close()
        sim.stop()


@pytest.mark.django_db
def test_queued_callers_limit_from_the_switch(settings):
    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE)
    RoutingPolicy.objects.create(
        hotline=hotline, trunk_capacity=90, max_queued=3, max_wait_seconds=0
    )
    sim = start_simulator(settings, speed=1.0)
    controller = Controller()
    try:
        _place(3)
        _wait_channels(3)
        controller.tick()
        assert global_get(VAR) == "true"
        assert RoutingPolicy.objects.get().overflow_reason == OverflowReason.QUEUED
    finally:
        controller.close()
        sim.stop()


@pytest.mark.django_db
def test_switch_unreachable_keeps_the_state(settings, dead_port):
    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE)
    RoutingPolicy.objects.create(
        hotline=hotline, overflow_active=True, overflow_reason=OverflowReason.CHANNELS
    )
    controller = Controller()
    try:
        assert controller.tick() == []
        assert controller.errors >= 1
        assert RoutingPolicy.objects.get().overflow_active
    finally:
        controller.close()


@pytest.fixture
def dead_port(settings):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": port,
        "password": "x",
        "simulated": False,
    }
    return port


@pytest.mark.django_db
def test_after_hours_turns_the_branch_on_and_not_the_surge(
    settings, django_capture_on_commit_callbacks
):
    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE)
    sim = start_simulator(settings)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            policy = RoutingPolicy.objects.create(hotline=hotline)
        flushed()
        assert not RoutingPolicy.objects.get().overflow_active
        today = timezone.localdate()
        with django_capture_on_commit_callbacks(execute=True):
            Holiday.objects.create(policy=policy, date=today, note="test")
        flushed()
        policy.refresh_from_db()
        assert policy.overflow_active and policy.overflow_reason == OverflowReason.AFTER_HOURS
        assert global_get(VAR) == "true"
        assert not surge_active()  # after hours is not a surge: callbacks may still be worked
        with django_capture_on_commit_callbacks(execute=True):
            Holiday.objects.filter(policy=policy).delete()
        flushed()
        assert global_get(VAR) == "false"
        assert overflow_evaluate(push=False) == []
    finally:
        sim.stop()


@pytest.mark.django_db(transaction=True)
def test_the_loop_runs_every_interval_and_flips_the_switch(settings):
    """The controller thread (embedded default, ``manage.py routing_controller``) reads the
    switch on its own and switches the branch without anyone calling it."""
    from telephony.routing.controller import embedded_loop_start, embedded_loop_stop

    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE)
    RoutingPolicy.objects.create(
        hotline=hotline, trunk_capacity=2, overflow_threshold_pct=100, max_wait_seconds=0
    )
    sim = start_simulator(settings, speed=1.0)
    try:
        assert embedded_loop_start(interval=0.2)
        assert not embedded_loop_start(interval=0.2)  # once per process
        _place(2)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and global_get(VAR) != "true":
            time.sleep(0.1)
        assert global_get(VAR) == "true"
        assert RoutingPolicy.objects.get().overflow_reason == OverflowReason.CHANNELS
    finally:
        embedded_loop_stop()
        sim.stop()


@pytest.mark.django_db
def test_command_and_beat_task_run_one_step(settings):
    from io import StringIO

    from django.core.management import call_command

    from telephony.routing.tasks import routing_overflow_tick_task, routing_provision_all_task

    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE)
    RoutingPolicy.objects.create(hotline=hotline, force_overflow=True)
    sim = start_simulator(settings)
    try:
        out = StringIO()
        call_command("routing_controller", "--once", "--provision", stdout=out)
        # provisioning leaves the overflow switch alone (no seats, no numbers: nothing to
        # push); the controller's step turns the forced policy on and sets the switch
        assert "provisioned: 0 commands" in out.getvalue()
        assert "overflow changes: 1" in out.getvalue()
        assert RoutingPolicy.objects.get().overflow_reason == OverflowReason.MANUAL
        assert global_get(VAR) == "true"
        switch_api(f"global_setvar {VAR}=false")  # somebody reset the switch
        assert routing_overflow_tick_task() == 0  # no state change …
        assert global_get(VAR) == "true"  # … but the switch is set again
        switch_api(f"global_setvar {VAR}=false")
        assert routing_provision_all_task() == 0
        assert global_get(VAR) == "false"  # provisioning did not touch the live switch
    finally:
        sim.stop()


def test_readings_are_parsed_and_garbage_is_a_failed_reading():
    from telephony.routing.controller import parse_channels, parse_members

    text = (
        '{"row_count":3,"rows":['
        '{"direction":"inbound","name":"sofia/external/138","initial_dest":"4008001234"},'
        '{"direction":"inbound","name":"sofia/external/139","initial_dest":"4008001234",'
        '"dest":"tvshop_overflow"},'
        '{"direction":"outbound","name":"user/1001","initial_dest":"1001"}]}'
    )
    assert parse_channels(text) == {"4008001234": 2}
    assert parse_channels('{"row_count": 0}') == {}
    with pytest.raises(ValueError):
        parse_channels('{"row_count":3,"rows":[{"dire')
    members = (
        "queue|uuid|joined_epoch|state\n"
        "orders|a|1000|Waiting\norders|b|1030|Trying\norders|c|900|Answered\n+OK\n"
    )
    assert parse_members(members, now=1100.0) == (2, 100.0)
    assert parse_members("", now=1.0) == (0, 0.0)
