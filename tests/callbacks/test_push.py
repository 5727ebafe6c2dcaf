"""The preview pop: ``callback.offered`` reaches the offered agent's desktop socket only,
through the real Redis pub/sub channel layer and WebsocketCommunicator."""

from __future__ import annotations

import pytest
from channels.auth import AuthMiddlewareStack
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.urls import path

from telephony.callbacks.dispatcher import callbacks_dispatch
from telephony.callbacks.services import desktop_accepts
from telephony.consumers import DesktopConsumer
from tests.callbacks.support import agent_in_seat, capture
from tests.telephony.test_bridge_support import (
    db,
    desktop,
    expect,
    messages_within,
    redis_layer,  # noqa: F401 - fixture
    session_cookie,
)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("redis_layer")]


class OfferAwareDesktop(DesktopConsumer):
    """The desktop consumer with the one handler the callback pop needs (what the telephony
    consumer adds: ``callback_offered`` forwarding the message like the others)."""

    async def callback_offered(self, message: dict) -> None:
        await self._forward(message)


APP = AuthMiddlewareStack(URLRouter([path("ws/desktop/", OfferAwareDesktop.as_asgi())]))


async def _socket(user) -> WebsocketCommunicator:
    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    headers.append((b"cookie", await db(session_cookie)(user)))
    communicator = WebsocketCommunicator(APP, "/ws/desktop/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def test_the_offered_agent_gets_the_pop_and_nobody_else(settings):
    settings.CALLBACKS = {"PUSH_OFFERS": True}

    # given two agents with their desktops open (one idle, one on break) and a callback
    def world():
        return (
            agent_in_seat("1001"),
            agent_in_seat("1002", idle=False),
            capture("+8613800138000", reason="max_wait"),
        )

    idle, busy, callback = await db(world)()
    mine, other = await _socket(idle), await _socket(busy)
    await expect(mine, "agent.status")
    await expect(other, "agent.status")
    # when the dispatcher runs
    report = await db(callbacks_dispatch)()
    assert report.offered == [callback.pk]
    # then the idle agent's desktop shows the callback, number masked for an agent
    message = await expect(mine, "callback.offered")
    pop = message["callback"]
    assert pop["id"] == callback.pk and pop["reason"] == "max_wait"
    assert pop["number"] == "138****8000"
    assert pop["dial_url"] == f"/callbacks/{callback.pk}/dial/"
    # and the other agent's desktop hears nothing
    assert await messages_within(other, 0.5) == []
    await mine.disconnect()
    await other.disconnect()


async def test_the_real_desktop_never_gets_a_type_it_cannot_handle():
    # given the project's desktop socket as it is
    agent, _callback = await db(lambda: (agent_in_seat("1001"), capture()))()
    socket = await desktop(agent)
    await expect(socket, "agent.status")
    # when a callback is offered to the agent
    assert (await db(callbacks_dispatch)()).offered
    if desktop_accepts("callback.offered"):
        # the desktop knows the pop: it arrives
        await expect(socket, "callback.offered")
    else:
        # the pop is held back (the callback waits on the agent's page), the socket lives
        assert await messages_within(socket, 0.5) == []
    await socket.send_json_to({"type": "ping"})
    assert (await socket.receive_json_from(timeout=3))["type"] == "pong"
    await socket.disconnect()
