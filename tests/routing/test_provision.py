"""Provisioning what the hotline dialplan reads: changes pushed on commit, everything
pushed after a reconnect — checked in the simulator's state over real TCP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.choices import CustomerLevel
from telephony.choices import CallDirection, CallOutcome
from telephony.models import Call, Seat
from telephony.routing.models import RoutingPolicy
from telephony.routing.services import (
    caller_forms,
    number_commands,
    routing_after_reconnect,
    routing_last_agent_push,
    routing_provision_all,
)
from telephony.routing.switchlink import pusher
from telephony.switch import switch_api
from tests.factories import CustomerFactory, CustomerPhoneFactory, HotlineFactory
from tests.routing.support import (
    HOTLINE,
    QUEUE,
    flushed,
    global_get,
    hash_get,
    point_at,
    sim,  # noqa: F401  (fixture)
    start_simulator,
)


def test_caller_forms_cover_what_carriers_deliver():
    assert caller_forms("+8613800138000") == ["+8613800138000", "8613800138000", "13800138000"]
    assert caller_forms("+8675588881234") == ["+8675588881234", "8675588881234", "075588881234"]
    assert caller_forms("13800138000")[:1] == ["13800138000"]
    assert "+8613800138000" in caller_forms("13800138000")
    assert caller_forms("") == []


def test_number_commands_by_level():
    black = number_commands("+8613800138000", CustomerLevel.BLACKLISTED)
    assert "hash insert/tvshop_blacklist/13800138000/1" in black
    assert "hash delete/tvshop_vip/13800138000" in black
    vip = number_commands("+8613800138000", CustomerLevel.VIP)
    assert "hash insert/tvshop_vip/13800138000/1000" in vip
    assert "hash delete/tvshop_blacklist/13800138000" in vip


@pytest.mark.django_db
def test_level_and_phone_changes_reach_the_switch(sim, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        customer = CustomerFactory()
        phone = CustomerPhoneFactory(customer=customer, number="+8613900139001")
    flushed()
    assert hash_get("tvshop_blacklist", "13900139001") == ""

    with django_capture_on_commit_callbacks(execute=True):
        customer.level = CustomerLevel.BLACKLISTED
        customer.save()
    flushed()
    for form in ("13900139001", "8613900139001", "+8613900139001"):
        assert hash_get("tvshop_blacklist", form) == "1"

    with django_capture_on_commit_callbacks(execute=True):
        customer.level = CustomerLevel.VIP
        customer.save()
    flushed()
    assert hash_get("tvshop_blacklist", "13900139001") == ""
    assert hash_get("tvshop_vip", "13900139001") == "1000"

    # the number changes: the old one leaves the switch, the new one arrives
    with django_capture_on_commit_callbacks(execute=True):
        phone.number = "+8613900139002"
        phone.save()
    flushed()
    assert hash_get("tvshop_vip", "13900139001") == ""
    assert hash_get("tvshop_vip", "13900139002") == "1000"

    with django_capture_on_commit_callbacks(execute=True):
        phone.delete()
    flushed()
    assert hash_get("tvshop_vip", "13900139002") == ""


@pytest.mark.django_db
def test_new_blacklisted_customer_is_pushed(sim, django_capture_on_commit_callbacks):  # noqa: F811
    with django_capture_on_commit_callbacks(execute=True):
        customer = CustomerFactory(level=CustomerLevel.BLACKLISTED)
        CustomerPhoneFactory(customer=customer, number="+8613700137001")
    flushed()
    assert hash_get("tvshop_blacklist", "13700137001") == "1"


@pytest.mark.django_db
def test_blacklisted_caller_is_rejected_by_the_switch(sim, django_capture_on_commit_callbacks):  # noqa: F811
    """What we push is what the dialplan obeys: the blacklisted caller's call is refused."""
    with django_capture_on_commit_callbacks(execute=True):
        customer = CustomerFactory(level=CustomerLevel.BLACKLISTED)
        CustomerPhoneFactory(customer=customer, number="+8613700137002")
    flushed()
    import time

    rejected = switch_api(f"sim_inbound {HOTLINE} 13700137002 patience=1000").split()[1]
    queued = switch_api(f"sim_inbound {HOTLINE} 13700137003 patience=1000").split()[1]
    time.sleep(0.5)
    assert switch_api(f"uuid_exists {rejected}").strip() == "false"
    assert switch_api(f"uuid_exists {queued}").strip() == "true"
    switch_api(f"uuid_kill {queued}")


