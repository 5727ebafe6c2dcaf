"""The pop's fast path and the write-behind: the real simulator over TCP, the bridge, the
real Redis pub/sub layer, ``WebsocketCommunicator`` desktops.

* the pop goes out while the call's records cannot be written (it never waits for them),
  keyed by the call's uuid, and the pop page waits for the record;
* if the fast path cannot send the pop, the writer sends it after its commit (nothing lost);
* the seat → user cache follows seat log-in/out; call.withdrawn when an offer leaves an agent;
* a batch writes the same records and messages as applying events one by one, replaying it
  changes nothing, and it costs a few statements for many events.
"""

from __future__ import annotations

import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext

from crm.models import Lead
from telephony.choices import CallOutcome
from telephony.esl.client import ESLClient
from telephony.models import AgentStatusChange, Call, CallEvent, Seat
from telephony.normalize import normalize
from telephony.services.calls import call_apply_event, calls_apply_batch
from tests.telephony.test_bridge_support import (
    HOTLINE,
    KNOWN_CALLER,
    PASSWORD,
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


async def call_row(uuid: str):
    return await db(lambda: Call.objects.filter(uuid=uuid).values().first())()


def _dsn() -> str:
    conf = settings.DATABASES["default"]
    return (
        f"host={conf['HOST'] or '127.0.0.1'} port={conf['PORT'] or 5432} "
        f"dbname={connection.settings_dict['NAME']} user={conf['USER']}"
        + (f" password={conf['PASSWORD']}" if conf.get("PASSWORD") else "")
    )


async def test_the_pop_goes_out_while_the_records_cannot_be_written_and_its_page_waits():
    world = await db(make_world)()
    first = world["users"][0]
    dsn = await db(_dsn)()
    async with switch_and_bridge(sim_config(on_break=("1002@default",))) as (server, bridge):
        mine = await desktop(first)
        await expect(mine, "agent.status")
        await bridge.drain(5)

        # given the call-event table locked by another transaction: no record can be written
        blocker = await psycopg.AsyncConnection.connect(dsn)
        await blocker.execute("BEGIN")
        await blocker.execute("LOCK TABLE telephony_callevent IN EXCLUSIVE MODE")
        try:
            # when the known customer calls
            reply = await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1000")
            uuid = reply.split()[1]

            # then the pop arrives anyway, with the customer card, keyed by the uuid
            offered = await expect(mine, "call.offered")
            call = offered["call"]
            assert call["uuid"] == uuid
            assert call["customer"]["name"] == "张秀英"
            assert call["caller_display"] == "138****8000"
            assert call["pop_url"] == f"/telephony/calls/by-uuid/{uuid}/pop/"
            assert bridge.pops.stats.pops == 1
            # and the record of the offer is not written yet
            row = await call_row(uuid)
            assert row is None or row["agent_id"] is None
            assert bridge.workers.pending > 0

            # the agent's page asks for the pop meanwhile: it waits for the record
            answer = {}

            def get_pop():
                client = Client()
                client.force_login(first)
                answer["response"] = client.get(call["pop_url"])
                connection.close()

            page = threading.Thread(target=get_pop)
            page.start()
            time.sleep(0.5)
            assert page.is_alive()
        finally:
            await blocker.rollback()  # the records follow
            await blocker.close()

        page.join(10)
        response = answer["response"]
        assert response.status_code == 200
        html = response.content.decode()
        assert "张秀英" in html and f'data-uuid="{uuid}"' in html
        await bridge.drain(5)
        row = await call_row(uuid)
        assert row["agent_id"] == first.pk and row["customer_id"] == world["customer"].pk
        # exactly one pop: the writer did not send its copy
        extra = [m for m in await messages_within(mine, 0.3) if m["type"] == "call.offered"]
        assert extra == []
        await server.switch.api(f"uuid_kill {uuid}")
        await bridge.drain(5)
        await mine.disconnect()


async def test_when_the_fast_path_cannot_send_the_writer_sends_the_pop():
    world = await db(make_world)()
    first = world["users"][0]
    async with switch_and_bridge(sim_config(on_break=("1002@default",))) as (server, bridge):
        mine = await desktop(first)
        await expect(mine, "agent.status")

        # given the fast path's sends refused (as when Redis refuses a message)
        async def refused(messages):
            return len(messages)

        bridge.pops._send = refused
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1")).split()[1]

        # then the pop still arrives once, from the record (so with its id)
        offered = await expect(mine, "call.offered")
        assert offered["call"]["uuid"] == uuid and offered["call"]["id"] is not None
        assert offered["call"]["customer"]["name"] == "张秀英"
        await expect(mine, "call.ended")
        await bridge.drain(5)
        assert bridge.pops.stats.failed == 1
        await mine.disconnect()


async def test_the_pop_follows_the_seat_to_the_next_user_logged_into_it():
    world = await db(make_world)()
    first, second = world["users"]
    cfg = sim_config(on_break=("1002@default",))
    async with switch_and_bridge(cfg) as (server, bridge):
        esl = {"host": "127.0.0.1", "port": server.port, "password": PASSWORD, "simulated": False}
        mine, other = await desktop(first), await desktop(second)
        await expect(mine, "agent.status")
        await expect(other, "agent.status")
        # a first call fills the seat cache with 1001 → first
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1")).split()[1]
        assert (await expect(mine, "call.offered"))["call"]["uuid"] == uuid
        await expect(mine, "call.ended")
        await bridge.drain(5)

        # when the first user logs out of 1001 and the second logs out of 1002, into 1001
        def swap():
            from telephony.services import desktop as services

            with override_settings(TELEPHONY_ESL=esl, TELEPHONY_ACW_AUTO=False):
                services.seat_logout(user=first)
                services.seat_logout(user=second)
                services.seat_login(user=second, seat=Seat.objects.get(extension="1001"))
                services.agent_set_ready(user=second)

        await db(swap)()
        await bridge.drain(5)

        # then the next call to 1001 pops for the second user, not the first
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1")).split()[1]
        offered = await expect(other, "call.offered")
        assert offered["call"]["uuid"] == uuid
        assert [m for m in await messages_within(mine, 0.5) if m["type"] == "call.offered"] == []
        await bridge.drain(5)
        await mine.disconnect()
        await other.disconnect()


async def test_no_answer_in_time_withdraws_the_pop_and_the_call_goes_to_the_next_agent():
    # given 1001 who never picks up, 1002 on break
    world = await db(make_world)()
    first, second = world["users"]
    cfg = sim_config(on_break=("1002@default",))
    cfg.agents[0].answers = False
    cfg.agents[0].max_no_answer = 1  # then the switch puts 1001 on break
    async with switch_and_bridge(cfg) as (server, bridge):
        mine, other = await desktop(first), await desktop(second)
        await expect(mine, "agent.status")
        await expect(other, "agent.status")
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1000")).split()[
            1
        ]
        assert (await expect(mine, "call.offered"))["call"]["uuid"] == uuid

        # when 1001's phone rings out (RONA)
        withdrawn = await expect(mine, "call.withdrawn", timeout=10)

        # then 1001's pop is withdrawn, and the call is nobody's until offered again
        assert withdrawn["call"]["uuid"] == uuid and withdrawn["reason"] == "rona"
        await bridge.drain(5)
        row = await call_row(uuid)
        assert row["agent_id"] is None and row["ring_no_answer_count"] == 1
        # a reconnect of 1001's desktop replays nothing
        again = await desktop(first)
        assert [m["type"] for m in await messages_within(again, 0.5)] == ["agent.status"]
        await again.disconnect()

        # and when 1002 becomes ready the call pops there
        await server.switch.api("callcenter_config agent set status 1002@default 'Available'")
        assert (await expect(other, "call.offered", timeout=10))["call"]["uuid"] == uuid
        await expect(other, "call.answered", timeout=10)
        await server.switch.api(f"uuid_kill {uuid}")
        await bridge.drain(5)
        row = await call_row(uuid)
        assert row["agent_id"] == second.pk
        await mine.disconnect()
        await other.disconnect()


