"""Shared helpers for the simulator tests (no tests here): a simulator on an ephemeral port
and a client on it."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from telephony.esl.client import ESLClient
from telephony.esl.events import Event
from telephony.simulator import SimConfig, SimulatorServer

PASSWORD = "ClueCon"


@contextlib.asynccontextmanager
async def running(
    config: SimConfig, fmt: str = "plain"
) -> AsyncIterator[tuple[SimulatorServer, ESLClient]]:
    config.port = 0
    config.password = PASSWORD
    async with SimulatorServer(config) as server:
        client = ESLClient(
            "127.0.0.1",
            server.port,
            PASSWORD,
            event_format=fmt,
            event_names=["ALL"],
            heartbeat_timeout=None,
            command_timeout=10,
            connect_timeout=3,
        )
        await client.connect(timeout=3)
        try:
            yield server, client
        finally:
            await client.close()


def config(**options) -> SimConfig:
    options.setdefault("speed", 50.0)
    options.setdefault("heartbeat_interval", 0)
    agents = options.pop("agents", 2)
    strategy = options.pop("strategy", "longest-idle-agent")
    hotlines = options.pop("hotlines", {"4008001234": "orders"})
    cfg = SimConfig.simple(hotlines=hotlines, agents=agents, strategy=strategy, **options)
    return cfg


async def events_until(
    client: ESLClient, done: Callable[[Event], bool], timeout: float = 5.0
) -> list[Event]:
    """Events (HEARTBEATs skipped) up to and including the first one ``done`` accepts."""
    out: list[Event] = []
    while True:
        event = await client.next_event(timeout=timeout)
        if event.name == "HEARTBEAT":
            continue
        out.append(event)
        if done(event):
            return out


def hangup_complete_of(uuid: str) -> Callable[[Event], bool]:
    return lambda e: e.name == "CHANNEL_HANGUP_COMPLETE" and e.uuid == uuid


def cc(events: list[Event], action: str) -> list[Event]:
    return [e for e in events if e.get("CC-Action") == action]


def names(events: list[Event]) -> list[str]:
    return [e.get("CC-Action") or e.name for e in events]
