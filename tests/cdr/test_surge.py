"""The issue's test: the bridge stops during a simulated surge; the CDRs the switch posts
afterwards make every call and every callback capture whole.

Real parts only: the simulator over TCP, the bridge writing call records from its events,
the CDRs built by ``telephony.simulator.cdr_poster`` from the simulator's own channels (its
variables and billing times, what the caller leg's CHANNEL_HANGUP_COMPLETE carries) and
POSTed over real HTTP (urllib → the live server → ``/telephony/cdr/``) as mod_json_cdr does.
"""

from __future__ import annotations

import asyncio
import json

import pytest

from telephony.bridge import Bridge
from telephony.callbacks.models import CallbackCapture, CallbackRequest
from telephony.cdr.models import CallDetailRecord, CdrResult
from telephony.choices import CallOutcome
from telephony.models import Call
from telephony.simulator.cdr_poster import CdrPoster
from tests.cdr.support import PASSWORD as CDR_PASSWORD
from tests.cdr.support import USERNAME as CDR_USERNAME
from tests.telephony.test_bridge_support import (
    HOTLINE,
    PASSWORD,
    db,
    make_world,
    redis_layer,  # noqa: F401 - fixture
    sim_config,
    switch_and_bridge,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]

BLACKLISTED = "13600136000"
REPEAT = "13700137001"  # captured twice while the bridge is down: one request, two calls


def expected_outcome(variables: dict) -> str:
    """What the switch says happened, read straight from its variables (independent of the
    service under test)."""
    if variables.get("tvshop_callback") == "true":
        return CallOutcome.OVERFLOW
    if variables.get("hangup_cause") == "CALL_REJECTED":
        return CallOutcome.REJECTED
    if variables.get("cc_cause") == "answered":
        return CallOutcome.ANSWERED
    if variables.get("cc_cancel_reason") == "BREAK_OUT":
        return CallOutcome.ABANDONED
    return CallOutcome.FAILED


def _calls(uuids: list[str]) -> dict[str, dict]:
    rows = Call.objects.filter(uuid__in=uuids).values(
        "uuid", "outcome", "ended_at", "caller", "hotline_id", "agent_id", "wait_seconds"
    )
    return {row["uuid"]: row for row in rows}


async def place(switch, caller: str, **options) -> str:
    extra = " ".join(f"{k}={v}" for k, v in options.items())
    reply = await switch.api(f"sim_inbound {HOTLINE} {caller} {extra}".strip())
    assert reply.startswith("+OK"), reply
    return reply.split()[1]