def test_last_agent_push_is_queued_and_reaches_the_switch(settings):
    simulator = start_simulator(settings)
    try:
        routing_last_agent_push(caller="13800138555", agent_extension="1002")
        routing_last_agent_push(caller="+8613800138666", agent_extension="1003@default")
        flushed()
        assert hash_get("tvshop_lastagent", "13800138555") == "1002@default"
        assert hash_get("tvshop_lastagent", "+8613800138555") == "1002@default"
        assert hash_get("tvshop_lastagent", "13800138666") == "1003@default"
    finally:
        simulator.stop()


def test_pusher_survives_a_dead_switch(dead_switch_settings):
    before = pusher.errors
    routing_last_agent_push(caller="13800138777", agent_extension="1002")
    flushed()
    assert pusher.errors == before + 1


@pytest.fixture
def dead_switch_settings(settings):
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


def _world():
    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE)
    black = CustomerFactory(level=CustomerLevel.BLACKLISTED)
    CustomerPhoneFactory(customer=black, number="+8613600136001")
    vip = CustomerFactory(level=CustomerLevel.VIP)
    CustomerPhoneFactory(customer=vip, number="+8613600136002")
    seat = Seat.objects.create(extension="1001")
    Seat.objects.create(extension="1002")
    now = timezone.now()
    for i, (ext, ago) in enumerate((("1002", 60), ("1001", 5))):
        Call.objects.create(
            uuid=f"c-{i}",
            direction=CallDirection.INBOUND,
            caller="13600136003",
            hotline=hotline,
            seat=Seat.objects.get(extension=ext),
            created_at=now - dt.timedelta(minutes=ago),
            ended_at=now - dt.timedelta(minutes=ago - 1),
            outcome=CallOutcome.ANSWERED,
        )
    # a later unanswered call does not make a last agent
    Call.objects.create(
        uuid="c-x",
        direction=CallDirection.INBOUND,
        caller="13600136003",
        hotline=hotline,
        created_at=now,
        outcome=CallOutcome.ABANDONED,
    )
    RoutingPolicy.objects.update_or_create(hotline=hotline, defaults={"force_overflow": True})
    return seat


def _assert_provisioned():
    assert hash_get("tvshop_blacklist", "13600136001") == "1"
    assert hash_get("tvshop_vip", "13600136002") == "1000"
    assert hash_get("tvshop_vip", "13600136001") == ""
    assert hash_get("tvshop_lastagent", "13600136003") == "1001@default"
    # the live overflow switch is the controller's: provisioning never pushes it
    assert global_get(f"tvshop_overflow_{QUEUE}") == ""
    tiers = switch_api("callcenter_config tier list")
    assert f"{QUEUE}|1002@default|" in tiers
    assert "1002@default" in switch_api("callcenter_config agent list")


@pytest.mark.django_db
def test_provision_all_pushes_everything(settings, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        _world()
    simulator = start_simulator(settings)
    try:
        assert global_get(f"tvshop_overflow_{QUEUE}") == ""
        result = routing_provision_all()
        assert result.failed == []
        _assert_provisioned()
        # idempotent: a second run changes nothing and is refused nothing
        assert routing_provision_all().failed == []
        _assert_provisioned()
    finally:
        simulator.stop()


@pytest.mark.django_db(transaction=True)
def test_after_reconnect_a_restarted_switch_gets_everything_again(settings):
    _world()
    first = start_simulator(settings)
    try:
        routing_after_reconnect().join(20)
        _assert_provisioned()
    finally:
        pusher.flush(5)
        first.stop()
    # the switch restarts: empty hashes and globals; the bridge reconnects and calls the hook
    second = start_simulator(settings)
    try:
        point_at(settings, second)
        assert hash_get("tvshop_blacklist", "13600136001") == ""
        routing_after_reconnect().join(20)
        _assert_provisioned()
    finally:
        pusher.flush(5)
        second.stop()
