"""Helpers for the routing tests (no tests here): a simulator over real TCP whose hotline
matches a Hotline row, and reading its hashes and globals back."""

from __future__ import annotations

import pytest

from telephony.routing.switchlink import pusher
from telephony.switch import switch_api
from tests.telephony.test_desktop_support import PASSWORD, SimulatorThread, sim_config

HOTLINE = "4008001234"
QUEUE = "orders"


def start_simulator(settings, **options) -> SimulatorThread:
    options.setdefault("hotlines", [{"number": HOTLINE, "queue": QUEUE}])
    options.setdefault("agents", [{"name": "1001@default", "status": "Logged Out"}])
    sim = SimulatorThread(sim_config(**options)).start()
    point_at(settings, sim)
    return sim


def point_at(settings, sim: SimulatorThread) -> None:
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": sim.port,
        "password": PASSWORD,
        "simulated": False,
    }


@pytest.fixture
def sim(settings):
    simulator = start_simulator(settings)
    try:
        yield simulator
    finally:
        pusher.flush(5)
        simulator.stop()


def hash_get(realm: str, key: str) -> str:
    return switch_api(f"hash select/{realm}/{key}").strip()


def global_get(name: str) -> str:
    return switch_api(f"global_getvar {name}").strip()


def flushed() -> None:
    assert pusher.flush(10), "the routing pusher did not finish"