async def test_caller_hanging_up_while_it_rings_withdraws_the_pop():
    world = await db(make_world)()
    first = world["users"][0]
    cfg = sim_config(on_break=("1002@default",))
    cfg.agents[0].answer_delay = 200  # rings for 10 s of wall time
    cfg.agents[0].leg_timeout = 300
    async with switch_and_bridge(cfg) as (server, bridge):
        mine = await desktop(first)
        await expect(mine, "agent.status")
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=10")).split()[1]
        assert (await expect(mine, "call.offered"))["call"]["uuid"] == uuid

        # when the caller hangs up before the agent picks up
        await server.switch.api(f"uuid_kill {uuid}")

        # then the pop is withdrawn (not "ended": the agent never had the call)
        withdrawn = await expect(mine, "call.withdrawn")
        assert withdrawn["call"]["uuid"] == uuid
        assert withdrawn["reason"] == "caller_hung_up"
        assert "call.ended" not in [m["type"] for m in await messages_within(mine, 0.3)]
        await bridge.drain(5)
        assert (await call_row(uuid))["outcome"] == CallOutcome.ABANDONED
        await mine.disconnect()


# -- the batch writer ----------------------------------------------------------------------


async def _recorded_stream(calls: int) -> list[dict]:
    """The raw events of ``calls`` answered calls, as the bridge read them."""
    async with switch_and_bridge(sim_config()) as (server, bridge):
        recorder = ESLClient(
            "127.0.0.1",
            server.port,
            PASSWORD,
            event_format="json",
            event_names=["ALL"],
            heartbeat_timeout=None,
        )
        await recorder.connect(timeout=5)
        uuids = []
        for index in range(calls):
            caller = KNOWN_CALLER if index == 0 else f"1390000{index:04d}"
            uuids.append(
                (await server.switch.api(f"sim_inbound {HOTLINE} {caller} talk=1")).split()[1]
            )
        for uuid in uuids:
            await wait_for(lambda uuid=uuid: _ended(uuid), timeout=15)
        await bridge.drain(5)
        events = []
        while recorder.queued_events:
            events.append(await recorder.next_event(timeout=1))
        await recorder.close()
    return events


