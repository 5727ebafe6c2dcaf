"""The FreeSWITCH simulator's behaviour, driven over real TCP through ESLClient."""

from __future__ import annotations

import asyncio
import json

import pytest

from telephony.esl.errors import CommandError
from tests.telephony.test_simulator_support import (
    cc,
    config,
    events_until,
    hangup_complete_of,
    names,
    running,
)

CALLER = "13800138000"
HOTLINE = "4008001234"


def in_order(sequence: list[str], expected: list[str]) -> bool:
    it = iter(sequence)
    return all(any(x == want for x in it) for want in expected)


async def test_hotline_call_reaches_an_available_agent():
    async with running(config()) as (_server, client):
        reply = await client.api(f"sim_inbound {HOTLINE} {CALLER} name=Customer talk=3")
        uuid = reply.split()[1]

        events = await events_until(client, lambda e: e.get("CC-Action") == "member-queue-end")

    mine = [e for e in events if e.uuid == uuid or e.name == "CUSTOM"]
    # The order of the captured scenario B: the caller's CHANNEL_HANGUP_COMPLETE comes
    # before mod_callcenter's bridge-agent-end / member-queue-end.
    assert in_order(
        names(mine),
        [
            "CHANNEL_CREATE",
            "CHANNEL_ANSWER",
            "member-queue-start",
            "agent-offering",
            "bridge-agent-start",
            "CHANNEL_BRIDGE",
            "CHANNEL_UNBRIDGE",
            "CHANNEL_HANGUP_COMPLETE",
            "bridge-agent-end",
            "member-queue-end",
        ],
    ), names(mine)
    end = cc(events, "member-queue-end")[0]
    assert end.get("CC-Cause") == "Terminated"
    assert end.get("CC-Agent") == "1001@default"
    offering = cc(events, "agent-offering")[0]
    assert offering.get("CC-Member-CID-Number") == CALLER
    assert offering.get("CC-Member-DNIS") == HOTLINE
    complete = next(e for e in events if e.name == "CHANNEL_HANGUP_COMPLETE" and e.uuid == uuid)
    assert complete.variable("cc_agent_bridged") == "true"
    assert complete.variable("tvshop_dnis") == HOTLINE
    assert [e.get("CC-Agent-State") for e in cc(events, "agent-state-change")] == [
        "Receiving",
        "In a queue call",
    ]  # "Waiting" follows member-queue-end


async def test_blacklisted_caller_is_rejected_without_queueing():
    async with running(config()) as (_server, client):
        assert (await client.api(f"hash insert/tvshop_blacklist/{CALLER}/1")).startswith("+OK")
        assert await client.api(f"hash select/tvshop_blacklist/{CALLER}") == "1"
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER}")).split()[1]

        events = await events_until(client, hangup_complete_of(uuid))

        assert events[-1].get("Hangup-Cause") == "CALL_REJECTED"
        assert events[-1].variable("tvshop_blacklisted") == "true"
        assert not cc(events, "member-queue-start")
        assert "CHANNEL_ANSWER" not in names(events)

        # deleting the entry lets the same number through
        await client.api(f"hash delete/tvshop_blacklist/{CALLER}")
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER} talk=1")).split()[1]
        events = await events_until(client, hangup_complete_of(uuid))
        assert events[-1].variable("cc_agent_bridged") == "true"


async def test_vip_caller_is_served_before_an_earlier_normal_caller():
    async with running(config(agents=1)) as (_server, client):
        await client.api("callcenter_config agent set status 1001@default 'On Break'")
        await client.api("hash insert/tvshop_vip/13900000002/1000")
        normal = (await client.api(f"sim_inbound {HOTLINE} 13900000001 patience=600")).split()[1]
        await asyncio.sleep(0.05)
        vip = (await client.api(f"sim_inbound {HOTLINE} 13900000002 patience=600")).split()[1]
        await asyncio.sleep(0.05)
        members = await client.api("callcenter_config queue list members orders")
        assert members.count("|Waiting|") == 2

        await client.api("callcenter_config agent set status 1001@default 'Available'")
        events = await events_until(client, lambda e: e.get("CC-Action") == "agent-offering")

        assert events[-1].get("CC-Member-Session-UUID") == vip
        assert normal != vip


