"""The ESL bridge end to end: the real simulator over TCP → normalisation → call records →
the real Redis pub/sub channel layer → the agent's websocket."""

from __future__ import annotations

import json

import pytest

from crm.models import Lead
from telephony.choices import AgentStatus, CallOutcome, StatusSource
from telephony.esl.client import ESLClient
from telephony.models import AgentStatusChange, Call, CallEvent, Seat
from telephony.normalize import normalize
from telephony.services.calls import call_apply_event
from tests.telephony.test_bridge_support import (
    HOTLINE,
    KNOWN_CALLER,
    PASSWORD,
    QUEUE,
    db,
    desktop,
    expect,
    make_world,
    messages_within,
    redis_layer,  # noqa: F401 - fixture
    sim_config,
    switch_and_bridge,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


async def call_state(uuid: str):
    return await db(lambda: Call.objects.filter(uuid=uuid).values().first())()


async def ended(uuid: str):
    row = await call_state(uuid)
    return row if row and row["outcome"] != CallOutcome.IN_PROGRESS else None


async def test_known_caller_pops_on_the_offered_agent_only_and_is_recorded():
    # given a hotline, a known customer, two agents in seats; 1002 is on break
    world = await db(make_world)()
    first, second = world["users"]
    async with switch_and_bridge(sim_config(on_break=("1002@default",))) as (server, bridge):
        mine, other = await desktop(first), await desktop(second)
        assert (await expect(mine, "agent.status"))["seat"]["cc_agent"] == "1001@default"
        await expect(other, "agent.status")

        # when the customer calls the hotline
        reply = await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=3")
        uuid = reply.split()[1]

        # then the offered agent gets the pop with the customer card, masked number
        offered = await expect(mine, "call.offered")
        call = offered["call"]
        assert offered["replay"] is False
        assert call["uuid"] == uuid
        assert call["customer"]["name"] == "张秀英"
        assert call["customer"]["id"] == world["customer"].pk
        assert call["hotline"] == {"number": HOTLINE, "station": "湖南卫视", "product": None}
        assert call["caller_display"] == "138****8000"
        assert call["queue"] == QUEUE
        assert (await expect(mine, "call.answered"))["call"]["answered_at"]
        done = await expect(mine, "call.ended")
        assert done["call"]["outcome"] == "answered"
        # and the other agent gets none of it
        assert [m["type"] for m in await messages_within(other, 0.3)] == []
        await bridge.drain(5)
        await mine.disconnect()
        await other.disconnect()

    row = await call_state(uuid)
    assert row["customer_id"] == world["customer"].pk
    assert row["hotline_id"] == world["hotline"].pk
    assert row["station_id"] == world["station"].pk
    assert row["queue"] == QUEUE
    assert row["agent_id"] == first.pk
    assert row["direction"] == "inbound"
    assert row["caller"] == "+86" + KNOWN_CALLER
    for field in ("created_at", "queued_at", "offered_at", "answered_at", "ended_at"):
        assert row[field] is not None, field
    assert row["created_at"] <= row["queued_at"] <= row["offered_at"] <= row["answered_at"]
    assert row["wait_seconds"] is not None and row["talk_seconds"] is not None
    assert row["outcome"] == CallOutcome.ANSWERED
    assert row["hangup_cause"] == "NORMAL_CLEARING"
    leads = await db(lambda: list(Lead.objects.values_list("phone", "call_count")))()
    assert leads == [("+86" + KNOWN_CALLER, 1)]


async def test_unknown_number_gets_no_customer_and_replaying_the_stream_changes_nothing():
    await db(make_world)()
    async with switch_and_bridge(sim_config()) as (server, bridge):
        # a recorder sees exactly what the bridge sees
        recorder = ESLClient(
            "127.0.0.1",
            server.port,
            PASSWORD,
            event_format="json",
            event_names=["ALL"],
            heartbeat_timeout=None,
        )
        await recorder.connect(timeout=5)
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} 13900000009 talk=2")).split()[1]
        await wait_for(lambda: ended(uuid))
        await bridge.drain(5)
        events = []
        while recorder.queued_events:
            events.append(await recorder.next_event(timeout=1))
        await recorder.close()

    row = await call_state(uuid)
    assert row["customer_id"] is None
    assert row["outcome"] == CallOutcome.ANSWERED

    def snapshot():
        return (
            list(Call.objects.order_by("id").values()),
            list(CallEvent.objects.order_by("id").values_list("key", flat=True)),
            list(AgentStatusChange.objects.order_by("id").values()),
            list(Seat.objects.order_by("id").values()),
            list(Lead.objects.values("phone", "call_count")),
        )

    before = await db(snapshot)()
    assert len(before[1]) >= 6  # created, queued, offered, answered, ended …

    # when the same stream is applied again (a replay after a resync)
    def replay():
        pushed = []
        for event in events:
            for domain_event in normalize(event):
                pushed += call_apply_event(domain_event, publish=False)
        return pushed

    pushed = await db(replay)()

    # then nothing changes and nothing is pushed
    assert await db(snapshot)() == before
    assert pushed == []