async def _ended(uuid):
    row = await call_row(uuid)
    return row if row and row["outcome"] != CallOutcome.IN_PROGRESS else None


def _records():
    def strip(rows, *drop):
        return [{k: v for k, v in row.items() if k not in drop} for row in rows]

    return (
        strip(Call.objects.order_by("uuid").values(), "id"),
        strip(
            CallEvent.objects.order_by("key").values("key", "kind", "at", "data", "call__uuid"),
        ),
        strip(AgentStatusChange.objects.order_by("event_key").values(), "id", "seat_id", "user_id"),
        list(Seat.objects.order_by("extension").values("extension", "status", "state", "reason")),
        list(Lead.objects.order_by("phone").values("phone", "call_count")),
    )


def _wipe():
    CallEvent.objects.all().delete()
    Call.objects.all().delete()
    AgentStatusChange.objects.all().delete()
    Lead.objects.all().delete()
    Seat.objects.update(status="Logged Out", state="Idle", reason="")


def _without_ids(messages):
    out = []
    for group, message in messages:
        message = dict(message)
        if isinstance(message.get("call"), dict):
            message["call"] = {
                k: v for k, v in message["call"].items() if k not in ("id", "pop_url")
            }
        if isinstance(message.get("seat"), dict):
            message["seat"] = {k: v for k, v in message["seat"].items() if k != "seat_id"}
        out.append((group, message))
    return out


