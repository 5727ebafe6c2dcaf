"""The wallboard in a real browser: daphne (page + /ws/wallboard/) in its own process, the
simulator over TCP and the ESL bridge in this process, the Redis pub/sub layer between them.

A supervisor opens the wallboard; a caller rings the hotline and the live-calls table, the
trunk tile and the agent grid update without a reload; the supervisor ends the call with
"Force hang-up" and it disappears. Screenshot: test-artifacts/wallboard.png.
"""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from telephony.models import Call, Seat, SeatSession
from tests.browser import conftest as browser_fixtures
from tests.browser import test_desktop_journey as journey
from tests.factories import HotlineFactory, StationFactory, UserFactory

HOTLINE = journey.HOTLINE
browser = browser_fixtures.browser  # fixtures
page = browser_fixtures.page
artifacts = browser_fixtures.artifacts
desk_switch = journey.desk_switch


@pytest.fixture
def daphne_server(desk_switch):
    """daphne serving tvshop.asgi in a forked process (as the desktop journey's fixture,
    with its ``child_application``)."""
    from daphne.testing import DaphneProcess
    from django.db import connections

    before = journey._backends()
    connections.close_all()
    process = DaphneProcess("127.0.0.1", journey.child_application)
    process.start()
    if not process.ready.wait(timeout=20):
        process.terminate()
        raise RuntimeError("daphne did not start")
    try:
        yield f"http://127.0.0.1:{process.port.value}"
    finally:
        process.terminate()
        process.join(10)
        journey._release_database(before)


@pytest.fixture
def own_layer(settings):
    """A channel-layer prefix of this test's own, set before daphne forks: Redis pub/sub
    channels are shared by every Redis database, so another process's ``wallboard`` group
    (a benchmark, another suite) would otherwise reach this page."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {
                "hosts": [{"address": settings.CACHES["default"]["LOCATION"]}],
                "prefix": f"wb{uuid.uuid4().hex[:10]}",
            },
        }
    }


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_wallboard_follows_a_call_and_the_supervisor_ends_it(
    settings, own_layer, artifacts, desk_switch, daphne_server, page
):
    # given a hotline, agent 1001 ready on the switch, and a supervisor
    station = StationFactory(name="湖南卫视")
    HotlineFactory(number=HOTLINE, queue_name="orders", station=station)
    agent = UserFactory(username="wb_agent")
    seat = Seat.objects.create(extension="1001")
    SeatSession.objects.create(seat=seat, user=agent, started_at=timezone.now())
    supervisor = UserFactory(username="wb_super")
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    sim = desk_switch
    from telephony.switch import switch_api

    switch_api("callcenter_config agent set status 1001@default Available")
    bridge = journey.BridgeThread(sim.port)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        client = Client()
        client.force_login(supervisor)
        page.context.add_cookies(
            [
                {
                    "name": settings.SESSION_COOKIE_NAME,
                    "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                    "url": daphne_server,
                }
            ]
        )
        # when the supervisor opens the wallboard
        page.goto(f"{daphne_server}/telephony/wallboard/")
        expect(page.locator("#ws-state")).to_have_attribute("data-state", "connected")
        expect(page.locator("#wb-trunks-used")).to_have_text("0")
        expect(page.locator("#wb-chart canvas")).to_have_count(1)

        # and a caller rings the hotline
        switch_api(f"sim_inbound {HOTLINE} 13800138000 uuid=wb-call-1 patience=600 talk=600")

        # then the call appears live, on one trunk, and seat 1001 turns to talking
        expect(page.locator("#wb-calls tbody tr[data-call]")).to_have_count(1, timeout=15_000)
        call = Call.objects.get(uuid="wb-call-1")
        row = page.locator(f'#wb-calls tbody tr[data-call="{call.pk}"]')
        expect(row).to_have_count(1)
        expect(page.locator("#wb-trunks-used")).to_have_text("1")
        expect(page.locator(f'#wb-seats [data-seat="{seat.pk}"]')).to_have_attribute(
            "data-view", "talking", timeout=15_000
        )
        page.screenshot(path=str(artifacts / "wallboard.png"), full_page=True)

        # when the supervisor forces the hang-up (and confirms)
        page.once("dialog", lambda dialog: dialog.accept())
        row.locator('button[data-mode="hangup"]').click()

        # then the page says so (the server waits for the switch's answer: allow for a busy
        # machine), the call leaves the board and the trunk is free again
        expect(page.locator("#supervise-result")).to_have_attribute("data-ok", "1", timeout=15_000)
        expect(row).to_have_count(0, timeout=15_000)
        expect(page.locator("#wb-trunks-used")).to_have_text("0")

        # when the supervisor forces the agent not ready (issue #6: seat actions)
        seat_tile = page.locator(f'#wb-seats li[data-seat="{seat.pk}"]')
        seat_tile.locator('button[data-action="not_ready"]').click()
        # then the switch has the agent on break and the tile says not ready
        expect(seat_tile).to_have_attribute("data-view", "not_ready", timeout=15_000)
        assert switch_api("callcenter_config agent get status 1001@default") == "On Break"

        # when the supervisor logs the agent out (and confirms)
        page.once("dialog", lambda dialog: dialog.accept())
        seat_tile.locator('button[data-action="logout"]').click()
        expect(seat_tile).to_have_attribute("data-view", "logged_out", timeout=15_000)
        assert switch_api("callcenter_config agent get status 1001@default") == "Logged Out"
        assert not SeatSession.objects.filter(seat=seat, ended_at=None).exists()
        assert errors == []
    finally:
        bridge.stop()
