"""The screen-pop benchmark's switch (``bench/esl_replay.py``): calls recorded from the
simulator, replayed over real TCP ESL with each call's own identity."""

from __future__ import annotations

import asyncio
import json
import uuid as uuid_module
from collections import Counter

from bench.esl_replay import ReplayServer, record
from telephony.bridge.service import EVENT_NAMES
from telephony.esl.client import ESLClient
from telephony.esl.parse_callcenter import parse_agent_list
from telephony.normalize import domain as d
from telephony.normalize import normalize
from telephony.simulator.config import SimConfig

PASSWORD = "ClueCon"


def _config() -> SimConfig:
    return SimConfig.from_dict(
        {
            "hotlines": [{"number": "4009990001", "queue": "bench_pop"}],
            "queues": [{"name": "bench_pop", "strategy": "longest-idle-agent"}],
            "agents": [
                {"name": f"{1001 + i}@default", "answer_delay": 0.1, "wrap_up_time": 0}
                for i in range(2)
            ],
            "callers": {"patience": 600, "talk_time": 0.3},
            "password": PASSWORD,
            "port": 0,
            "core_uuid": str(uuid_module.uuid4()),
        }
    )


def test_replayed_calls_carry_the_recorded_headers_with_each_calls_own_identity(tmp_path):
    config = _config()
    templates = record(config, calls=2)  # its own (virtual-time) loop, before ours
    recorded = Counter()
    for template in templates:
        for _, headers, _ in template.events:
            names = dict(headers)
            recorded[(names["Event-Name"], names.get("CC-Action"))] += 1

    async def scenario():
        async with ReplayServer(config, templates) as server:
            listener = ESLClient(
                "127.0.0.1",
                server.port,
                PASSWORD,
                event_format="json",
                event_names=EVENT_NAMES,
                heartbeat_timeout=None,
            )
            control = ESLClient("127.0.0.1", server.port, PASSWORD, heartbeat_timeout=None)
            await listener.start()
            await control.start()
            await listener.wait_connected(5)
            await control.wait_connected(5)
            # the replies the bridge needs at connect come from the simulated switch
            agents = parse_agent_list(await control.api("callcenter_config agent list"))
            assert {a.name for a in agents} == {"1001@default", "1002@default"}

            calls = [[str(uuid_module.uuid4()), f"1380013{i:04d}"] for i in range(4)]
            (tmp_path / "calls.json").write_text(json.dumps(calls))
            reply = await control.api(f"replay {tmp_path / 'calls.json'} 50")
            assert reply.startswith("+OK")
            events = []

            async def read():
                async for event in listener:
                    events.append(event)

            reader = asyncio.create_task(read())
            async with asyncio.timeout(20):
                while json.loads((await control.api("replay_status"))[4:])["running"]:
                    await asyncio.sleep(0.1)
                status = json.loads((await control.api("replay_status"))[4:])
                while len(events) < status["events"]:
                    await asyncio.sleep(0.05)
            reader.cancel()
            await listener.close()
            await control.close()
            return calls, events, status, server.switch.core_uuid

    calls, events, status, core = asyncio.run(scenario())

    # every event the bridge subscribes to, per call as recorded (two calls per template)
    assert status["sent"] == status["events"] == len(events)
    got = Counter((e.get("Event-Name"), e.get("CC-Action")) for e in events)
    wanted = {k: 2 * n for k, n in recorded.items() if k[0] in EVENT_NAMES or k[0] == "CUSTOM"}
    assert got == wanted
    # each call has its own identity: the offer names the caller's uuid and number
    offers = [e for e in events if e.get("CC-Action") == "agent-offering"]
    assert sorted(e.get("CC-Member-Session-UUID") for e in offers) == sorted(u for u, _ in calls)
    # the switch's Core-UUID and a fresh Event-Sequence on every event (idempotency keys)
    assert {e.get("Core-UUID") for e in events} == {core}
    sequences = [e.get("Event-Sequence") for e in events]
    assert len(set(sequences)) == len(sequences)
    # and the bridge's normaliser reads them as four offered calls from those numbers
    offered = [de for e in events for de in normalize(e) if isinstance(de, d.CallOffered)]
    assert sorted(o.call_uuid for o in offered) == sorted(u for u, _ in calls)
    assert {o.caller.removeprefix("+86") for o in offered} == {n for _, n in calls}