async def test_a_batch_writes_what_one_by_one_writes_and_replaying_it_changes_nothing():
    await db(make_world)()
    events = await _recorded_stream(3)
    domain = [e for event in events for e in normalize(event)]

    def one_by_one():
        _wipe()
        messages = []
        with CaptureQueriesContext(connection) as queries:
            for event in domain:
                messages += call_apply_event(event, publish=False)
        return _records(), messages, len(queries)

    def batched():
        _wipe()
        with CaptureQueriesContext(connection) as queries:
            messages, held = calls_apply_batch(domain)
        return _records(), messages, held, len(queries)

    def replay():
        with CaptureQueriesContext(connection) as queries:
            messages, held = calls_apply_batch(domain)
        return _records(), messages, held, len(queries)

    single_records, single_messages, single_queries = await db(one_by_one)()
    batch_records, batch_messages, held, queries = await db(batched)()

    # the same records, the same messages, in the same order
    assert batch_records == single_records
    assert _without_ids(batch_messages) == _without_ids(single_messages)
    assert held == {}
    assert len(single_records[0]) == 3 and len(single_records[1]) >= 18
    # in one transaction of a few statements: per new call its insert, customer and lead
    # (13 with the lead's savepoints and audit row), then for the whole batch one read of
    # the calls, seats and keys, one insert of all events, one update of all calls and seats
    assert queries <= 10 + 13 * 3, queries
    assert queries * 3 < single_queries, (queries, single_queries)

    # and applying the batch again changes nothing and pushes nothing
    again_records, again_messages, again_held, _ = await db(replay)()
    assert again_records == batch_records
    assert again_messages == [] and again_held == {}


async def test_a_batch_with_a_bad_event_is_written_one_by_one_and_only_that_event_is_lost():
    from telephony.normalize import AgentStateChanged, CallEnded

    await db(make_world)()
    async with switch_and_bridge(sim_config()) as (server, bridge):
        good = (await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1")).split()[1]
        await wait_for(lambda: _ended(good), timeout=10)
        await bridge.drain(5)
        await db(lambda: Call.objects.filter(uuid=good).update(wait_seconds=None))()
        # given one batch: a good event, and one the database refuses (a negative wait)
        fine = AgentStateChanged(key="fine-event", at=None, agent="1002@default", state="Idle")
        bad = CallEnded(
            key="bad-event",
            at=None,
            call_uuid=good,
            direction="inbound",
            cause="NORMAL_CLEARING",
            outcome="answered",
            queue=None,
            agent=None,
            wait_seconds=-5,
            talk_seconds=None,
            billsec=None,
            duration=None,
            answered_at=None,
            bridged_at=None,
            ended_at=None,
            originate_disposition=None,
        )
        resyncs = bridge.stats.resyncs
        bridge.workers.submit(fine)
        bridge.workers.submit(bad)
        assert await bridge.drain(10)

        # then the batch failed as a whole, its events were applied one by one: the good one
        # is written, the bad one counted, and a resync asked for
        stats = bridge.workers.stats
        assert (stats.batch_failures, stats.failed) == (1, 1)
        assert await db(lambda: AgentStatusChange.objects.filter(event_key="fine-event").exists())()
        assert not await db(lambda: CallEvent.objects.filter(key="bad-event").exists())()
        await wait_for(lambda: _more(bridge, resyncs), timeout=10)


async def _more(bridge, before):
    return bridge.stats.resyncs > before


async def test_the_pop_does_not_queue_behind_the_writers_messages_on_the_shared_connection():
    from channels.layers import get_channel_layer

    world = await db(make_world)()
    first = world["users"][0]
    async with switch_and_bridge(sim_config(on_break=("1002@default",))) as (server, bridge):
        mine = await desktop(first)
        await expect(mine, "agent.status")
        await bridge.drain(5)
        # given the shared layer's publishing connection busy (as while the writer publishes
        # a batch's hundreds of messages): its lock held
        shard = get_channel_layer()._get_layer()._shards[0]
        await shard._lock.acquire()
        try:
            # when the known customer calls
            reply = await server.switch.api(f"sim_inbound {HOTLINE} {KNOWN_CALLER} talk=1000")
            uuid = reply.split()[1]
            # then the pop arrives all the same: it has a connection of its own
            offered = await expect(mine, "call.offered")
            assert offered["call"]["uuid"] == uuid
            assert bridge.pops.stats.pops == 1
        finally:
            shard._lock.release()
        await server.switch.api(f"uuid_kill {uuid}")
        await bridge.drain(5)
        await mine.disconnect()
