"""Issue #6 hooks of the bridge and the desktop: after every (re)connect the routing rules
are provisioned again, and the surge flag stays the overflow controller's alone; a callback
handed to an agent pops on the desktop socket (which survives it); the simulator's eavesdrop
keeps the supervisor's leg up while the target call lasts; a graceful stop applies every
event read."""

from __future__ import annotations

import asyncio

import pytest

from crm.choices import CustomerLevel
from telephony.callbacks.models import CallbackControl
from telephony.choices import CallOutcome
from telephony.models import Call
from tests.telephony.test_bridge_support import (
    HOTLINE,
    KNOWN_CALLER,
    PASSWORD,
    QUEUE,
    db,
    desktop,
    expect,
    make_world,
    redis_layer,  # noqa: F401 - fixture
    sim_config,
    switch_and_bridge,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


def _surge() -> bool:
    return CallbackControl.objects.filter(pk=1, surge_active=True).exists()


def _blacklist_known_caller(world) -> None:
    customer = world["customer"]
    customer.level = CustomerLevel.BLACKLISTED
    customer.save(update_fields=["level"])


async def _drop_and_wait_for_resync(server, bridge) -> None:
    resyncs = bridge.stats.resyncs
    for connection in server.live_connections:
        connection.drop()

    async def resynced():
        return bridge.stats.resyncs > resyncs

    await wait_for(resynced, 10)


def _controller_tick() -> None:
    from telephony.routing.controller import Controller

    controller = Controller()
    try:
        controller.tick()
    finally:
        controller.close()


async def test_after_a_reconnect_only_the_controller_writes_the_surge_flag(settings):
    """One writer of the live overflow state: a reconnect's resync and its provisioning
    leave the surge flag and the switch's overflow variable alone (they used to write them
    from two different sources, in a race); the controller's next step sets both from its
    own reading."""
    settings.ROUTING_PUSH_ON_CHANGE = False
    world = await db(make_world)()
    await db(_blacklist_known_caller)(world)
    async with switch_and_bridge(sim_config(), provision_routing=True) as (server, bridge):
        settings.TELEPHONY_ESL = {
            "host": "127.0.0.1",
            "port": server.port,
            "password": PASSWORD,
            "simulated": False,
        }
        switch = server.switch
        await asyncio.sleep(0.5)  # the first connect's provisioning is done
        assert not await db(_surge)()
        # a stale "on" left on the switch (nobody's current decision), and the hashes lost
        await switch.api(f"global_setvar tvshop_overflow_{QUEUE}=true")
        switch.hash.clear()
        await _drop_and_wait_for_resync(server, bridge)

        async def provisioned():
            return switch.hash.get(("tvshop_blacklist", KNOWN_CALLER)) == "1"

        await wait_for(provisioned, 15)
        await asyncio.sleep(0.5)  # the provisioning thread has finished
        assert not await db(_surge)()  # the bridge did not copy the switch's variable
        assert await switch.api(f"global_getvar tvshop_overflow_{QUEUE}") == "true"  # untouched

        # the controller measures (nobody waits, no channels) and re-asserts its decision
        await db(_controller_tick)()
        assert await switch.api(f"global_getvar tvshop_overflow_{QUEUE}") == "false"
        assert not await db(_surge)()


async def test_after_a_reconnect_the_routing_rules_are_provisioned_again(settings):
    settings.ROUTING_PUSH_ON_CHANGE = False
    world = await db(make_world)()
    await db(_blacklist_known_caller)(world)
    async with switch_and_bridge(sim_config(), provision_routing=True) as (server, bridge):
        settings.TELEPHONY_ESL = {
            "host": "127.0.0.1",
            "port": server.port,
            "password": PASSWORD,
            "simulated": False,
        }
        switch = server.switch
        # the switch restarted and lost its hashes; the bridge reconnects
        await asyncio.sleep(0.5)  # the first connect's provisioning is done
        switch.hash.clear()
        await _drop_and_wait_for_resync(server, bridge)

        async def blacklisted():
            return switch.hash.get(("tvshop_blacklist", KNOWN_CALLER)) == "1"

        await wait_for(blacklisted, 15)  # routing_after_reconnect ran (on its own thread)
        await asyncio.sleep(0.5)  # let the provisioning thread finish before the teardown


def _offer_callback(user):
    from django.db import transaction
    from django.utils import timezone

    from telephony.callbacks.models import CallbackRequest
    from telephony.callbacks.services import callback_capture, callback_offer

    captured = callback_capture(
        number=KNOWN_CALLER,
        call_uuid="cap-1",
        hotline_id=None,
        station_id=None,
        captured_at=timezone.now(),
        reason="overflow_switch",
    )
    with transaction.atomic():
        request = CallbackRequest.objects.select_for_update().get(pk=captured.pk)
        callback_offer(request=request, agent=user)
    return CallbackRequest.objects.get(pk=captured.pk)


async def test_a_callback_offer_pops_on_the_desktop_and_the_socket_survives():
    from telephony.callbacks import services as cb

    world = await db(make_world)()
    agent = world["users"][0]
    assert cb.desktop_accepts("callback.offered")  # the push is on by default
    mine = await desktop(agent)
    await expect(mine, "agent.status")
    request = await db(_offer_callback)(agent)

    msg = await expect(mine, "callback.offered")
    offer = msg["callback"]
    assert offer["id"] == request.pk
    assert offer["customer"]["name"] == "张秀英"
    assert offer["reason"] == "overflow_switch"
    assert offer["call_count"] == 1
    assert offer["dial_url"] == f"/callbacks/{request.pk}/dial/"
    expected = {"number", "hotline", "station", "airing", "first_call_at", "attempts"}
    assert expected | {"priority", "mode"} <= set(offer)
    # the socket is still open and answers
    await mine.send_json_to({"type": "ping"})
    assert (await expect(mine, "pong"))["type"] == "pong"
    await mine.disconnect()


async def test_simulator_eavesdrop_stays_up_while_the_target_call_lasts():
    await db(make_world)()
    cfg = sim_config()
    async with switch_and_bridge(cfg) as (server, bridge):
        switch = server.switch
        target = (await switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=6000")).split()[1]

        async def talking():
            ch = switch.channels.get(target)
            return ch is not None and ch.peer is not None

        await wait_for(talking, 10)
        # the supervisor's phone is 1002 (on no call): whisper to the agent
        reply = await switch.api(
            "originate {origination_caller_id_name=supervise-whisper,tvshop_supervise=whisper,"
            f"eavesdrop_whisper_bleg=true}}user/1002 &eavesdrop({target})"
        )
        assert reply.startswith("+OK"), reply
        leg = reply.split()[1].strip()
        await asyncio.sleep(0.3)
        assert leg in switch.channels and switch.channels[leg].is_up
        assert switch.eavesdrops == {leg: target}
        getvar = switch.api
        assert (await getvar(f"uuid_getvar {leg} eavesdrop_target")) == target
        assert (await getvar(f"uuid_getvar {leg} eavesdrop_mode")) == "whisper"
        assert (await getvar(f"uuid_getvar {leg} eavesdrop_whisper_bleg")) == "true"

        # the target call ends: so does the supervisor's leg
        assert switch.kill(target)

        async def leg_gone():
            return leg not in switch.channels

        await wait_for(leg_gone, 10)
        assert switch.eavesdrops == {}

        # eavesdropping on a call that does not exist: the leg ends at once
        reply = await switch.api(
            "originate {eavesdrop_bridge_aleg=true,eavesdrop_bridge_bleg=true}user/1002 "
            "&eavesdrop(no-such-call)"
        )
        assert reply.startswith("+OK"), reply
        nobody = reply.split()[1].strip()
        await wait_for(lambda: asyncio.sleep(0, result=nobody not in switch.channels), 10)
        await bridge.drain(5)


async def test_a_graceful_stop_applies_every_event_read_even_past_the_drain_timeout():
    """Events read before the stop are all written: the writer is slow (a slow database),
    the stop's drain waits while it makes progress instead of dropping them at a timeout."""
    world = await db(make_world)()
    cfg = sim_config(on_break=("1001@default", "1002@default"), callers={"prompt_time": 0.5})
    async with switch_and_bridge(cfg) as (server, bridge):
        api = server.switch.api
        await api(f"global_setvar tvshop_overflow_{QUEUE}=true")
        original = bridge.workers._apply

        def slow_apply(items):
            import time

            time.sleep(0.3)  # each batch 0.3 s: far slower than the events arrive
            return original(items)

        bridge.workers._apply = slow_apply
        bridge.workers.max_batch = 2
        uuids = [
            (await api(f"sim_inbound {HOTLINE} 139000001{i:02d}")).split()[1] for i in range(8)
        ]

        async def all_gone():
            return all(u not in server.switch.channels for u in uuids)

        await wait_for(all_gone, 15)
        await asyncio.sleep(0.2)  # the last events are read by the bridge
        assert bridge.workers.pending > 0  # still writing
        await bridge.stop(drain_timeout=0.5)
        assert bridge.workers.pending == 0

    rows = await db(lambda: dict(Call.objects.values_list("uuid", "outcome")))()
    assert {u: rows.get(u) for u in uuids} == {u: CallOutcome.OVERFLOW for u in uuids}
    assert world
