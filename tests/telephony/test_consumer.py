"""``/ws/desktop/``: who may connect, what a (re)connect replays, ping/pong — on the real
Redis pub/sub channel layer."""

from __future__ import annotations

import pytest
from channels.layers import get_channel_layer
from django.utils import timezone

from telephony.choices import AgentStatus, CallOutcome
from telephony.groups import agent_group
from telephony.models import Call
from tests.telephony.test_bridge_support import (
    db,
    desktop,
    expect,
    make_world,
    messages_within,
    redis_layer,  # noqa: F401 - fixture
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


async def test_users_without_desktop_permission_are_refused_and_join_nothing(make_user):
    # given a finance user (no telephony permission) and an anonymous visitor
    finance = await db(lambda: make_user("finance"))()
    for user in (finance, None):
        communicator = await desktop(user)

        # then the socket is closed with 4403 and nothing was sent first
        closing = await communicator.receive_output(timeout=3)
        assert closing == {"type": "websocket.close", "code": 4403}
        # and no pop sent to the user's group arrives
        if user is not None:
            await get_channel_layer().group_send(
                agent_group(user.pk), {"type": "call.offered", "call": {}}
            )
        assert await communicator.receive_nothing(timeout=0.2)


async def test_reconnect_replays_the_current_call_pop():
    # given an agent with a call in progress
    world = await db(make_world)()
    agent = world["users"][0]

    def in_progress_call():
        return Call.objects.create(
            uuid="c0ffee00-0000-4000-8000-000000000001",
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

    call = await db(in_progress_call)()

    for _attempt in range(2):  # first connect, then a reconnect after a drop
        communicator = await desktop(agent)
        status = await expect(communicator, "agent.status")
        assert status["seat"]["extension"] == "1001"
        assert status["status"] == AgentStatus.LOGGED_OUT  # the seat as the app knows it
        replay = await expect(communicator, "call.offered")
        assert replay["replay"] is True
        assert replay["call"]["id"] == call.pk
        assert replay["call"]["customer"]["name"] == "张秀英"
        assert replay["call"]["caller_display"] == "138****8000"
        await communicator.disconnect()

    # once the call is over nothing is replayed
    await db(lambda: Call.objects.filter(pk=call.pk).update(outcome=CallOutcome.ANSWERED))()
    communicator = await desktop(agent)
    await expect(communicator, "agent.status")
    assert await messages_within(communicator, 0.3) == []
    await communicator.disconnect()


async def test_ping_is_answered_and_group_messages_reach_only_that_agent():
    world = await db(make_world)()
    first, second = world["users"]
    mine, other = await desktop(first), await desktop(second)
    await expect(mine, "agent.status")
    await expect(other, "agent.status")

    await mine.send_json_to({"type": "ping"})
    assert await mine.receive_json_from(timeout=3) == {"type": "pong"}

    await get_channel_layer().group_send(
        agent_group(first.pk), {"type": "call.ended", "call": {"id": 1}}
    )
    assert (await expect(mine, "call.ended"))["call"] == {"id": 1}
    assert await messages_within(other, 0.3) == []
    await mine.disconnect()
    await other.disconnect()