async def test_returning_caller_is_offered_to_their_last_agent_first():
    async with running(config(agents=3)) as (_server, client):
        await client.api(f"hash insert/tvshop_lastagent/{CALLER}/1003@default")
        await client.api(f"sim_inbound {HOTLINE} {CALLER}")

        events = await events_until(client, lambda e: e.get("CC-Action") == "agent-offering")

        assert events[-1].get("CC-Agent") == "1003@default"


async def test_ring_no_answer_puts_agent_on_break_and_offers_the_next_agent():
    cfg = config(agents=2)
    cfg.agents[0].answers = False
    cfg.agents[0].max_no_answer = 1
    cfg.agents[0].leg_timeout = 5
    async with running(cfg) as (_server, client):
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER} talk=1")).split()[1]

        events = await events_until(client, hangup_complete_of(uuid))

        offers = [e.get("CC-Agent") for e in cc(events, "agent-offering")]
        assert offers == ["1001@default", "1002@default"]
        assert cc(events, "bridge-agent-fail")[0].get("CC-Hangup-Cause") == "NO_ANSWER"
        status = cc(events, "agent-status-change")[0]
        assert (status.get("CC-Agent"), status.get("CC-Agent-Status")) == (
            "1001@default",
            "On Break",
        )
        assert cc(events, "bridge-agent-start")[0].get("CC-Agent") == "1002@default"
        agents = await client.api("callcenter_config agent list")
        assert "1001@default|single_box||callback|[leg_timeout=5]user/1001|On Break|" in agents


async def test_caller_abandons_after_patience_when_agents_are_on_break():
    async with running(config()) as (_server, client):
        for agent in ("1001@default", "1002@default"):
            await client.api(f"callcenter_config agent set status {agent} 'On Break'")
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER} patience=3")).split()[1]

        events = await events_until(client, hangup_complete_of(uuid))

        end = cc(events, "member-queue-end")[0]
        assert (end.get("CC-Cause"), end.get("CC-Cancel-Reason")) == ("Cancel", "BREAK_OUT")
        assert not cc(events, "agent-offering")
        assert events[-1].variable("cc_cause") == "cancel"


async def test_max_wait_sends_the_caller_to_the_overflow_branch():
    cfg = config()
    cfg.queues[0].max_wait_time = 3
    async with running(cfg) as (_server, client):
        for agent in ("1001@default", "1002@default"):
            await client.api(f"callcenter_config agent set status {agent} 'On Break'")
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER} patience=100")).split()[1]

        events = await events_until(client, hangup_complete_of(uuid))

        end = cc(events, "member-queue-end")[0]
        assert (end.get("CC-Cause"), end.get("CC-Cancel-Reason")) == ("Cancel", "TIMEOUT")
        complete = events[-1]
        assert complete.variable("tvshop_callback") == "true"
        assert complete.variable("tvshop_callback_reason") == "max_wait"
        assert complete.get("Hangup-Cause") == "NORMAL_CLEARING"


async def test_overflow_switch_answers_and_marks_for_callback_without_queueing():
    async with running(config()) as (_server, client):
        assert (await client.api("global_setvar tvshop_overflow_orders=true")).startswith("+OK")
        assert await client.api("global_getvar tvshop_overflow_orders") == "true"
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER}")).split()[1]

        events = await events_until(client, hangup_complete_of(uuid))

        assert "CHANNEL_ANSWER" in names(events)
        assert not cc(events, "member-queue-start")
        assert events[-1].variable("tvshop_callback") == "true"
        assert events[-1].variable("tvshop_callback_reason") == "overflow_switch"


