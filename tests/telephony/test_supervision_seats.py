"""Force not-ready and force logout from the wallboard: the state reaches the simulator over
TCP, the seat and the session change, the supervisor is the audited actor, the agent's
desktop is told; permission, empty-seat and CSRF refusals."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from telephony.choices import AgentStatus, NotReadyReason, StatusSource
from telephony.models import AgentStatusChange, Seat, SeatSession
from telephony.supervision.services import seat_force_logout, seat_force_not_ready
from telephony.switch import SwitchUnavailable, switch_api
from tests.telephony import test_desktop_support as support
from tvshop.audit.models import AuditEntry
from tvshop.errors import Forbidden

pytestmark = pytest.mark.django_db


@pytest.fixture
def simulator(settings):
    config = support.sim_config(agents=[{"name": "1001@default", "status": "Available"}])
    sim = support.SimulatorThread(config).start()
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": sim.port,
        "password": support.PASSWORD,
        "simulated": False,
    }
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def staffed(make_user):
    """Agent in seat 1001, ready (as on the switch)."""
    agent = make_user("agent")
    seat = Seat.objects.create(extension="1001", status=AgentStatus.AVAILABLE)
    SeatSession.objects.create(seat=seat, user=agent, started_at=timezone.now())
    return seat, agent


def _switch_status(agent: str = "1001@default") -> str:
    return switch_api(f"callcenter_config agent get status {agent}").strip()


def _post(client, seat: Seat, action: str):
    return client.post(reverse("telephony:seat_force", args=[seat.pk]), {"action": action})


def test_force_not_ready_reaches_the_switch_and_is_audited(simulator, staffed, client_for):
    seat, agent = staffed
    client = client_for("supervisor")
    assert _switch_status() == "Available"

    response = _post(client, seat, "not_ready")

    assert response.status_code == 200, response.content
    assert response.json()["ok"] is True
    assert _switch_status() == "On Break"
    seat.refresh_from_db()
    assert (seat.status, seat.reason) == (AgentStatus.ON_BREAK, NotReadyReason.OTHER)
    change = AgentStatusChange.objects.filter(seat=seat).latest("id")
    assert (change.user, change.source, change.status) == (
        agent,
        StatusSource.APP,
        AgentStatus.ON_BREAK,
    )
    entry = AuditEntry.objects.filter(object_id=str(seat.pk)).latest("id")
    assert entry.actor == client.user and "forced not ready" in entry.note
    # the agent stays logged in
    assert SeatSession.objects.filter(seat=seat, ended_at=None).exists()


def test_force_logout_closes_the_session_and_logs_the_agent_out_on_the_switch(
    simulator, staffed, client_for
):
    seat, agent = staffed
    client = client_for("supervisor")

    response = _post(client, seat, "logout")

    assert response.status_code == 200, response.content
    assert _switch_status() == "Logged Out"
    session = SeatSession.objects.get(seat=seat)
    assert session.ended_at is not None
    seat.refresh_from_db()
    assert seat.status == AgentStatus.LOGGED_OUT
    logout = AuditEntry.objects.filter(action="logout").latest("id")
    assert logout.actor == client.user and logout.object_id == str(session.pk)
    # the seat is free again: the agent (or another) can log in
    assert not SeatSession.objects.filter(user=agent, ended_at=None).exists()


def test_the_agents_desktop_is_told(
    simulator, staffed, make_user, django_capture_on_commit_callbacks
):
    seat, _agent = staffed
    supervisor = make_user("supervisor")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        seat_force_not_ready(supervisor=supervisor, seat_id=seat.pk)
    assert callbacks  # agent.status is pushed after the commit


def test_a_switch_refusal_changes_nothing(dead_switch, staffed, make_user):
    seat, _agent = staffed
    supervisor = make_user("supervisor")
    with pytest.raises(SwitchUnavailable):
        seat_force_logout(supervisor=supervisor, seat_id=seat.pk)
    assert SeatSession.objects.filter(seat=seat, ended_at=None).exists()
    seat.refresh_from_db()
    assert seat.status == AgentStatus.AVAILABLE
    assert not AuditEntry.objects.filter(action="logout").exists()


dead_switch = support.dead_switch  # fixture


def test_refusals(simulator, staffed, client_for, make_user):
    seat, _agent = staffed
    # an agent may not force anyone
    agent_client = client_for("agent")
    assert _post(agent_client, seat, "not_ready").status_code == 403
    with pytest.raises(Forbidden):
        seat_force_not_ready(supervisor=agent_client.user, seat_id=seat.pk)
    assert _switch_status() == "Available"
    supervisor = client_for("supervisor")
    # unknown action
    response = _post(supervisor, seat, "explode")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    # an empty seat
    empty = Seat.objects.create(extension="1002")
    response = _post(supervisor, empty, "logout")
    assert response.status_code == 409 and response.json()["code"] == "seat_empty"
    # no such seat
    response = supervisor.post(reverse("telephony:seat_force", args=[999999]), {"action": "logout"})
    assert response.status_code == 404
    # CSRF stays on
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(supervisor.user)
    assert _post(strict, seat, "logout").status_code == 403
    assert SeatSession.objects.filter(seat=seat, ended_at=None).exists()


def test_wallboard_offers_the_seat_actions_to_supervisors_only(client_for):
    supervisor = client_for("supervisor")
    page = supervisor.get(reverse("telephony:wallboard"))
    assert page.status_code == 200
    config = json.loads(json.dumps(page.context["config"], default=str))
    assert config["seat_force_url"] == "/telephony/seats/{id}/force/"
    assert set(config["labels"]["seat_actions"]) == {"not_ready", "logout"}
