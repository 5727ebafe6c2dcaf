"""The simulator's events and api replies have the shape of a real FreeSWITCH's.

For every event type (and CC-Action) of ``../shared/esl-captures`` the simulator emits, the
simulator re-plays the captured scenario (B: a hotline call answered by agent 1001; A: an
``originate loopback/4008001234/default &park()`` with ``tvshop_mode=park``; C: click-to-dial;
D: both agents On Break and the caller killed while waiting) and the header NAME set of its
event must equal the captured one. There is no allow-list: the sets are equal. (Variables the
captured test dialplan did not set — ``tvshop_vip``, ``tvshop_callback`` … — do appear on calls
that use those features, as on a real switch running the shipped dialplan.)
"""

from __future__ import annotations

import asyncio
import json

import pytest

from telephony.esl.errors import CommandError
from telephony.esl.events import Event
from telephony.simulator import capture_templates, templates
from tests.telephony.captures import CAPTURES_DIR, capture_event, capture_frames, require_captures
from tests.telephony.test_simulator_support import config, events_until, running

SOFIA = "sofia/external/13800138000@127.0.0.1"
# capture file (without plain-/json-) -> (Event-Name, CC-Action, Channel-Name) of the
# simulator's event to compare with, and which occurrence.
PAIRS = {
    "CHANNEL_CREATE": ("CHANNEL_CREATE", "", SOFIA),
    "CHANNEL_ANSWER": ("CHANNEL_ANSWER", "", SOFIA),
    "CHANNEL_BRIDGE": ("CHANNEL_BRIDGE", "", SOFIA),
    "CHANNEL_UNBRIDGE": ("CHANNEL_UNBRIDGE", "", SOFIA),
    "CHANNEL_HANGUP": ("CHANNEL_HANGUP", "", SOFIA),
    "CHANNEL_HANGUP_COMPLETE": ("CHANNEL_HANGUP_COMPLETE", "", SOFIA),
    "CHANNEL_DESTROY": ("CHANNEL_DESTROY", "", SOFIA),
    "CHANNEL_PARK": ("CHANNEL_PARK", "", "loopback/4008001234-b"),
    "CHANNEL_PARK--originate-app": ("CHANNEL_PARK", "", "loopback/4008001234-a"),
    "CHANNEL_CREATE--loopback-originate": ("CHANNEL_CREATE", "", "loopback/4008001234-a"),
    "CHANNEL_BRIDGE--click-to-dial": ("CHANNEL_BRIDGE", "", "null/agent-1001"),
    "CHANNEL_PROGRESS--click-to-dial": ("CHANNEL_PROGRESS", "", "loopback/13800138000-a"),
    "CUSTOM-callcenter-info-member-queue-start": ("CUSTOM", "member-queue-start", SOFIA),
    "CUSTOM-callcenter-info-member-queue-end": ("CUSTOM", "member-queue-end", SOFIA),
    "CUSTOM-callcenter-info-member-queue-end--abandoned": (
        "CUSTOM",
        "member-queue-end",
        "loopback/4008001234-b",
    ),
    "CUSTOM-callcenter-info-members-count": ("CUSTOM", "members-count", ""),
    "CUSTOM-callcenter-info-agent-offering": ("CUSTOM", "agent-offering", ""),
    "CUSTOM-callcenter-info-agent-state-change": ("CUSTOM", "agent-state-change", ""),
    "CUSTOM-callcenter-info-agent-status-change": ("CUSTOM", "agent-status-change", ""),
    "CUSTOM-callcenter-info-bridge-agent-start": (
        "CUSTOM",
        "bridge-agent-start",
        "null/agent-1001",
    ),
    "CUSTOM-callcenter-info-bridge-agent-end": ("CUSTOM", "bridge-agent-end", "null/agent-1001"),
    "BACKGROUND_JOB": ("BACKGROUND_JOB", "", ""),
    "BACKGROUND_JOB--error": ("BACKGROUND_JOB", "", ""),
    "HEARTBEAT": ("HEARTBEAT", "", ""),
}


def _key(event: Event) -> tuple[str, str, str]:
    return (event.name, event.get("CC-Action") or "", event.get("Channel-Name") or "")


