"""Supervising live calls: listen, whisper, barge in and force hang-up reach the simulator over
TCP; permission, seat and call-gone refusals; every executed action audited."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from telephony.choices import CallDirection, CallOutcome
from telephony.models import Call, Seat, SeatSession
from telephony.supervision.services import (
    AuditActions,
    SupervisionMode,
    call_supervise,
    supervise_command,
)
from telephony.switch import switch_api
from tests.telephony import test_desktop_support as support
from tvshop.audit.models import AuditEntry
from tvshop.errors import Forbidden

pytestmark = pytest.mark.django_db
dead_switch = support.dead_switch  # fixture

HOTLINE = "4008001234"


@pytest.fixture
def simulator(settings):
    """The simulator over TCP with agent 1001 (answers calls) and the supervisor's phone
    1009 (logged out of the queue, so it is never offered calls, but it can be rung)."""
    config = support.sim_config(
        agents=[
            {"name": "1001@default", "status": "Available"},
            {"name": "1009@default", "status": "Logged Out"},
        ],
        hotlines=[{"number": HOTLINE, "queue": "orders"}],
    )
    sim = support.SimulatorThread(config).start()
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": sim.port,
        "password": support.PASSWORD,
        "simulated": False,
    }
    settings.TELEPHONY_SUPERVISE_WAIT_SECONDS = 3.0
    try:
        yield sim
    finally:
        sim.stop()


def _channels() -> list[dict]:
    return json.loads(switch_api("show channels as json")).get("rows", [])


def _wait_for(predicate, timeout=8.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def _live_call_on_switch(uuid: str = "c0ffee00-0000-4000-8000-0000000000aa") -> Call:
    """A caller on the simulator talking to agent 1001, and its call record."""
    switch_api(f"sim_inbound {HOTLINE} 13800138000 uuid={uuid} talk=100000 patience=100000")
    _wait_for(lambda: any(row["uuid"] == uuid for row in _channels()))
    seat = Seat.objects.get_or_create(extension="1001")[0]
    now = timezone.now()
    return Call.objects.create(
        uuid=uuid,
        direction=CallDirection.INBOUND,
        caller="+8613800138000",
        dialled=HOTLINE,
        seat=seat,
        created_at=now,
        queued_at=now,
        answered_at=now,
    )


def _record_only_call(uuid: str = "not-on-switch", **kwargs) -> Call:
    now = timezone.now()
    return Call.objects.create(
        uuid=uuid,
        direction=CallDirection.INBOUND,
        caller="+8613800138000",
        created_at=now,
        **kwargs,
    )


def _seated(client, extension: str = "1009") -> None:
    seat = Seat.objects.get_or_create(extension=extension)[0]
    SeatSession.objects.create(seat=seat, user=client.user, started_at=timezone.now())


def _post(client, call: Call, mode: str):
    return client.post(reverse("telephony:supervise", args=[call.pk]), {"mode": mode})


def _audits() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action=AuditActions.SUPERVISE).order_by("id"))


# --- the commands as text ------------------------------------------------------------------


def test_commands_follow_freeswitch_eavesdrop():
    uuid = "u-1"
    listen = supervise_command(mode="listen", call_uuid=uuid, extension="1009")
    assert listen.startswith("originate {")
    assert listen.endswith("}user/1009 &eavesdrop(u-1)")
    assert "tvshop_supervised_call=u-1" in listen and "origination_caller_id_number=1009" in listen
    assert "whisper" not in listen and "bridge" not in listen
    # the dial string stays one token (the switch splits on spaces)
    assert " " not in listen.split(" ")[1]
    whisper = supervise_command(mode="whisper", call_uuid=uuid, extension="1009")
    assert "eavesdrop_whisper_bleg=true" in whisper and "eavesdrop_whisper_aleg" not in whisper
    barge = supervise_command(mode="barge", call_uuid=uuid, extension="1009")
    assert "eavesdrop_bridge_aleg=true" in barge and "eavesdrop_bridge_bleg=true" in barge
    assert supervise_command(mode="hangup", call_uuid=uuid) == "uuid_kill u-1 MANAGER_REQUEST"


# --- over TCP ------------------------------------------------------------------------------


def test_force_hangup_ends_the_call_on_the_switch_and_is_audited(simulator, client_for):
    client = client_for("supervisor")
    call = _live_call_on_switch()

    response = _post(client, call, SupervisionMode.HANGUP)

    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    # the caller's channel is gone from the switch
    _wait_for(lambda: not any(row["uuid"] == call.uuid for row in _channels()))
    [entry] = _audits()
    assert (entry.actor, entry.object_id, entry.note) == (client.user, str(call.pk), "hangup")
    assert entry.after["mode"] == "hangup" and entry.after["uuid"] == call.uuid


@pytest.mark.parametrize("mode", ["listen", "whisper", "barge"])
def test_listen_whisper_barge_ring_the_supervisors_seat(simulator, client_for, mode):
    client = client_for("supervisor")
    _seated(client, "1009")
    call = _live_call_on_switch()

    response = _post(client, call, mode)

    # the switch rang 1009 and ran eavesdrop on the call (the job's +OK is the leg's uuid)
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["ok"] is True and data["mode"] == mode
    [entry] = _audits()
    assert entry.note == mode
    assert entry.after["extension"] == "1009"
    # the call itself is untouched
    assert any(row["uuid"] == call.uuid for row in _channels())


def test_service_result_reports_the_job_of_the_switch(simulator, make_user):
    supervisor = make_user("supervisor")
    seat = Seat.objects.create(extension="1009")
    SeatSession.objects.create(seat=seat, user=supervisor, started_at=timezone.now())
    call = _live_call_on_switch()
    result = call_supervise(supervisor=supervisor, call=call, mode="listen")
    assert result.finished is True
    assert result.output.startswith("+OK ")
    assert result.extension == "1009"


def test_listening_without_a_seat_is_refused_clearly(simulator, client_for):
    client = client_for("supervisor")
    call = _live_call_on_switch()
    response = _post(client, call, "listen")
    assert response.status_code == 409
    assert response.json()["code"] == "no_seat"
    assert "seat" in response.json()["message"].lower() or "座席" in response.json()["message"]
    assert _audits() == []
    # but a force hang-up needs no seat (checked above)


def test_a_phone_the_switch_does_not_know_is_reported(simulator, client_for):
    client = client_for("supervisor")
    _seated(client, "1077")  # no such agent/phone on the switch
    call = _live_call_on_switch()
    response = _post(client, call, "listen")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "switch_failed" and "SUBSCRIBER_ABSENT" in body["message"]
    assert _audits() == []  # rolled back with the refusal


def test_a_call_that_ended_in_the_database_is_refused(simulator, client_for):
    client = client_for("supervisor")
    _seated(client)
    call = _record_only_call(outcome=CallOutcome.ANSWERED, ended_at=timezone.now())
    for mode in ("listen", "hangup"):
        response = _post(client, call, mode)
        assert response.status_code == 409
        assert response.json()["code"] == "call_gone"
    assert _post(client, Call(pk=987654), "hangup").json()["code"] == "call_gone"
    assert _audits() == []


def test_a_call_the_switch_no_longer_has_is_refused(simulator, client_for):
    # the record still says in progress (e.g. the bridge was down), the switch knows better
    client = client_for("supervisor")
    _seated(client)
    call = _record_only_call()
    for mode in ("listen", "hangup"):
        response = _post(client, call, mode)
        assert response.status_code == 409, mode
        assert response.json()["code"] == "call_gone"
    assert _audits() == []


def test_a_switch_that_is_down_is_a_503_and_nothing_is_audited(dead_switch, client_for):
    client = client_for("supervisor")
    call = _record_only_call()
    response = _post(client, call, "hangup")
    assert response.status_code == 503
    assert response.json()["code"] == "switch_unavailable"
    assert _audits() == []


def test_actions_need_the_supervise_permission(client, client_for, make_user):
    from django.contrib.auth.models import Permission

    call = _record_only_call()
    url = reverse("telephony:supervise", args=[call.pk])
    assert client.post(url, {"mode": "hangup"}).status_code == 302
    assert client_for("agent").post(url, {"mode": "hangup"}).status_code == 403
    # watching the wallboard is not enough to act on calls
    watcher = make_user()
    watcher.user_permissions.add(Permission.objects.get(codename="view_wallboard"))
    with pytest.raises(Forbidden):
        call_supervise(supervisor=watcher, call=call, mode="hangup")
    client.force_login(watcher)
    assert client.post(url, {"mode": "hangup"}).status_code == 403
    # GET is not an action
    assert client_for("supervisor").get(url).status_code == 405
    assert _audits() == []


def test_an_unknown_mode_is_a_400(client_for):
    call = _record_only_call()
    response = client_for("supervisor").post(
        reverse("telephony:supervise", args=[call.pk]), {"mode": "explode"}
    )
    assert response.status_code == 400
    assert "mode" in response.json()["fields"]


def test_supervising_your_own_call_is_refused(simulator, client_for):
    client = client_for("supervisor")
    _seated(client, "1001")
    call = _live_call_on_switch()  # on seat 1001
    response = _post(client, call, "listen")
    assert response.status_code == 400
    assert response.json()["code"] == "own_call"


def test_csrf_is_enforced(client_for):
    from django.test import Client

    call = _record_only_call()
    user = client_for("supervisor").user
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(user)
    response = strict.post(reverse("telephony:supervise", args=[call.pk]), {"mode": "hangup"})
    assert response.status_code == 403