@pytest.mark.parametrize(
    ("strategy", "fourth"),
    [("longest-idle-agent", "1002@default"), ("round-robin", "1001@default")],
)
async def test_round_robin_and_longest_idle_pick_different_agents(strategy, fourth):
    # 1001 takes a long call; 1002 then 1003 take short ones; after 1001 hangs up,
    # longest-idle picks 1002 (idle longest), round-robin moves on to position 1.
    cfg = config(agents=3, strategy=strategy)
    for agent in cfg.agents:
        agent.wrap_up_time = 0
    async with running(cfg) as (_server, client):
        long_call = (await client.api(f"sim_inbound {HOTLINE} 13900000001 talk=1000")).split()[1]
        await events_until(client, lambda e: e.get("CC-Action") == "bridge-agent-start")
        second = (await client.api(f"sim_inbound {HOTLINE} 13900000002 talk=1")).split()[1]
        await events_until(client, hangup_complete_of(second))
        third = (await client.api(f"sim_inbound {HOTLINE} 13900000003 talk=1")).split()[1]
        await events_until(client, hangup_complete_of(third))
        await client.api(f"uuid_kill {long_call}")
        await events_until(client, hangup_complete_of(long_call))
        await asyncio.sleep(0.05)
        await client.api(f"sim_inbound {HOTLINE} 13900000004 talk=1")

        events = await events_until(client, lambda e: e.get("CC-Action") == "agent-offering")

        assert events[-1].get("CC-Agent") == fourth


async def test_click_to_dial_rings_agent_first_then_bridges_the_customer():
    async with running(config()) as (_server, client):
        job = await client.bgapi(
            "originate {origination_caller_id_number=4008001234,origination_caller_id_name=TVShop}"
            "user/1001 &bridge({origination_caller_id_number=4008001234}"
            f"loopback/{CALLER}/default)"
        )
        result = await asyncio.wait_for(job, 5)
        agent_uuid = result.split()[1]

        events = await events_until(
            client, lambda e: e.name == "CHANNEL_BRIDGE" and e.uuid == agent_uuid
        )
        creates = [e.get("Channel-Name") for e in events if e.name == "CHANNEL_CREATE"]
        assert creates[0] == "null/agent-1001"
        assert f"loopback/{CALLER}-a" in creates
        bridge = events[-1]
        assert bridge.get("Other-Leg-Channel-Name") == f"loopback/{CALLER}-a"
        assert bridge.get("Other-Leg-Destination-Number") == CALLER
        progress = [e for e in events if e.name == "CHANNEL_PROGRESS"]
        assert progress, "the customer leg rings before it answers"


async def test_click_to_dial_failures_name_the_cause():
    cfg = config()
    cfg.callers.busy_numbers = ["13700000000"]
    async with running(cfg) as (_server, client):
        with pytest.raises(CommandError, match="SUBSCRIBER_ABSENT"):
            await client.api("originate user/1999 &park()")
        job = await client.bgapi("originate user/1999 &park()")
        with pytest.raises(CommandError, match="SUBSCRIBER_ABSENT"):
            await asyncio.wait_for(job, 5)

        agent_uuid = (
            await client.api("originate user/1001 &bridge(loopback/13700000000/default)")
        ).split()[1]
        events = await events_until(client, hangup_complete_of(agent_uuid))
        assert events[-1].get("Hangup-Cause") == "USER_BUSY"


async def test_uuid_transfer_moves_the_caller_to_another_agent_and_to_a_queue():
    cfg = config(agents=2, hotlines={HOTLINE: "orders", "4008005678": "service"})
    async with running(cfg) as (_server, client):
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER} talk=1000")).split()[1]
        await events_until(client, lambda e: e.name == "CHANNEL_BRIDGE" and e.uuid == uuid)

        assert (await client.api(f"uuid_transfer {uuid} 1002 XML default")).startswith("+OK")
        events = await events_until(client, lambda e: e.name == "CHANNEL_BRIDGE" and e.uuid == uuid)

        assert events[-1].get("Other-Leg-Channel-Name") == "null/agent-1002"
        assert cc(events, "member-queue-end")[0].get("CC-Cause") == "Terminated"
        assert any(
            e.name == "CHANNEL_HANGUP" and e.get("Channel-Name") == "null/agent-1001"
            for e in events
        )

        await client.api(f"uuid_transfer {uuid} service")
        events = await events_until(client, lambda e: e.get("CC-Action") == "member-queue-start")
        assert events[-1].get("CC-Queue") == "service"
        with pytest.raises(CommandError, match="No such channel"):
            await client.api("uuid_transfer 00000000-0000-0000-0000-000000000000 1001")