async def _replay(fmt: str) -> list[Event]:
    """Scenarios A–D of the captures against the simulator; every event it sent."""
    events: list[Event] = []
    cfg = config(speed=20.0, heartbeat_interval=10)
    async with running(cfg, fmt) as (_server, client):

        async def until(predicate, timeout=5.0):
            events.extend(await events_until(client, predicate, timeout))

        # B: a hotline call from the PSTN, served by agent 1001 (who hangs up, as captured)
        await client.api("sim_inbound 4008001234 13800138000 name=Customer talk=8")
        await until(lambda e: e.name == "CHANNEL_DESTROY" and "agent" in e.get("Channel-Name"))
        # A: originate into the hotline in park mode, then kill it
        job = await client.bgapi(
            "originate {origination_uuid=a0000000-4008-4001-2340-000000000001,"
            "origination_caller_id_number=13800138000,tvshop_mode=park}"
            "loopback/4008001234/default &park()"
        )
        await asyncio.wait_for(job, 5)
        await until(lambda e: e.name == "BACKGROUND_JOB")
        await until(lambda e: e.name == "CHANNEL_PARK" and e.get("Channel-Name").endswith("-a"))
        await client.api("uuid_kill a0000000-4008-4001-2340-000000000001")
        await until(lambda e: e.name == "CHANNEL_DESTROY" and e.get("Channel-Name").endswith("-a"))
        # C: click-to-dial
        await client.api(
            "originate {origination_uuid=c0000000-4008-4001-2340-000000000003,"
            "origination_caller_id_number=4008001234,origination_caller_id_name=TVShop}"
            "user/1001 &bridge({origination_caller_id_number=4008001234}"
            "loopback/13800138000/default)"
        )
        await until(lambda e: e.name == "CHANNEL_DESTROY" and "agent" in e.get("Channel-Name"))
        # D: nobody available, the caller is killed while waiting
        for agent in ("1001@default", "1002@default"):
            await client.api(f"callcenter_config agent set status {agent} 'On Break'")
        await client.api(
            "originate {origination_uuid=d0000000-4008-4001-2340-000000000004,"
            "origination_caller_id_number=13900139000}loopback/4008001234/default &park()"
        )
        await until(lambda e: e.get("CC-Action") == "member-queue-start")
        await client.api("uuid_kill d0000000-4008-4001-2340-000000000004")
        await until(lambda e: e.name == "CHANNEL_DESTROY" and e.get("Channel-Name").endswith("-b"))
        # E: an unknown user
        job = await client.bgapi("originate user/1999 &park()")
        with pytest.raises(Exception, match="SUBSCRIBER_ABSENT"):
            await asyncio.wait_for(job, 5)
        events.extend(await events_until(client, lambda e: e.name == "BACKGROUND_JOB"))
        # a heartbeat (every 10 simulated seconds = 0.5 s here)
        while True:
            event = await client.next_event(timeout=3)
            if event.name == "HEARTBEAT":
                events.append(event)
                break
    return events


@pytest.fixture(scope="module")
def replayed() -> dict[str, list[Event]]:
    require_captures()
    return {fmt: asyncio.run(_replay(fmt)) for fmt in ("plain", "json")}


@pytest.mark.parametrize("fmt", ["plain", "json"])
@pytest.mark.parametrize("capture", sorted(PAIRS))
def test_event_header_names_equal_the_captured_ones(replayed, fmt, capture):
    reference = capture_event(f"{fmt}-{capture}.txt")
    wanted = PAIRS[capture]
    mine = [e for e in replayed[fmt] if _key(e) == wanted]
    assert mine, f"the simulator sent no {wanted}"
    if capture.endswith("--error"):
        mine = [e for e in mine if (e.body or "").startswith("-ERR")]
    elif capture == "BACKGROUND_JOB":
        mine = [e for e in mine if (e.body or "").startswith("+OK")]
    event = mine[-1] if capture.endswith("--abandoned") else mine[0]

    assert {n for n, _ in event.headers} == {n for n, _ in reference.headers}
    # and the same order for the headers both have (templates keep the switch's order)
    shared = [n for n, _ in reference.headers if not n.startswith("variable_")]
    assert [n for n, _ in event.headers if n in set(shared)] == shared


def test_values_are_the_simulated_call_not_the_captured_one(replayed):
    created = next(e for e in replayed["plain"] if _key(e) == PAIRS["CHANNEL_CREATE"])
    reference = capture_event("plain-CHANNEL_CREATE.txt")
    assert created.uuid != reference.uuid
    assert created.variable("uuid") == created.uuid
    assert created.core_uuid != reference.core_uuid
    assert "1795301755" not in str(created.headers)  # no captured timestamps leak through


def test_shipped_templates_match_the_captures():
    require_captures()
    shipped = json.loads(capture_templates.TEMPLATES_FILE.read_text(encoding="utf-8"))
    assert shipped == capture_templates.build(CAPTURES_DIR), (
        "telephony/simulator/templates.json is stale: run "
        "python -m telephony.simulator.capture_templates"
    )
    assert templates.load()


