"""Desktop services against the simulator over real TCP: seat log-in/out, ready, not ready,
after-call work; each sends the switch the status and records it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from telephony.choices import AgentStatus, NotReadyReason, StatusSource
from telephony.models import AgentStatusChange, SeatSession
from telephony.services import desktop as services
from telephony.switch import SwitchRefused, SwitchUnavailable
from tests.telephony import test_desktop_support as support
from tests.telephony.test_desktop_support import make_seat
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden

pytestmark = pytest.mark.django_db
dead_switch = support.dead_switch  # fixture
simulator = support.simulator  # fixture


def test_login_puts_the_seat_on_break_on_the_switch(simulator, make_user):
    # given an agent and a free seat the switch knows (Logged Out there)
    agent = make_user("agent")
    seat = make_seat("1001")
    assert simulator.agent("1001@default")["status"] == "Logged Out"
    # when the agent logs into the seat
    session = services.seat_login(user=agent, seat=seat)
    # then one open session, the switch has the agent On Break, the change is recorded
    assert session.ended_at is None and session.seat == seat and session.user == agent
    assert simulator.agent("1001@default")["status"] == "On Break"
    seat.refresh_from_db()
    assert (seat.status, seat.reason) == (AgentStatus.ON_BREAK, "")
    change = AgentStatusChange.objects.get(seat=seat)
    assert (change.status, change.source, change.user) == (
        AgentStatus.ON_BREAK,
        StatusSource.APP,
        agent,
    )
    assert AuditEntry.objects.filter(action=AuditAction.LOGIN, actor=agent).count() == 1


def test_one_open_session_per_seat_and_per_user(simulator, make_user):
    # given an agent in seat 1001
    first, second = make_user("agent"), make_user("agent")
    seat, other_seat = make_seat("1001"), make_seat("1002")
    services.seat_login(user=first, seat=seat)
    # when a second agent takes the same seat, or the first agent a second seat
    with pytest.raises(Conflict):
        services.seat_login(user=second, seat=seat)
    with pytest.raises(Conflict):
        services.seat_login(user=first, seat=other_seat)
    # then nothing changed
    assert SeatSession.objects.filter(ended_at=None).count() == 1
    assert AgentStatusChange.objects.count() == 1


def test_a_role_without_the_desktop_cannot_log_in(simulator, make_user):
    with pytest.raises(Forbidden):
        services.seat_login(user=make_user("logistics"), seat=make_seat("1001"))
    assert not SeatSession.objects.exists()


def test_ready_and_not_ready_send_the_status(simulator, make_user):
    # given an agent logged into seat 1001
    agent = make_user("agent")
    seat = make_seat("1001")
    services.seat_login(user=agent, seat=seat)
    # when the agent goes ready
    services.agent_set_ready(user=agent)
    # then the switch has the agent Available
    assert simulator.agent("1001@default")["status"] == "Available"
    # when the agent goes not ready for a meeting
    services.agent_set_not_ready(user=agent, reason=NotReadyReason.MEETING)
    # then On Break on the switch, the reason in the app
    assert simulator.agent("1001@default")["status"] == "On Break"
    seat.refresh_from_db()
    assert seat.reason == NotReadyReason.MEETING
    statuses = list(
        AgentStatusChange.objects.filter(seat=seat)
        .order_by("at", "id")
        .values_list("status", "reason")
    )
    assert statuses == [
        (AgentStatus.ON_BREAK, ""),
        (AgentStatus.AVAILABLE, ""),
        (AgentStatus.ON_BREAK, NotReadyReason.MEETING),
    ]


def test_not_ready_needs_a_known_reason(simulator, make_user):
    agent = make_user("agent")
    services.seat_login(user=agent, seat=make_seat("1001"))
    with pytest.raises(DomainError):
        services.agent_set_not_ready(user=agent, reason="lunch")
    assert simulator.agent("1001@default")["status"] == "On Break"
    assert AgentStatusChange.objects.count() == 1


def test_status_without_a_seat_is_refused(simulator, make_user):
    with pytest.raises(Conflict):
        services.agent_set_ready(user=make_user("agent"))


def test_logout_logs_the_agent_out_of_the_switch(simulator, make_user):
    agent = make_user("agent")
    seat = make_seat("1001")
    services.seat_login(user=agent, seat=seat)
    services.agent_set_ready(user=agent)
    # when the agent logs out
    session = services.seat_logout(user=agent)
    # then the session is closed and the switch has the agent Logged Out
    assert session.ended_at is not None
    assert simulator.agent("1001@default")["status"] == "Logged Out"
    assert AuditEntry.objects.filter(action=AuditAction.LOGOUT, actor=agent).count() == 1
    # and the seat is free again
    assert list(services.free_seats()) == [seat]


def test_logout_is_refused_during_a_call(simulator, make_user):
    agent = make_user("agent")
    seat = make_seat("1001")
    services.seat_login(user=agent, seat=seat)
    seat.state = "In a queue call"
    seat.save(update_fields=["state"])
    with pytest.raises(Conflict):
        services.seat_logout(user=agent)
    assert SeatSession.objects.get().ended_at is None


def test_after_call_work_ends_by_itself(simulator, make_user, settings):
    # given an agent in after-call work of 10 s
    settings.TELEPHONY_ACW_SECONDS = 10
    agent = make_user("agent")
    seat = make_seat("1001")
    services.seat_login(user=agent, seat=seat)
    services.agent_start_acw(user=agent)
    assert simulator.agent("1001@default")["status"] == "On Break"
    seat.refresh_from_db()
    assert seat.reason == NotReadyReason.AFTER_CALL_WORK
    assert services.acw_deadline(seat) == seat.status_at + dt.timedelta(seconds=10)
    # when the server checks before the end, nothing happens
    assert services.acw_expire_due() == 0
    # when it checks after the end (and the grace)
    later = timezone.now() + dt.timedelta(seconds=10 + services.ACW_GRACE_SECONDS + 1)
    assert services.acw_expire_due(now=later) == 1
    # then the agent is ready on the switch
    assert simulator.agent("1001@default")["status"] == "Available"
    seat.refresh_from_db()
    assert (seat.status, seat.reason) == (AgentStatus.AVAILABLE, "")


def test_end_of_acw_leaves_a_break_alone(simulator, make_user):
    # the countdown's "acw_end" after the agent chose a break meanwhile changes nothing
    agent = make_user("agent")
    services.seat_login(user=agent, seat=make_seat("1001"))
    services.agent_start_acw(user=agent)
    services.agent_set_not_ready(user=agent, reason=NotReadyReason.BREAK)
    services.agent_end_acw(user=agent)
    assert simulator.agent("1001@default")["status"] == "On Break"


def test_switch_down_refuses_and_saves_nothing(dead_switch, make_user):
    agent = make_user("agent")
    with pytest.raises(SwitchUnavailable) as info:
        services.seat_login(user=agent, seat=make_seat("1001"))
    assert info.value.status == 503
    assert not SeatSession.objects.exists() and not AgentStatusChange.objects.exists()
    assert not AuditEntry.objects.filter(action=AuditAction.LOGIN).exists()


def test_switch_refusal_is_a_clear_error(simulator, make_user):
    # given an agent in a seat the switch does not know (it lost it, e.g. restarted with
    # another configuration): "-ERR Invalid Agent!"
    agent = make_user("agent")
    seat = make_seat("1099")
    SeatSession.objects.create(seat=seat, user=agent, started_at=timezone.now())
    with pytest.raises(SwitchRefused) as info:
        services.agent_set_ready(user=agent)
    assert "Invalid Agent" in info.value.message
    # and nothing is saved
    seat.refresh_from_db()
    assert seat.status != AgentStatus.AVAILABLE
    assert not AgentStatusChange.objects.exists()


def test_login_to_a_seat_the_switch_does_not_know_adds_it_as_an_agent(simulator, make_user):
    from telephony.switch import switch_api
    from tests.factories import HotlineFactory

    # given a seat created after the switch started (it knows only 1001) and a hotline
    HotlineFactory(number="4008001234", queue_name="orders")
    agent = make_user("agent")
    seat = make_seat("1077")
    # when an agent logs into it and goes ready
    services.seat_login(user=agent, seat=seat)
    services.agent_set_ready(user=agent)
    # then the switch has the agent, available, with a tier in the hotline's queue
    assert simulator.agent("1077@default")["status"] == "Available"
    tiers = switch_api("callcenter_config tier list")
    assert "orders|1077@default|" in tiers
    # and a seat the switch knows is left as configured
    before = switch_api("callcenter_config tier list")
    services.seat_login(user=make_user("agent"), seat=make_seat("1001"))
    assert switch_api("callcenter_config tier list") == before
