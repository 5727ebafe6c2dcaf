"""Above the saturation point the desktop slows down, it never loses a pop unnoticed — on
the real Redis pub/sub channel layer (issue #3, "Loss above saturation")."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis
from channels.layers import get_channel_layer
from django.conf import settings
from django.utils import timezone

from telephony import consumers
from telephony.groups import agent_group
from telephony.models import Call
from tests.telephony.test_bridge_support import (
    db,
    desktop,
    expect,
    make_world,
    redis_layer,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]

BURST = 3000


async def test_a_burst_far_above_saturation_reaches_the_desktop_complete_and_in_order():
    # given an agent's desktop
    world = await db(make_world)()
    agent = world["users"][0]
    communicator = await desktop(agent)
    await expect(communicator, "agent.status")

    # when pops are published far faster than the desktop can take them (3,000 as fast as
    # Redis accepts them, ~2 KB each, while nothing reads: the default RedisChannelLayer
    # drops everything past its capacity of 100 per channel)
    layer = get_channel_layer()
    group = agent_group(agent.pk)
    padding = "x" * 2000
    for i in range(BURST):
        await layer.group_send(
            group, {"type": "call.offered", "call": {"uuid": f"burst-{i}", "pad": padding}}
        )

    # then every one arrives, in the order sent: delivery slowed down, nothing was dropped
    received = []
    async with asyncio.timeout(60):
        while len(received) < BURST:
            message = await communicator.receive_json_from(timeout=30)
            if message.get("type") == "call.offered":
                received.append(message["call"]["uuid"])
    assert received == [f"burst-{i}" for i in range(BURST)]
    await communicator.disconnect()


async def _kill_subscriber(layer) -> None:
    """Make Redis drop this process's pub/sub connection, as it does to a subscriber over
    its output-buffer limit (only our own connection, found by its local address)."""
    shard = layer._get_layer()._shards[0]
    host, port = shard._pubsub.connection._writer.get_extra_info("sockname")[:2]
    admin = aioredis.Redis.from_url(settings.CACHES["default"]["LOCATION"])
    try:
        assert await admin.client_kill_filter(_type="pubsub", addr=f"{host}:{port}") == 1
    finally:
        await admin.aclose()


async def test_a_pop_published_while_redis_had_dropped_the_subscriber_is_repaired(monkeypatch):
    monkeypatch.setattr(consumers, "REPAIR_AGAIN_AFTER", 0.5)
    # given an agent's desktop, connected with no call
    world = await db(make_world)()
    agent = world["users"][0]
    communicator = await desktop(agent)
    await expect(communicator, "agent.status")
    layer = get_channel_layer()

    # when Redis drops the subscriber, and around that moment a call is offered to the
    # agent: the record written, the pop published (redis-py reconnects within
    # milliseconds, so whether this one falls into the gap — and is discarded by Redis, which
    # keeps nothing for a missing subscriber — is a race; the repair must not depend on it)
    await _kill_subscriber(layer)

    def offered_call():
        return Call.objects.create(
            uuid="c0ffee00-0000-4000-8000-00000000d0d0",
            direction="inbound",
            caller="+8613800138000",
            dialled="4008001234",
            hotline=world["hotline"],
            station=world["station"],
            queue="orders",
            customer=world["customer"],
            agent=agent,
            created_at=timezone.now(),
            offered_at=timezone.now(),
        )

    call = await db(offered_call)()
    await layer.group_send(
        agent_group(agent.pk), {"type": "call.offered", "call": {"uuid": str(call.uuid)}}
    )

    # then the desktop gets the call's pop again from the record: the reconnect was noticed
    # and the desktop re-read its current call (the second read, a moment later, finds the
    # record written after the reconnect)
    async with asyncio.timeout(10):
        while True:
            message = await expect(communicator, "call.offered", timeout=10)
            if message.get("replay"):
                break
    assert message["call"]["id"] == call.pk
    assert message["call"]["uuid"] == str(call.uuid)
    # and pops published after the reconnect arrive as usual
    await layer.group_send(
        agent_group(agent.pk), {"type": "call.offered", "call": {"uuid": "after-reconnect"}}
    )
    async with asyncio.timeout(10):
        while (await expect(communicator, "call.offered"))["call"].get("uuid") != (
            "after-reconnect"
        ):
            pass
    await communicator.disconnect()