async def test_show_channels_as_json_matches_live_state():
    async with running(config()) as (_server, client):
        assert await client.api("show channels as json") == '{"row_count": 0}\n'
        uuid = (await client.api(f"sim_inbound {HOTLINE} {CALLER} talk=1000")).split()[1]
        events = await events_until(client, lambda e: e.name == "CHANNEL_BRIDGE")
        agent_uuid = events[-1].get("Other-Leg-Unique-ID")

        shown = json.loads(await client.api("show channels as json"))

        assert shown["row_count"] == 2
        rows = {row["uuid"]: row for row in shown["rows"]}
        assert set(rows) == {uuid, agent_uuid}
        assert rows[uuid]["cid_num"] == CALLER
        assert rows[uuid]["dest"] == HOTLINE
        assert rows[agent_uuid]["name"] == "null/agent-1001"
        calls = json.loads(await client.api("show calls as json"))
        assert calls["row_count"] == 1
        assert calls["rows"][0]["b_uuid"] == agent_uuid

        await client.api(f"uuid_kill {uuid}")
        await events_until(client, hangup_complete_of(uuid))
        await asyncio.sleep(0.02)
        assert await client.api("show channels as json") == '{"row_count": 0}\n'
        with pytest.raises(CommandError, match="No such channel"):
            await client.api(f"uuid_kill {uuid}")


async def test_agent_status_and_state_changes_are_events_and_list_rows():
    async with running(config()) as (_server, client):
        assert (
            await client.api("callcenter_config agent set status 1002@default 'On Break'")
            == "+OK\n"
        )
        events = await events_until(client, lambda e: e.get("CC-Action") == "agent-status-change")
        assert events[-1].get("CC-Agent-Status") == "On Break"
        await client.api("callcenter_config agent set state 1002@default 'Idle'")
        events = await events_until(client, lambda e: e.get("CC-Action") == "agent-state-change")
        assert events[-1].get("CC-Agent-State") == "Idle"
        assert await client.api("callcenter_config agent get status 1002@default") == "On Break"
        with pytest.raises(CommandError):
            await client.api("callcenter_config agent set status 1002@default 'Sleeping'")


async def test_myevents_and_linger_send_that_channel_only_then_notices():
    async with running(config()) as (server, client):
        uuid = "a0000000-4008-4001-2340-000000000001"
        await client.api(
            f"originate {{origination_uuid={uuid},origination_caller_id_number={CALLER},"
            "tvshop_mode=park}loopback/4008001234/default &park()"
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"auth ClueCon\n\nmyevents " + uuid.encode() + b"\n\nlinger 1\n\n")
        await writer.drain()
        await asyncio.sleep(0.1)
        await client.api(f"uuid_kill {uuid}")
        data = await asyncio.wait_for(reader.read(), 3)  # until the server closes
        writer.close()

    text = data.decode()
    assert "+OK will linger 1 seconds" in text
    assert "Event-Name: CHANNEL_HANGUP_COMPLETE" in text
    assert "loopback/4008001234-b" not in text.split("Content-Disposition: linger")[0].replace(
        "Other-Leg-Channel-Name: loopback/4008001234-b", ""
    )
    assert text.index("CHANNEL_HANGUP_COMPLETE") < text.index("Content-Disposition: linger")
    assert text.rstrip().endswith("See you at ClueCon! http://www.cluecon.com/")
    assert "Content-Disposition: disconnect" in text
