"""Shared fixtures for the bridge and consumer tests (no tests here): the real simulator over
TCP, the bridge on it, the real Redis pub/sub channel layer, logged-in websocket clients."""

from __future__ import annotations

import asyncio
import contextlib
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils import timezone

from telephony.bridge import Bridge
from telephony.models import Seat, SeatSession
from telephony.simulator import SimConfig, SimulatorServer
from tests.factories import (
    CustomerFactory,
    CustomerPhoneFactory,
    HotlineFactory,
    StationFactory,
)

HOTLINE = "4008001234"
QUEUE = "orders"
KNOWN_CALLER = "13800138000"
PASSWORD = "ClueCon"
SPEED = 20.0


def db(func):
    """Run ``func`` on a thread with its own connection, closed afterwards (so no test
    leaves connections behind in executor threads)."""

    def run(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        finally:
            connection.close()

    return sync_to_async(run, thread_sensitive=False)


@pytest.fixture
async def redis_layer(settings):
    """The real Redis pub/sub channel layer, with a prefix of this test's own. Afterwards
    the connection Channels' database_sync_to_async thread opened is closed."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.CACHES["default"]["LOCATION"]}],
                "prefix": f"t{uuid.uuid4().hex[:10]}",
            },
        }
    }
    yield
    await sync_to_async(lambda: connection.close())()


def sim_config(*, on_break: tuple[str, ...] = (), **options) -> SimConfig:
    options.setdefault("speed", SPEED)
    options.setdefault("heartbeat_interval", 0)
    cfg = SimConfig.simple(
        hotlines={HOTLINE: QUEUE},
        agents=["1001@default", "1002@default"],
        port=0,
        password=PASSWORD,
        **options,
    )
    for agent in cfg.agents:
        if agent.name in on_break:
            agent.status = "On Break"
    return cfg


@contextlib.asynccontextmanager
async def switch_and_bridge(cfg: SimConfig, **bridge_options):
    bridge_options.setdefault("workers", 2)
    bridge_options.setdefault("heartbeat_timeout", None)
    # routing provisioning runs on a thread of its own against settings.TELEPHONY_ESL; the
    # tests that want it point that at their simulator and pass True
    bridge_options.setdefault("provision_routing", False)
    bridge_options.setdefault("reconnect_initial", 0.3)
    bridge_options.setdefault("reconnect_max", 0.5)
    async with SimulatorServer(cfg) as server:
        bridge = Bridge("127.0.0.1", server.port, PASSWORD, **bridge_options)
        await bridge.start()
        try:
            await bridge.wait_ready(timeout=10)
            yield server, bridge
        finally:
            await bridge.stop()


def make_world(agents=("agent",)):
    """Hotline 4008001234 → queue orders (station 湖南卫视); seats 1001 and 1002, each held
    by a new user of the given role; a customer owning 13800138000."""
    from tests.factories import UserFactory

    station = StationFactory(name="湖南卫视")
    hotline = HotlineFactory(number=HOTLINE, queue_name=QUEUE, station=station)
    customer = CustomerFactory(name="张秀英", salutation="ms")
    CustomerPhoneFactory(customer=customer, number="+86" + KNOWN_CALLER)
    from django.contrib.auth.models import Group

    users = []
    for index, ext in enumerate(("1001", "1002")):
        seat = Seat.objects.create(extension=ext)
        user = UserFactory(username=f"agent{ext}")
        user.groups.add(Group.objects.get(name=agents[min(index, len(agents) - 1)]))
        SeatSession.objects.create(seat=seat, user=user, started_at=timezone.now())
        users.append(user)
    return {"hotline": hotline, "station": station, "customer": customer, "users": users}


def session_cookie(user) -> bytes:
    client = Client()
    client.force_login(user)
    name = settings.SESSION_COOKIE_NAME
    return f"{name}={client.cookies[name].value}".encode()


async def desktop(user=None) -> WebsocketCommunicator:
    """A connected ``/ws/desktop/`` communicator for ``user`` (anonymous if None)."""
    from tvshop.asgi import application

    headers = [(b"origin", b"http://testserver"), (b"host", b"testserver")]
    if user is not None:
        headers.append((b"cookie", await db(session_cookie)(user)))
    communicator = WebsocketCommunicator(application, "/ws/desktop/", headers=headers)
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def expect(communicator: WebsocketCommunicator, kind: str, timeout: float = 5.0) -> dict:
    """The next message of type ``kind`` (others before it are skipped)."""
    async with asyncio.timeout(timeout):
        while True:
            message = await communicator.receive_json_from(timeout=timeout)
            if message.get("type") == kind:
                return message


async def messages_within(communicator: WebsocketCommunicator, seconds: float) -> list[dict]:
    out = []
    with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
        async with asyncio.timeout(seconds):
            while True:
                out.append(await communicator.receive_json_from(timeout=seconds))
    return out


async def wait_for(predicate, timeout: float = 5.0, interval: float = 0.05):
    """Poll an async predicate until it returns something truthy."""
    async with asyncio.timeout(timeout):
        while True:
            value = await predicate()
            if value:
                return value
            await asyncio.sleep(interval)