async def test_abandoned_overflow_and_rejected_calls_are_recorded():
    await db(make_world)()
    cfg = sim_config(on_break=("1001@default", "1002@default"))
    async with switch_and_bridge(cfg) as (server, bridge):
        api = server.switch.api
        # nobody is ready: the caller gives up after a short wait
        abandoned = (await api(f"sim_inbound {HOTLINE} 13900000001 patience=2")).split()[1]
        # blacklisted caller
        await api("hash insert/tvshop_blacklist/13900000002/1")
        rejected = (await api(f"sim_inbound {HOTLINE} 13900000002")).split()[1]
        await wait_for(lambda: ended(abandoned))
        # the overflow switch is on: "we will call you back"
        await api(f"global_setvar tvshop_overflow_{QUEUE}=true")
        overflow = (await api(f"sim_inbound {HOTLINE} 13900000003")).split()[1]
        for uuid in (rejected, overflow):
            await wait_for(lambda uuid=uuid: ended(uuid))
        await bridge.drain(5)

    outcomes = {
        uuid: (await call_state(uuid))["outcome"] for uuid in (abandoned, rejected, overflow)
    }
    assert outcomes == {
        abandoned: CallOutcome.ABANDONED,
        rejected: CallOutcome.REJECTED,
        overflow: CallOutcome.OVERFLOW,
    }
    assert (await call_state(rejected))["hangup_cause"] == "CALL_REJECTED"
    assert (await call_state(abandoned))["queued_at"] is not None


async def test_agent_status_changed_on_the_switch_updates_the_seat_and_pushes_it():
    world = await db(make_world)()
    first = world["users"][0]
    async with switch_and_bridge(sim_config()) as (server, bridge):
        mine = await desktop(first)
        assert (await expect(mine, "agent.status"))["status"] == AgentStatus.AVAILABLE

        await server.switch.api("callcenter_config agent set status 1001@default 'On Break'")

        pushed = await expect(mine, "agent.status")
        assert pushed["status"] == AgentStatus.ON_BREAK
        assert pushed["seat"] == {"extension": "1001", "cc_agent": "1001@default"}
        await bridge.drain(5)
        await mine.disconnect()

    seat = await db(lambda: Seat.objects.get(extension="1001"))()
    assert seat.status == AgentStatus.ON_BREAK
    change = await db(
        lambda: (
            AgentStatusChange.objects.filter(seat=seat, source=StatusSource.SWITCH)
            .exclude(status="")
            .latest("id")
        )
    )()
    assert change.status == AgentStatus.ON_BREAK
    assert change.user_id == first.pk


async def test_resync_after_a_dropped_connection_ends_stale_calls_and_corrects_seats():
    world = await db(make_world)()
    first = world["users"][0]
    cfg = sim_config(on_break=("1002@default",))
    async with switch_and_bridge(cfg) as (server, bridge):
        mine = await desktop(first)
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=6000")).split()[
            1
        ]
        await expect(mine, "call.answered")
        await bridge.drain(5)
        resyncs = bridge.stats.resyncs

        # when the bridge's connection breaks, and meanwhile the call ends and 1002 is ready
        for connection in server.live_connections:
            connection.drop()
        assert server.switch.kill(uuid)
        await server.switch.api("callcenter_config agent set status 1002@default 'Available'")

        # then after reconnecting the bridge resynchronises
        await wait_for(lambda: _resynced(bridge, resyncs), timeout=10)
        ended_msg = await expect(mine, "call.ended")
        assert ended_msg["call"]["uuid"] == uuid
        assert ended_msg["call"]["outcome"] == CallOutcome.ANSWERED
        switch_view = json.loads(await server.switch.api("sim_status"))["agents"]
        await bridge.drain(5)
        await mine.disconnect()

    row = await call_state(uuid)
    assert row["outcome"] == CallOutcome.ANSWERED
    assert row["ended_at"] is not None
    seats = await db(lambda: {s.cc_agent: [s.status, s.state] for s in Seat.objects.all()})()
    assert seats == {name: switch_view[name] for name in seats}
    assert seats["1002@default"][0] == AgentStatus.AVAILABLE


async def _resynced(bridge, before):
    return bridge.stats.resyncs > before


