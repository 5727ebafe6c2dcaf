"""The callback preview pop in a real browser (issue #6): daphne (page + /ws/desktop/) in its
own process, the simulator over TCP, the Redis pub/sub layer. A callback offered to the agent
pops on the desktop without a reload, with the customer, the masked number and the reason;
"Call back now" dials it through click-to-dial (the simulator rings the agent's phone).
Screenshot: test-artifacts/desktop_callback.png."""

from __future__ import annotations

import threading

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from playwright.sync_api import expect

from telephony.callbacks.models import CallbackAttempt, CallbackRequest
from telephony.callbacks.services import callback_capture, callback_offer
from telephony.models import Seat, SeatSession
from tests.factories import CustomerFactory, CustomerPhoneFactory, HotlineFactory, StationFactory
from tests.telephony import test_wallboard_browser as wb

browser = wb.browser  # fixtures
page = wb.page
artifacts = wb.artifacts
desk_switch = wb.desk_switch
daphne_server = wb.daphne_server
own_layer = wb.own_layer

KNOWN = "13800138000"


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_callback_offer_pops_and_is_dialled_from_the_desktop(
    settings, own_layer, artifacts, desk_switch, daphne_server, page, make_user
):
    station = StationFactory(name="湖南卫视")
    hotline = HotlineFactory(number=wb.HOTLINE, queue_name="orders", station=station)
    customer = CustomerFactory(name="张秀英", salutation="ms")
    CustomerPhoneFactory(customer=customer, number="+86" + KNOWN)
    seat = Seat.objects.create(extension="1001")
    agent = make_user("agent", username="cb_agent")
    SeatSession.objects.create(seat=seat, user=agent, started_at=timezone.now())
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

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
    page.goto(f"{daphne_server}/telephony/desktop/")
    expect(page.locator("#ws-state")).to_have_attribute("data-state", "open")
    expect(page.locator("#callback-offer")).to_be_hidden()

    # when the dispatcher hands the agent a callback captured during the surge
    # (on a thread of its own, as the dispatcher runs: Playwright's sync API holds an event
    # loop in this thread, where async_to_sync cannot send)
    def dispatch():
        from django.db import connection

        try:
            captured = callback_capture(
                number=KNOWN,
                call_uuid="cb-browser-1",
                hotline_id=hotline.pk,
                station_id=None,
                captured_at=timezone.now(),
                reason="overflow_switch",
            )
            with transaction.atomic():
                request = CallbackRequest.objects.select_for_update().get(pk=captured.pk)
                callback_offer(request=request, agent=agent)
            out.append(request)
        finally:
            connection.close()

    out: list = []
    worker = threading.Thread(target=dispatch)
    worker.start()
    worker.join(20)
    [request] = out
    captured = request

    # then it pops without a reload: customer, masked number, station, reason
    box = page.locator("#callback-offer")
    expect(box).to_be_visible(timeout=15_000)
    expect(box).to_have_attribute("data-callback-id", str(captured.pk))
    expect(box).to_contain_text("张秀英")
    expect(box).to_contain_text("湖南卫视")
    expect(box.locator(".callback-number")).not_to_contain_text(KNOWN)  # masked for agents
    page.screenshot(path=str(artifacts / "desktop_callback.png"), full_page=True)

    # when the agent clicks "Call back now": the switch rings the agent's phone
    page.locator("#callback-dial").click()
    expect(page.locator("#callback-dial-result")).to_have_attribute("data-result", "ok")
    request.refresh_from_db()
    assert request.status == "dialling"
    assert CallbackAttempt.objects.filter(request=request, agent=agent).count() == 1
    assert errors == []