# -- api replies ---------------------------------------------------------------------------


def _captured_body(name: str) -> str:
    return capture_frames(name)[0].body_text


async def _api_replies() -> dict[str, str]:
    replies: dict[str, str] = {}
    async with running(config(speed=20.0)) as (_server, client):
        replies["idle"] = await client.api("show channels as json")
        replies["status"] = await client.api("status")
        replies["version"] = await client.api("version")
        replies["queue list"] = await client.api("callcenter_config queue list")
        replies["agent list"] = await client.api("callcenter_config agent list")
        replies["tier list"] = await client.api("callcenter_config tier list")
        replies["set status"] = await client.api(
            "callcenter_config agent set status 1002@default 'On Break'"
        )
        await client.api("sim_inbound 4008001234 13800138000 name=Customer talk=1000")
        await events_until(client, lambda e: e.name == "CHANNEL_BRIDGE")
        replies["channels"] = await client.api("show channels as json")
        replies["calls"] = await client.api("show calls as json")
        replies["agent list in call"] = await client.api("callcenter_config agent list")
        replies["members"] = await client.api("callcenter_config queue list members orders")
        for key, command in (
            ("not found", "no_such_command"),
            ("kill", "uuid_kill 00000000-0000-0000-0000-000000000000"),
            ("originate", "originate user/1999 &park()"),
        ):
            with pytest.raises(CommandError) as raised:
                await client.api(command)
            replies[key] = raised.value.reply + "\n"  # the client strips the newline
    return replies


@pytest.fixture(scope="module")
def api_replies() -> dict[str, str]:
    require_captures()
    return asyncio.run(_api_replies())


@pytest.mark.parametrize(
    ("reply", "capture"),
    [
        ("queue list", "api-callcenter_config-queue-list.txt"),
        ("agent list", "api-callcenter_config-agent-list.txt"),
        ("agent list in call", "api-callcenter_config-agent-list--in-call.txt"),
        ("tier list", "api-callcenter_config-tier-list.txt"),
        ("members", "api-callcenter_config-queue-list-members-orders.txt"),
    ],
)
def test_callcenter_lists_have_the_captured_columns(api_replies, reply, capture):
    mine, real = api_replies[reply].split("\n"), _captured_body(capture).split("\n")
    assert mine[0] == real[0]  # same header line
    assert mine[-2:] == real[-2:] == ["+OK", ""]
    columns = real[0].count("|")
    assert all(line.count("|") == columns for line in mine[1:-2])
    assert len(mine) > 3


def test_in_call_rows_carry_the_agent_leg_and_answered_member(api_replies):
    agent_row = api_replies["agent list in call"].split("\n")[1].split("|")
    assert agent_row[0] == "1001@default"
    assert agent_row[2]  # uuid of the agent's leg while in a queue call
    assert agent_row[6] == "In a queue call"
    member = api_replies["members"].split("\n")[1].split("|")
    assert member[13] == "1001@default"
    assert member[15] == "Answered"


def test_show_channels_and_calls_rows_have_the_captured_keys(api_replies):
    assert api_replies["idle"] == _captured_body("api-show-channels-as-json--idle.txt")
    real = json.loads(_captured_body("api-show-channels-as-json.txt"))
    mine = json.loads(api_replies["channels"])
    assert api_replies["channels"].startswith('{"row_count":2,"rows":[')
    assert all(list(row) == list(real["rows"][0]) for row in mine["rows"])
    real_calls = json.loads(_captured_body("api-show-calls-as-json.txt"))
    mine_calls = json.loads(api_replies["calls"])
    assert [list(row) for row in mine_calls["rows"]] == [list(real_calls["rows"][1])]


def test_simple_replies_have_the_captured_shape(api_replies):
    assert api_replies["set status"] == _captured_body("api-callcenter_config-agent-set-status.txt")
    assert api_replies["not found"] == _captured_body("api-error-command-not-found.txt")
    assert api_replies["kill"] == _captured_body("api-error-uuid_kill-no-such-channel.txt")
    assert api_replies["originate"] == _captured_body("api-error-originate.txt")
    real_status = _captured_body("api-status.txt").split("\n")
    mine_status = api_replies["status"].split("\n")
    assert len(mine_status) == len(real_status)
    assert mine_status[0].startswith("UP 0 years, 0 days, ")
    assert mine_status[1] == real_status[1]
    assert api_replies["version"] == _captured_body("api-version.txt")
