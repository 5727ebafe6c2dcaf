"""The agent desktop in a real browser, end to end: daphne (HTTP + the /ws/desktop/ socket)
in a process of its own, the simulator over TCP and the ESL bridge in this process, the Redis
pub/sub channel layer between them.

An agent logs into a seat, goes ready; the simulator places a call from a known customer and
the card pops without a reload; the call ends and after-call work starts by itself; the agent
clicks Ready and a call from an unknown number shows the new-customer form with the number
filled in (masked). Screenshot: test-artifacts/desktop_pop.png.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from django.db import connections
from django.test import Client
from playwright.sync_api import expect

from telephony.models import Seat
from tests.factories import (
    CustomerFactory,
    CustomerPhoneFactory,
    HotlineFactory,
    ProductFactory,
    StationFactory,
)
from tests.telephony.test_desktop_support import SimulatorThread, sim_config

HOTLINE = "4008001234"
KNOWN = "13800138000"
UNKNOWN = "13911112222"


class BridgeThread:
    """The ESL bridge on an event loop of its own (as ``manage.py esl_bridge`` runs it)."""

    def __init__(self, port: int) -> None:
        from telephony.bridge import Bridge

        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.bridge = self._run(self._make(Bridge, port))
        self._run(self.bridge.start())
        self._run(self.bridge.wait_ready(timeout=10), timeout=15)

    async def _make(self, bridge_class, port):
        return bridge_class(
            "127.0.0.1", port, "ClueCon", workers=2, heartbeat_timeout=None, reconnect_max=0.5
        )

    def _run(self, coro, timeout: float = 10.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        try:
            self._run(self.bridge.stop(), timeout=15)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)


@pytest.fixture
def desk_switch(settings):
    """The simulator (seat 1001's agent, hotline 4008001234 → orders) over TCP, and the
    settings pointing the web code at it — set before daphne forks, so its views use it."""
    sim = SimulatorThread(
        sim_config(
            speed=10.0,
            agents=[{"name": "1001@default", "status": "Logged Out", "answer_delay": 1.0}],
            hotlines=[{"number": HOTLINE, "queue": "orders"}],
        )
    ).start()
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": sim.port,
        "password": "ClueCon",
        "simulated": False,
    }
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def daphne_server(desk_switch):
    """daphne serving tvshop.asgi (static files too) in a forked process, on the test
    database and the simulator above; yields its base URL."""
    from daphne.testing import DaphneProcess

    before = _backends()
    connections.close_all()  # the child must not share this process's database sockets
    process = DaphneProcess("127.0.0.1", child_application)
    process.start()
    if not process.ready.wait(timeout=20):
        process.terminate()
        raise RuntimeError("daphne did not start")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(10)
        _release_database(before)


# The forked daphne's database sessions carry this name, so that the clean-up ends only
# them: the parent's own threads (the bridge's, asgiref's executors) keep their sessions,
# and the next test in this process does not find its connection terminated.
CHILD_APPLICATION_NAME = "tvshop-test-daphne"


def child_application():
    """In the forked daphne process: name its database sessions, and start asgiref's
    executors afresh — the parent may have run async tests whose executor threads do not
    exist in a forked child, and a ``database_sync_to_async`` call there would wait forever."""
    import concurrent.futures
    import os
    import weakref

    from asgiref.sync import SyncToAsync
    from channels.testing.live import make_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    os.environ["PGAPPNAME"] = CHILD_APPLICATION_NAME
    SyncToAsync.single_thread_executor = concurrent.futures.ThreadPoolExecutor(max_workers=1)
    SyncToAsync.context_to_thread_executor = weakref.WeakKeyDictionary()
    return make_application(static_wrapper=ASGIStaticFilesHandler)


def _backends() -> set[int]:
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND application_name = %s",
            [CHILD_APPLICATION_NAME],
        )
        return {row[0] for row in cursor.fetchall()}


def _release_database(before: set[int]) -> None:
    """Wait for the forked daphne's database sessions to end so the test database can be
    dropped; end any it left behind (a terminated child does not always close them)."""
    deadline = time.monotonic() + 5
    while (left := _backends() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    with connections["default"].cursor() as cursor:
        for pid in left:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    connections.close_all()


def _wait(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_goes_ready_and_calls_pop(
    settings, make_user, artifacts, desk_switch, daphne_server, page
):
    # given a hotline with its station and product, a known customer, a seat and an agent
    station = StationFactory(name="湖南卫视")
    product = ProductFactory(name="蚕丝被")
    HotlineFactory(number=HOTLINE, queue_name="orders", station=station, product=product)
    customer = CustomerFactory(name="张秀英", salutation="ms", level="vip")
    CustomerPhoneFactory(customer=customer, number="+86" + KNOWN)
    seat = Seat.objects.create(extension="1001")
    agent = make_user("agent", username="desk_agent", full_name="李晓燕")
    # and the ESL bridge on the switch (the simulator of desk_switch)
    sim = desk_switch
    bridge = BridgeThread(sim.port)
    from telephony.switch import switch_api

    try:
        client = Client()
        client.force_login(agent)
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": daphne_server,
                }
            ]
        )
        # when the agent opens the desktop and logs into seat 1001
        page.goto(f"{daphne_server}/telephony/desktop/")
        expect(page.locator("#ws-state")).to_have_attribute("data-state", "open")
        page.select_option("#id_seat", str(seat.pk))
        page.locator("#seat-login").click()
        expect(page.locator("#seat-extension")).to_contain_text("1001")
        # and goes ready
        page.locator("#btn-ready").click()
        expect(page.locator("#status-panel")).to_have_attribute("data-status", "Available")
        _wait(lambda: sim.agent("1001@default")["status"] == "Available")

        # and the known customer calls the hotline
        switch_api(f"sim_inbound {HOTLINE} {KNOWN} uuid=browser-call-1 patience=600 talk=600")
        # then the card pops without a reload: name, VIP badge, masked number, station
        expect(page.locator("#pop-customer-name")).to_have_text("张秀英", timeout=15_000)
        expect(page.locator("#pop-customer .badge.vip")).to_be_visible()
        expect(page.locator("#pop-caller")).to_have_text("138****8000")
        expect(page.locator("#pop-station")).to_have_text("湖南卫视")
        page.screenshot(path=str(artifacts / "desktop_pop.png"), full_page=True)

        # when that call ends, after-call work starts by itself with its countdown
        # (needs the bridge to keep the app's not-ready reason when the switch confirms
        # "On Break": see the desktop report on telephony.services.calls._agent_changed)
        switch_api("uuid_kill browser-call-1")
        expect(page.locator("#acw-countdown")).to_be_visible()
        expect(page.locator("#status-panel")).to_have_attribute("data-reason", "acw")
        _wait(lambda: sim.agent("1001@default")["status"] == "On Break")
        # and the agent ends it early with Ready, and an unknown number calls
        page.locator("#btn-ready").click()
        expect(page.locator("#status-panel")).to_have_attribute("data-status", "Available")
        _wait(lambda: sim.agent("1001@default")["status"] == "Available")
        switch_api(f"sim_inbound {HOTLINE} {UNKNOWN} uuid=browser-call-2 patience=600 talk=600")
        # then the pop shows the new-customer form with the (masked) number
        expect(page.locator("#new-customer-form")).to_be_visible(timeout=15_000)
        expect(page.locator("#new-customer-number")).to_have_text("139****2222")
        page.screenshot(path=str(artifacts / "desktop_pop_unknown.png"), full_page=True)

        # when the socket drops, the page reconnects; after a reload the pop is back
        page.evaluate("window.tvshopDesktop.drop()")
        expect(page.locator("#ws-state")).to_have_attribute("data-state", "open")
        page.reload()
        expect(page.locator("#ws-state")).to_have_attribute("data-state", "open")
        expect(page.locator("#new-customer-form")).to_be_visible()
    finally:
        bridge.stop()
