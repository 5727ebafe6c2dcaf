"""``/ws/wallboard/`` on the real Redis pub/sub channel layer: who may connect, the snapshot
on connect, deltas from the wallboard group, the periodic refresh, and the bridge's summaries
of a real simulated call reaching the wallboard."""

from __future__ import annotations

import asyncio

import pytest
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.utils import timezone

from telephony.choices import AgentState, AgentStatus
from telephony.groups import WALLBOARD
from telephony.models import Call, Seat
from telephony.supervision.selectors import OVERFLOW_CACHE_KEY
from tests.factories import UserFactory
from tests.telephony.test_bridge_support import (
    HOTLINE,
    db,
    expect,
    make_world,
    messages_within,
    redis_layer,  # noqa: F401 - fixture
    session_cookie,
    sim_config,
    switch_and_bridge,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


@pytest.fixture(autouse=True)
def _overflow_known_off(settings):
    """The overflow switch as "asked, all off" (the simulator test below asks for real)."""
    settings.TELEPHONY_WALLBOARD_REFRESH_SECONDS = 0
    cache.set(OVERFLOW_CACHE_KEY, {"states": {}}, 60)
    yield
    cache.delete(OVERFLOW_CACHE_KEY)


def _user(role: str | None):
    user = UserFactory()
    if role:
        user.groups.add(Group.objects.get(name=role))
    return user


async def wallboard(user=None) -> WebsocketCommunicator:
    from tvshop.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        headers.append((b"cookie", await db(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, "/ws/wallboard/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_users_without_the_wallboard_permission_are_refused_and_join_nothing():
    for role in ("agent", "finance", None):
        user = await db(_user)(role) if role else None
        communicator = await wallboard(user)
        closing = await communicator.receive_output(timeout=3)
        assert closing == {"type": "websocket.close", "code": 4403}
        # the wallboard group's messages do not reach a refused socket
        await get_channel_layer().group_send(WALLBOARD, {"type": "call.update", "call": {"id": 1}})
        assert await communicator.receive_nothing(timeout=0.2)


async def test_snapshot_on_connect_then_deltas_ping_and_asked_snapshot():
    # given two seats, one talking on a live call
    world = await db(make_world)()
    supervisor = await db(_user)("supervisor")

    def live_call():
        seat = Seat.objects.get(extension="1001")
        Seat.objects.filter(pk=seat.pk).update(
            status=AgentStatus.AVAILABLE, state=AgentState.IN_A_QUEUE_CALL
        )
        now = timezone.now()
        return Call.objects.create(
            uuid="live-1",
            direction="inbound",
            caller="+8613800138000",
            hotline=world["hotline"],
            station=world["station"],
            seat=seat,
            agent=world["users"][0],
            created_at=now,
            queued_at=now,
            answered_at=now,
        )

    call = await db(live_call)()
    communicator = await wallboard(supervisor)

    # then the first message is the full snapshot
    snap = await communicator.receive_json_from(timeout=5)
    assert snap["type"] == "snapshot"
    assert snap["trunks"]["in_use"] == 1
    assert [c["uuid"] for c in snap["live_calls"]] == ["live-1"]
    assert {s["extension"]: s["view"] for s in snap["seats"]} == {
        "1001": "talking",
        "1002": "logged_out",
    }
    assert snap["overflow"] == {"known": True, "on": []}
    assert "13800138000" not in str(snap)  # no caller numbers on the wallboard

    # when the bridge's summaries arrive on the wallboard group, they are forwarded as they are
    layer = get_channel_layer()
    update = {"type": "call.update", "call": {"id": call.pk, "outcome": "answered"}}
    await layer.group_send(WALLBOARD, update)
    assert await expect(communicator, "call.update") == update
    seat = {"type": "seat.update", "seat": {"seat_id": 1, "status": "On Break"}}
    await layer.group_send(WALLBOARD, seat)
    assert await expect(communicator, "seat.update") == seat

    # and the browser may ping, or ask for a fresh snapshot (a few times per period)
    await communicator.send_json_to({"type": "ping"})
    assert await communicator.receive_json_from(timeout=3) == {"type": "pong"}
    for _ in range(3):
        await communicator.send_json_to({"type": "snapshot"})
        assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
    await communicator.send_json_to({"type": "snapshot"})
    assert await messages_within(communicator, 0.3) == []
    # anything else is ignored
    await communicator.send_json_to({"type": "supervise", "mode": "hangup"})
    await communicator.send_json_to(["not", "a", "dict"])
    assert await messages_within(communicator, 0.3) == []
    await communicator.disconnect()


async def test_refresh_resends_the_snapshot_and_closes_when_the_permission_goes(settings):
    settings.TELEPHONY_WALLBOARD_REFRESH_SECONDS = 0.3
    supervisor = await db(_user)("supervisor")
    communicator = await wallboard(supervisor)
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
    # a refresh arrives on its own
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"

    # when the supervisor loses the role, the next refresh closes the socket
    await db(lambda: supervisor.groups.clear())()
    async with asyncio.timeout(5):
        while True:
            output = await communicator.receive_output(timeout=5)
            if output["type"] == "websocket.close":
                break
    assert output == {"type": "websocket.close", "code": 4403}


async def test_a_simulated_call_reaches_the_wallboard_through_the_bridge(settings):
    # given the simulator, the bridge, and a supervisor watching the wallboard
    await db(make_world)()
    supervisor = await db(_user)("supervisor")
    async with switch_and_bridge(sim_config()) as (server, bridge):
        settings.TELEPHONY_ESL = {
            "host": "127.0.0.1",
            "port": server.port,
            "password": "ClueCon",
            "simulated": False,
        }
        await server.switch.api("global_setvar tvshop_overflow_orders=true")
        cache.delete(OVERFLOW_CACHE_KEY)
        communicator = await wallboard(supervisor)
        snap = await communicator.receive_json_from(timeout=10)
        # the overflow switch as the simulator holds it
        assert snap["overflow"] == {"known": True, "on": ["orders"]}
        await server.switch.api("global_setvar tvshop_overflow_orders=false")

        # when a caller rings the hotline (overflow off again: the call goes to the queue)
        uuid = (await server.switch.api(f"sim_inbound {HOTLINE} 13900000009 talk=1")).split()[1]

        # then the wallboard sees the call's summaries until it ends, without caller numbers
        seen = []
        async with asyncio.timeout(15):
            while True:
                message = await communicator.receive_json_from(timeout=15)
                if message["type"] == "call.update" and message["call"]["uuid"] == uuid:
                    seen.append(message["call"])
                    if message["call"]["outcome"] != "in_progress":
                        break
        assert seen[0]["hotline"] == HOTLINE
        assert seen[-1]["outcome"] in ("answered", "abandoned", "overflow")
        assert all("caller" not in c for c in seen)
        await bridge.drain(5)
        await communicator.disconnect()
