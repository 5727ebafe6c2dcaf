"""Issue #6, the telephony core's part of surge handling: every inbound call ends in exactly
one accounted outcome, and a call the overflow branch took becomes a callback request in the
same transaction as its record — through the real simulator over TCP, the bridge's batched
writer and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest

from telephony.callbacks.models import CallbackCapture, CallbackRequest
from telephony.choices import CallOutcome
from telephony.models import Call
from tests.telephony.test_bridge_support import (
    HOTLINE,
    KNOWN_CALLER,
    QUEUE,
    db,
    make_world,
    redis_layer,  # noqa: F401 - fixture
    sim_config,
    switch_and_bridge,
    wait_for,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


async def place(api, caller: str, **options) -> str:
    extra = " ".join(f"{k}={v}" for k, v in options.items())
    reply = await api(f"sim_inbound {HOTLINE} {caller} {extra}".strip())
    assert reply.startswith("+OK"), reply
    return reply.split()[1]


async def ended(uuid: str):
    row = await db(lambda: Call.objects.filter(uuid=uuid).values().first())()
    return row if row and row["outcome"] != CallOutcome.IN_PROGRESS else None


def _close_hotline_after_hours(hotline_id: int) -> None:
    """What the routing controller does outside work hours: the hotline's policy says the
    overflow branch is on because it is closed (and the switch's variable is set)."""
    from telephony.routing.models import RoutingPolicy

    RoutingPolicy.objects.bulk_create([RoutingPolicy(hotline_id=hotline_id)], ignore_conflicts=True)
    RoutingPolicy.objects.filter(hotline_id=hotline_id).update(
        overflow_active=True, overflow_reason="after_hours"
    )


def _open_hotline(hotline_id: int) -> None:
    from telephony.routing.models import RoutingPolicy

    RoutingPolicy.objects.filter(hotline_id=hotline_id).update(
        overflow_active=False, overflow_reason=""
    )


async def test_a_mix_of_calls_ends_in_exactly_one_outcome_each_and_captures_callbacks(settings):
    settings.ROUTING_PUSH_ON_CHANGE = False
    world = await db(make_world)()
    hotline_id = world["hotline"].pk
    cfg = sim_config(on_break=("1002@default",), callers={"talk_time": 2.0, "prompt_time": 1.0})
    async with switch_and_bridge(cfg) as (server, bridge):
        api = server.switch.api
        placed: dict[str, str] = {}

        # answered by the one ready agent
        placed["answered"] = await place(api, KNOWN_CALLER, talk=2)
        await wait_for(lambda: ended(placed["answered"]), 15)
        await api("callcenter_config agent set status 1001@default 'On Break'")

        # nobody ready: one caller gives up (abandoned, with the wait) …
        placed["abandoned"] = await place(api, "13900000001", patience=2)
        # … one waits until the queue's max wait: the overflow branch takes them
        server.switch.queues[QUEUE].cfg.max_wait_time = 3
        placed["max_wait"] = await place(api, "13900000002", patience=600)
        await wait_for(lambda: ended(placed["max_wait"]), 15)
        server.switch.queues[QUEUE].cfg.max_wait_time = 0

        # blacklisted → rejected; a trunk failure → failed with its cause
        await api("hash insert/tvshop_blacklist/13900000003/1")
        placed["rejected"] = await place(api, "13900000003")
        placed["failed"] = await place(api, "13900000004", fail="NETWORK_OUT_OF_ORDER")

        # the overflow switch is on (surge): captured; a repeat caller twice; an anonymous one
        await api(f"global_setvar tvshop_overflow_{QUEUE}=true")
        placed["overflow"] = await place(api, "13900000005")
        placed["repeat_1"] = await place(api, "13900000006")
        placed["repeat_2"] = await place(api, "13900000006")
        placed["anonymous"] = await place(api, "anonymous")
        for key in ("overflow", "repeat_1", "repeat_2", "anonymous"):
            await wait_for(lambda key=key: ended(placed[key]), 15)

        # after hours: the same branch, on because the hotline is closed
        await db(_close_hotline_after_hours)(hotline_id)
        placed["after_hours"] = await place(api, "13900000007")
        await wait_for(lambda: ended(placed["after_hours"]), 15)
        await db(_open_hotline)(hotline_id)

        for uuid in placed.values():
            await wait_for(lambda uuid=uuid: ended(uuid), 15)
        await bridge.drain(5)
        assert bridge.workers.stats.failed == 0

    rows = await db(lambda: {c["uuid"]: c for c in Call.objects.values()})()
    outcome = {key: rows[uuid]["outcome"] for key, uuid in placed.items()}
    assert outcome == {
        "answered": CallOutcome.ANSWERED,
        "abandoned": CallOutcome.ABANDONED,
        "max_wait": CallOutcome.OVERFLOW,
        "rejected": CallOutcome.REJECTED,
        "failed": CallOutcome.FAILED,
        "overflow": CallOutcome.OVERFLOW,
        "repeat_1": CallOutcome.OVERFLOW,
        "repeat_2": CallOutcome.OVERFLOW,
        "anonymous": CallOutcome.OVERFLOW,
        "after_hours": CallOutcome.OVERFLOW,
    }
    # one record per placed call (agent legs make none); the outcomes add up
    assert len(rows) == len(placed)
    counts = {value: list(outcome.values()).count(value) for value in CallOutcome.values}
    assert counts[CallOutcome.IN_PROGRESS] == 0
    assert sum(counts.values()) == len(placed)
    # the details each outcome carries
    assert rows[placed["abandoned"]]["wait_seconds"] is not None
    assert rows[placed["abandoned"]]["queued_at"] is not None
    assert rows[placed["failed"]]["hangup_cause"] == "NETWORK_OUT_OF_ORDER"
    assert rows[placed["rejected"]]["hangup_cause"] == "CALL_REJECTED"
    assert rows[placed["answered"]]["answered_at"] is not None

    # every captured call with a number has its capture, with the reason it was captured
    def callbacks():
        captures = {c.call_uuid: c for c in CallbackCapture.objects.select_related("request")}
        requests = {r.number: r for r in CallbackRequest.objects.all()}
        return captures, requests

    captures, requests = await db(callbacks)()
    captured = ("max_wait", "overflow", "repeat_1", "repeat_2", "after_hours")
    assert set(captures) == {placed[key] for key in captured}  # not the anonymous caller
    reasons = {key: captures[placed[key]].reason for key in captured}
    assert reasons == {
        "max_wait": "max_wait",
        "overflow": "overflow_switch",
        "repeat_1": "overflow_switch",
        "repeat_2": "overflow_switch",
        "after_hours": "after_hours",
    }
    assert set(requests) == {
        "+8613900000002",
        "+8613900000005",
        "+8613900000006",
        "+8613900000007",
    }
    assert requests["+8613900000006"].call_count == 2  # one open request per number
    assert all(c.request.hotline_id == hotline_id for c in captures.values())


async def test_replaying_the_event_stream_captures_nothing_twice():
    """The bridge's batch retried (or the same events read again after a reconnect): the
    capture is idempotent per call, exactly like the call record."""
    from telephony.services.calls import calls_apply_batch

    await db(make_world)()
    cfg = sim_config(callers={"prompt_time": 1.0})
    events = []
    async with switch_and_bridge(cfg) as (server, bridge):
        api = server.switch.api
        await api(f"global_setvar tvshop_overflow_{QUEUE}=true")
        uuid = await place(api, "13900000009")
        await wait_for(lambda: ended(uuid), 15)
        await bridge.drain(5)

    before = await db(lambda: list(CallbackRequest.objects.values("pk", "call_count")))()
    assert len(before) == 1 and before[0]["call_count"] == 1
    # the same events (from the stored call events' kinds is not enough: build them again
    # from a fresh CallEnded) applied once more change nothing
    from telephony.normalize import CallEnded

    def replay():
        call = Call.objects.get(uuid=uuid)
        end = CallEnded(
            key=f"replay:{uuid}",
            at=call.ended_at,
            call_uuid=uuid,
            direction="inbound",
            cause="NORMAL_CLEARING",
            outcome="overflow",
            queue=QUEUE,
            agent=None,
            wait_seconds=None,
            talk_seconds=None,
            billsec=None,
            duration=None,
            answered_at=None,
            bridged_at=None,
            ended_at=call.ended_at,
            originate_disposition=None,
            callback_reason="overflow_switch",
        )
        events.append(end)
        calls_apply_batch([end])
        calls_apply_batch([end])

    await db(replay)()
    after = await db(lambda: list(CallbackRequest.objects.values("pk", "call_count")))()
    assert after == before
    assert await db(lambda: CallbackCapture.objects.count())() == 1
    await asyncio.sleep(0)
