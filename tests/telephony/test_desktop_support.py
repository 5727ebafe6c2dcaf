"""Shared helpers for the desktop and click-to-dial tests (no tests here): the simulator
running over real TCP in a thread of its own, settings pointing the web code at it, seats.
"""

from __future__ import annotations

import asyncio
import threading

import pytest

from telephony.models import Seat
from telephony.simulator import SimConfig, SimulatorServer
from telephony.switch import switch_api

PASSWORD = "ClueCon"


class SimulatorThread:
    """A simulator on an ephemeral port, served by an event loop in a daemon thread."""

    def __init__(self, config: SimConfig) -> None:
        config.port = 0
        config.password = PASSWORD
        self.config = config
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.server: SimulatorServer | None = None

    def start(self) -> SimulatorThread:
        self.thread.start()
        self.server = self.run(self._start())
        return self

    async def _start(self) -> SimulatorServer:
        server = SimulatorServer(self.config)
        await server.start()
        return server

    def run(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def stop(self) -> None:
        if self.server is not None:
            self.run(self.server.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)

    def agent(self, name: str) -> dict[str, str]:
        """One row of ``callcenter_config agent list`` as the switch reports it."""
        text = switch_api("callcenter_config agent list")
        lines = [line for line in text.splitlines() if line and line != "+OK"]
        header = lines[0].split("|")
        for line in lines[1:]:
            row = dict(zip(header, line.split("|"), strict=False))
            if row["name"] == name:
                return row
        raise AssertionError(f"agent {name} not in the switch's list:\n{text}")


def sim_config(**options) -> SimConfig:
    options.setdefault("speed", 20.0)
    options.setdefault("heartbeat_interval", 0)
    agents = options.pop("agents", [{"name": "1001@default", "status": "Logged Out"}])
    hotlines = options.pop("hotlines", [{"number": "4008001234", "queue": "orders"}])
    return SimConfig(hotlines=hotlines, agents=agents, **options)


@pytest.fixture
def simulator(settings):
    """The simulator over TCP; the web code (``telephony.switch``) talks to it."""
    sim = SimulatorThread(sim_config()).start()
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": sim.port,
        "password": PASSWORD,
        "simulated": False,
    }
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def dead_switch(settings):
    """Settings pointing at a port where nothing listens."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": port,
        "password": PASSWORD,
        "simulated": False,
    }
    return port


def make_seat(extension: str = "1001", **kwargs) -> Seat:
    return Seat.objects.create(extension=extension, **kwargs)