async def test_no_call_and_no_capture_is_lost_when_the_bridge_stops_mid_surge(
    live_server, settings
):
    settings.TELEPHONY_CDR = {"username": CDR_USERNAME, "password": CDR_PASSWORD}
    world = await db(make_world)()
    # speed 10: a simulated second is 0.1 s; the first two calls talk 4 s of wall time, far
    # longer than the bridge needs to record them before it is stopped
    cfg = sim_config(speed=10.0, callers={"talk_time": 4.0, "prompt_time": 2.0, "patience": 600})
    async with switch_and_bridge(cfg) as (server, bridge):
        switch = server.switch
        poster = CdrPoster(switch)  # the switch writes a CDR for every leg, bridge or not
        placed: list[str] = []

        # 1. the surge starts with the bridge up: 6 callers for 2 agents, most of them queue
        first = [
            await place(switch, f"1380013800{i}", talk=40 if i < 2 else 4, patience=600)
            for i in range(6)
        ]
        placed += first
        await wait_for(lambda: db(lambda: Call.objects.filter(uuid__in=first).count())(), 10)
        await wait_for(lambda: db(lambda: Call.objects.exclude(queued_at=None).count() >= 4)(), 10)

        # 2. the bridge goes away mid-surge; calls go on (queued ones get answered/hang up)
        await bridge.stop()
        await switch.api(f"hash insert/tvshop_blacklist/{BLACKLISTED}/1")
        placed.append(await place(switch, BLACKLISTED))
        # the centre is saturated: the overflow branch captures the next callers
        await switch.api("global_setvar tvshop_overflow_orders=true")
        captured = [await place(switch, f"1370013700{i}") for i in range(2, 6)]
        captured += [await place(switch, REPEAT), await place(switch, REPEAT)]
        placed += captured

        def in_overflow_branch() -> bool:  # the dialplan runs once the call has arrived
            return all(
                u not in switch.channels
                or switch.channels[u].vars.get("tvshop_callback_reason") == "overflow_switch"
                for u in captured
            )

        await wait_for(lambda: asyncio.sleep(0, result=in_overflow_branch()), 10, 0.01)
        await switch.api("global_setvar tvshop_overflow_orders=false")
        # and a few more queue; two of them give up quickly
        placed += [await place(switch, f"1390013900{i}", patience=2) for i in range(2)]
        placed += [await place(switch, f"1350013500{i}", patience=600) for i in range(2)]

        # every call of the surge ends on the switch
        await wait_for(lambda: asyncio.sleep(0, result=not switch.channels), 60, 0.1)
        await asyncio.sleep(0.1)  # the last CDRs are written after the hang-up returns

        # the event stream lost part of the surge: missing calls, calls left in progress
        before = await db(_calls)(placed)
        missing = [u for u in placed if u not in before]
        open_calls = [u for u, row in before.items() if row["outcome"] == CallOutcome.IN_PROGRESS]
        assert len(missing) >= 10  # everything placed after the stop
        assert open_calls, before  # queued or talking when the bridge stopped
        assert await db(lambda: CallbackCapture.objects.count())() == 0

        # 3. the bridge comes back (its resync guesses the end of the calls it lost) …
        again = Bridge(
            "127.0.0.1",
            server.port,
            PASSWORD,
            workers=2,
            heartbeat_timeout=None,
            reconnect_initial=0.3,
            reconnect_max=0.5,
        )
        await again.start()
        try:
            await again.wait_ready(timeout=10)
        finally:
            await again.stop()

        # 4. … and the switch's CDRs arrive (mod_json_cdr posts every leg, over HTTP)
        legs = {cdr["variables"]["uuid"]: cdr for cdr in poster.records}
        assert set(placed) <= set(legs)
        url = f"{live_server.url}/telephony/cdr/"
        results = await poster.post_all(url, CDR_USERNAME, CDR_PASSWORD)
        assert [r.status for r in results] == [200] * len(poster.records)
        repeated = await poster.post_all(url, CDR_USERNAME, CDR_PASSWORD)  # the switch retries
        assert [r.status for r in repeated] == [200] * len(poster.records)
        poster.close()

    # every placed call has exactly one record with the outcome the switch reports
    after = await db(_calls)(placed)
    assert sorted(after) == sorted(placed)
    for uuid in placed:
        row = after[uuid]
        assert row["outcome"] == expected_outcome(legs[uuid]["variables"]), uuid
        assert row["ended_at"] is not None, uuid
        assert row["hotline_id"] == world["hotline"].pk
    assert await db(lambda: Call.objects.count())() == len(placed)  # agent legs made none
    outcomes = [row["outcome"] for row in after.values()]
    assert outcomes.count(CallOutcome.OVERFLOW) == len(captured)
    assert outcomes.count(CallOutcome.REJECTED) == 1
    assert outcomes.count(CallOutcome.ANSWERED) >= 2
    assert CallOutcome.IN_PROGRESS not in outcomes
    answered = [row for row in after.values() if row["outcome"] == CallOutcome.ANSWERED]
    assert all(row["agent_id"] in {u.pk for u in world["users"]} for row in answered)

    # every capture has its callback request; the repeat caller one request with two calls
    def callbacks():
        captures = dict(CallbackCapture.objects.values_list("call_uuid", "request_id"))
        requests = {r.number: r.call_count for r in CallbackRequest.objects.all()}
        return captures, requests

    captures, requests = await db(callbacks)()
    assert set(captures) == set(captured)
    assert requests == {
        **{f"+861370013700{i}": 1 for i in range(2, 6)},
        f"+86{REPEAT}": 2,
    }

    # every CDR was stored once, none failed; posted again they changed nothing
    assert all(json.loads(r.body)["duplicate"] for r in repeated)
    results_by_kind = await db(
        lambda: list(CallDetailRecord.objects.values_list("uuid", "result"))
    )()
    assert len(results_by_kind) == len(poster.records)
    kinds = {result for _uuid, result in results_by_kind}
    assert CdrResult.FAILED not in kinds
    assert {CdrResult.CREATED, CdrResult.COMPLETED, CdrResult.IGNORED} <= kinds


async def test_the_simulator_posts_cdrs_as_calls_end_with_no_bridge_at_all(live_server, settings):
    """``CdrPoster(switch, url=…)``: what mod_json_cdr does on a real switch, live."""
    from telephony.simulator import SimulatorServer

    settings.TELEPHONY_CDR = {"username": CDR_USERNAME, "password": CDR_PASSWORD}
    world = await db(make_world)()
    async with SimulatorServer(sim_config(callers={"talk_time": 2.0, "prompt_time": 1.0})) as sim:
        switch = sim.switch
        poster = CdrPoster(
            switch,
            url=f"{live_server.url}/telephony/cdr/",
            username=CDR_USERNAME,
            password=CDR_PASSWORD,
            encode="base64",
        )
        answered = await place(switch, "13800138000")
        await wait_for(lambda: asyncio.sleep(0, result=answered not in switch.channels), 20, 0.05)
        await switch.api("global_setvar tvshop_overflow_orders=true")
        captured = await place(switch, "13700137000")
        await wait_for(lambda: asyncio.sleep(0, result=not switch.channels), 20, 0.05)
        await asyncio.sleep(0.1)
        await poster.wait_posted()
        poster.close()

    assert {r.status for r in poster.results} == {200}
    rows = await db(_calls)([answered, captured])
    assert rows[answered]["outcome"] == CallOutcome.ANSWERED
    assert rows[answered]["agent_id"] in {u.pk for u in world["users"]}
    assert rows[captured]["outcome"] == CallOutcome.OVERFLOW
    assert await db(lambda: CallbackCapture.objects.filter(call_uuid=captured).count())() == 1


async def test_a_call_created_from_its_cdr_goes_to_the_wallboard_live():
    from channels.layers import get_channel_layer

    from telephony.cdr.services import cdr_ingest
    from telephony.groups import WALLBOARD
    from tests.cdr.support import overflow_cdr

    await db(make_world)()
    layer = get_channel_layer()
    channel = await layer.new_channel()
    await layer.group_add(WALLBOARD, channel)
    cdr = overflow_cdr()

    await db(lambda: cdr_ingest(data=cdr))()

    message = await asyncio.wait_for(layer.receive(channel), 5)
    assert message["type"] == "call.update"
    assert message["call"]["uuid"] == cdr["variables"]["uuid"]
    assert message["call"]["outcome"] == CallOutcome.OVERFLOW
    assert "caller" not in message["call"]  # the wallboard never gets the number