async def test_an_agent_idle_past_the_redis_read_timeout_still_gets_the_pop():
    world = await db(make_world)()
    async with switch_and_bridge(sim_config(on_break=("1002@default",))) as (server, bridge):
        mine = await desktop(world["users"][0])
        await expect(mine, "agent.status")

        # when the agent's socket stays idle for longer than 5 seconds
        assert await messages_within(mine, 5.5) == []

        # then a call still pops
        await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1")
        offered = await expect(mine, "call.offered")
        assert offered["call"]["customer"]["name"] == "张秀英"
        await expect(mine, "call.ended")
        await bridge.drain(5)
        await mine.disconnect()


async def test_a_transferred_call_pops_on_the_receiving_agent_with_the_same_customer():
    # given a known customer talking to 1001 while 1002 is ready
    world = await db(make_world)()
    first, second = world["users"]
    async with switch_and_bridge(sim_config(on_break=("1002@default",))) as (server, bridge):
        mine, other = await desktop(first), await desktop(second)
        await expect(mine, "agent.status")
        await expect(other, "agent.status")
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1000")).split()[
            1
        ]
        assert (await expect(mine, "call.offered"))["call"]["uuid"] == uuid
        await expect(mine, "call.answered")
        await server.switch.api("callcenter_config agent set status 1002@default 'Available'")

        # when the first agent's call is transferred to seat 1002
        assert (await server.switch.api(f"uuid_transfer {uuid} 1002 XML default")).startswith("+OK")

        # then the pop follows the call: same call, same customer card, on the other desktop
        moved = await expect(other, "call.offered")
        assert moved["call"]["uuid"] == uuid
        assert moved["call"]["customer"]["id"] == world["customer"].pk
        # and leaves the first agent's desktop
        withdrawn = await expect(mine, "call.withdrawn")
        assert withdrawn["call"]["uuid"] == uuid and withdrawn["reason"] == "transferred"
        await server.switch.api(f"uuid_kill {uuid}")
        await bridge.drain(5)
        await mine.disconnect()
        await other.disconnect()

    row = await wait_for(lambda: ended(uuid), timeout=5)
    assert row["transferred"] is True
    assert row["agent_id"] == second.pk


async def test_click_to_dial_progress_reaches_the_dialling_agent():
    # given agent 1001 on break (so no queue call interferes) with the desktop open
    world = await db(make_world)()
    first, second = world["users"]
    cfg = sim_config(on_break=("1001@default", "1002@default"))
    async with switch_and_bridge(cfg) as (server, bridge):
        mine, other = await desktop(first), await desktop(second)
        await expect(mine, "agent.status")
        await expect(other, "agent.status")
        phone_id = await db(lambda: world["customer"].phones.get().pk)()
        esl = {"host": "127.0.0.1", "port": server.port, "password": PASSWORD, "simulated": False}

        # when the agent clicks the customer's number
        def dial():
            from django.test import override_settings

            from telephony.services.dial import dial_customer

            with override_settings(TELEPHONY_ESL=esl, TELEPHONY_DIAL_WAIT_SECONDS=0.2):
                return dial_customer(user=first, number_or_phone_id=phone_id)

        call = await db(dial)()

        # then the desktop hears: ringing you, dialling the customer, connected, ended
        stages = []
        while "ended" not in stages and "failed" not in stages:
            message = await expect(mine, "dial.progress", timeout=10)
            assert message["call"]["uuid"] == call.uuid
            stages.append(message["stage"])
        assert stages[-1] == "ended", stages
        assert stages.index("ringing_agent") < stages.index("dialling_customer")
        assert stages.index("dialling_customer") < stages.index("connected")
        # and the other agent hears nothing of it
        assert [m["type"] for m in await messages_within(other, 0.3)] == []
        await bridge.drain(5)
        await mine.disconnect()
        await other.disconnect()

    row = await wait_for(lambda: ended(call.uuid), timeout=5)
    assert row["outcome"] == CallOutcome.ANSWERED


async def test_an_answered_calls_recording_path_is_recorded():
    # given the hotline's queue recording answered calls (mod_callcenter's record-template)
    await db(make_world)()
    cfg = sim_config(on_break=("1002@default",))
    cfg.queues[0].record_template = "/var/lib/freeswitch/recordings/2026/${uuid}.wav"
    async with switch_and_bridge(cfg) as (server, bridge):
        answered = (
            await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1")
        ).split()[1]
        await wait_for(lambda: ended(answered), timeout=10)
        await bridge.drain(5)
    row = await call_state(answered)
    assert row["recording_path"] == f"/var/lib/freeswitch/recordings/2026/{answered}.wav"
