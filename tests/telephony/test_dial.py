"""Click-to-dial against the simulator over TCP: success, refusals, failures with a cause."""

from __future__ import annotations

import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.choices import CustomerLevel
from telephony.choices import CallDirection, CallOutcome
from telephony.models import Call, SeatSession
from telephony.services import desktop as desktop_services
from telephony.services.dial import dial_customer, dial_digits, originate_command
from telephony.switch import switch_api
from tests.factories import CustomerFactory, CustomerPhoneFactory, HotlineFactory, StationFactory
from tests.telephony import test_desktop_support as support
from tests.telephony.test_desktop_support import make_seat
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import DomainError

pytestmark = pytest.mark.django_db
dead_switch = support.dead_switch  # fixture
simulator = support.simulator  # fixture


def _customer(number="+8613800138000", **kwargs):
    customer = CustomerFactory(**kwargs)
    phone = CustomerPhoneFactory(customer=customer, number=number)
    return customer, phone


def _seated(client_for, extension="1001"):
    client = client_for("agent")
    desktop_services.seat_login(user=client.user, seat=make_seat(extension))
    return client


def _channels() -> list[dict]:
    return json.loads(switch_api("show channels as json")).get("rows", [])


def _wait_for(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_dial_digits_national_forms():
    assert dial_digits("+8613800138000") == "13800138000"
    assert dial_digits("+8675588881234") == "075588881234"
    assert dial_digits("+861088881234") == "01088881234"
    assert dial_digits("+864008001234") == "4008001234"
    assert dial_digits("+85291234567") == "0085291234567"


def test_originate_command_follows_the_contract():
    call = Call(pk=7, uuid="u-1")
    command = originate_command(
        call=call, extension="1001", caller_id="4008001234", number="+8613800138000"
    )
    assert command.startswith(
        "originate {origination_uuid=u-1,origination_caller_id_number=4008001234,"
    )
    assert command.endswith(
        "}user/1001 &bridge({origination_caller_id_number=4008001234}loopback/13800138000/default)"
    )
    # the variables block and the endpoint stay one token
    assert command.split(" ")[1].startswith("{") and command.split(" ")[1].endswith("}user/1001")


def test_dial_rings_the_agent_then_the_customer(simulator, client_for):
    # given an agent in seat 1001 and a customer from a station with a hotline
    station = StationFactory()
    hotline = HotlineFactory(station=station, number="4008001234", queue_name="orders")
    customer, phone = _customer(source_station=station)
    client = _seated(client_for)
    # when the agent clicks the customer's number (the page sends the phone's id only)
    response = client.post(reverse("telephony:dial"), {"phone": phone.pk}, HTTP_HX_REQUEST="true")
    # then the page says the phone rings
    assert response.status_code == 200
    assert "Ringing your phone" in response.content.decode() or "正在" in (
        response.content.decode()
    )
    # and an outbound call exists with the hotline as caller id
    call = Call.objects.get()
    assert call.direction == CallDirection.OUTBOUND
    assert (call.callee, call.dialled, call.hotline, call.customer) == (
        "+8613800138000",
        "4008001234",
        hotline,
        customer,
    )
    assert call.agent == client.user and call.seat.extension == "1001"
    assert call.outcome == CallOutcome.IN_PROGRESS
    assert AuditEntry.objects.filter(
        action=AuditAction.CREATE, actor=client.user, object_id=str(call.pk)
    ).exists()
    # and the switch rang the agent's phone with the call's uuid, then the customer
    _wait_for(lambda: any(row["uuid"] == call.uuid for row in _channels()))
    customer_leg = _wait_for(
        lambda: [row for row in _channels() if "loopback/13800138000" in row["name"]]
    )
    assert customer_leg[0]["cid_num"] == "4008001234"


def test_dial_without_a_seat_is_refused(simulator, client_for):
    _c, phone = _customer()
    client = client_for("agent")
    response = client.post(reverse("telephony:dial"), {"phone": phone.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert "seat" in response.content.decode().lower() or "座席" in response.content.decode()
    assert not Call.objects.exists()


def test_dial_to_an_absent_extension_fails_with_the_cause(simulator, client_for):
    # given an agent whose seat's phone is not registered on the switch (no agent 1099 there)
    _c, phone = _customer()
    client = client_for("agent")
    seat = make_seat("1099")
    SeatSession.objects.create(seat=seat, user=client.user, started_at=timezone.now())
    # when the agent dials
    response = client.post(reverse("telephony:dial"), {"phone": phone.pk}, HTTP_HX_REQUEST="true")
    # then the call is recorded as failed with the switch's cause, and the page shows it
    call = Call.objects.get()
    assert (call.outcome, call.hangup_cause) == (CallOutcome.FAILED, "SUBSCRIBER_ABSENT")
    assert call.ended_at is not None
    assert response.status_code == 200
    assert "SUBSCRIBER_ABSENT" in response.content.decode()


def test_dial_with_the_switch_down_is_a_clear_error(dead_switch, client_for):
    _c, phone = _customer()
    client = client_for("agent")
    SeatSession.objects.create(seat=make_seat("1001"), user=client.user, started_at=timezone.now())
    response = client.post(reverse("telephony:dial"), {"phone": phone.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    call = Call.objects.get()
    assert (call.outcome, call.hangup_cause) == (CallOutcome.FAILED, "SWITCH_UNAVAILABLE")


@pytest.mark.parametrize("role", ["logistics", "finance"])
def test_roles_without_click_to_dial_get_403(simulator, client_for, role):
    _c, phone = _customer()
    client = client_for(role)
    response = client.post(reverse("telephony:dial"), {"phone": phone.pk})
    assert response.status_code == 403
    assert not Call.objects.exists()


def test_blacklisted_customer_is_not_dialled(simulator, client_for):
    _c, phone = _customer(level=CustomerLevel.BLACKLISTED)
    client = _seated(client_for)
    response = client.post(reverse("telephony:dial"), {"phone": phone.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert not Call.objects.exists()


def test_agent_already_on_a_call_is_refused(simulator, client_for):
    _c, phone = _customer()
    client = _seated(client_for)
    Call.objects.create(
        uuid="busy-1",
        direction=CallDirection.INBOUND,
        caller="+8613900139000",
        agent=client.user,
        created_at=timezone.now(),
    )
    response = client.post(reverse("telephony:dial"), {"phone": phone.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 409
    assert Call.objects.count() == 1


def test_invalid_number_is_refused(simulator, make_user):
    agent = make_user("agent")
    desktop_services.seat_login(user=agent, seat=make_seat("1001"))
    with pytest.raises(DomainError):
        dial_customer(user=agent, number_or_phone_id="12345")
    assert not Call.objects.exists()


def test_dial_a_calls_other_party_by_call_id(simulator, client_for):
    # the pop of an unknown caller can call back without the page holding the number
    client = _seated(client_for)
    earlier = Call.objects.create(
        uuid="in-1",
        direction=CallDirection.INBOUND,
        caller="+8613700137000",
        agent=client.user,
        created_at=timezone.now(),
        outcome=CallOutcome.ANSWERED,
    )
    response = client.post(reverse("telephony:dial"), {"call": earlier.pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert Call.objects.exclude(pk=earlier.pk).get().callee == "+8613700137000"


def test_dial_someone_elses_call_is_refused(simulator, client_for, make_user):
    other = make_user("agent")
    call = Call.objects.create(
        uuid="in-2",
        direction=CallDirection.INBOUND,
        caller="+8613700137000",
        agent=other,
        created_at=timezone.now(),
        outcome=CallOutcome.ANSWERED,
    )
    client = _seated(client_for)
    response = client.post(reverse("telephony:dial"), {"call": call.pk})
    assert response.status_code == 403
    assert Call.objects.count() == 1


def test_customer_page_phones_have_dial_buttons_for_dialling_roles(client_for):
    _c, phone = _customer()
    url = reverse("crm:customer_detail", args=[_c.pk])
    html = client_for("agent").get(url).content.decode()
    assert f'id="dial-{phone.pk}"' in html and reverse("telephony:dial") in html
    assert "13800138000" not in html  # still masked for agents
    html = client_for("logistics").get(url).content.decode()
    assert f'id="dial-{phone.pk}"' not in html


@pytest.mark.django_db(transaction=True)
def test_agent_not_answering_fails_the_dial_later(client_for, settings):
    # given an agent whose phone rings but is never picked up
    sim = support.SimulatorThread(
        support.sim_config(agents=[{"name": "1001@default", "answers": False}], speed=20.0)
    ).start()
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": sim.port,
        "password": "ClueCon",
        "simulated": False,
    }
    try:
        _c, phone = _customer()
        client = client_for("agent")
        SeatSession.objects.create(
            seat=make_seat("1001"), user=client.user, started_at=timezone.now()
        )
        # when the agent dials, the page says the phone rings (no verdict yet)
        response = client.post(reverse("telephony:dial"), {"phone": phone.pk})
        assert response.status_code == 200
        call = Call.objects.get()
        assert call.outcome == CallOutcome.IN_PROGRESS
        # then, when the switch gives up on the agent's phone, the call ends failed
        _wait_for(
            lambda: Call.objects.filter(pk=call.pk, outcome=CallOutcome.FAILED).exists(),
            timeout=10,
        )
        call.refresh_from_db()
        assert call.hangup_cause == "NO_ANSWER" and call.ended_at is not None
    finally:
        sim.stop()
