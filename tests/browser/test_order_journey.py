"""An order's way through the review in a real browser: an agent takes it from the customer
page, a first reviewer approves it, a different second reviewer sets the courier, confirms
the COD amount and approves it; the order is ready to ship."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.test import Client
from playwright.sync_api import expect

from orders.choices import OrderStatus
from orders.models import Order
from tests.factories import ProductFactory
from tests.orders.entry_factories import courier, customer_with_address


def _login(browser, live_server, settings, user):
    client = Client()
    client.force_login(user)
    context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    context.set_default_timeout(15_000)
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            }
        ]
    )
    return context, context.new_page()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_order_taken_then_approved_by_two_reviewers(
    live_server, browser, settings, make_user, artifacts
):
    # given a customer with an address, a product on sale, a courier and three people
    customer = customer_with_address(name="张秀英")
    ProductFactory(sku="SILK-01", name="蚕丝被", price=Decimal("399.00"))
    sf = courier("sf", name="顺丰速运")
    agent = make_user("agent", full_name="李晓燕")
    first = make_user("reviewer1", full_name="王审一")
    second = make_user("reviewer2", full_name="赵审二")
    contexts = []
    shot = None
    try:
        # when the agent opens the customer page and starts a new order
        ctx, page = _login(browser, live_server, settings, agent)
        contexts.append(ctx)
        shot = page
        page.goto(f"{live_server.url}/crm/customers/{customer.pk}/")
        page.locator("#customer-new-order").click()
        expect(page.locator("#order-entry-form")).to_be_visible()
        # and finds the product by SKU, picks it, sets the quantity to 2
        page.fill("#product-search", "SILK")
        page.locator("#product-results .product-pick").first.click()
        line = page.locator("tr.entry-line")
        expect(line).to_have_count(1)
        line.locator("input[name=line_qty]").fill("2")
        line.locator("input[name=line_qty]").dispatch_event("change")
        expect(page.locator("#sum-total")).to_contain_text("798.00")
        # and submits (default address and cash on delivery are preselected)
        page.locator("#order-submit").click()
        expect(page).to_have_url(re.compile(r"/orders/\d+/$"))
        expect(page.locator("#order-status")).to_have_class(re.compile("status-submitted"))
        order = Order.objects.get()
        assert order.total == Decimal("798.00") and order.agent == agent

        # when the first reviewer opens the queue and approves it
        ctx, page = _login(browser, live_server, settings, first)
        contexts.append(ctx)
        shot = page
        page.goto(f"{live_server.url}/orders/review/1/")
        page.locator("tr.queue-row a.review-link", has_text=order.number).click()
        page.locator("#approve-submit").click()
        expect(page).to_have_url(re.compile(r"/orders/review/1/$"))
        expect(page.locator("#review-queue")).not_to_contain_text(order.number)

        # when a different second reviewer sets the courier and confirms the COD amount
        ctx, page = _login(browser, live_server, settings, second)
        contexts.append(ctx)
        shot = page
        page.goto(f"{live_server.url}/orders/review/2/")
        page.locator("tr.queue-row a.review-link", has_text=order.number).click()
        page.select_option("select[name=courier]", str(sf.pk))
        expect(page.locator("input[name=cod_amount]")).to_have_value("798.00")
        page.locator("#approve-submit").click()
        expect(page).to_have_url(re.compile(r"/orders/review/2/$"))

        # then the order shows second-approved (ready to ship)
        page.goto(f"{live_server.url}/orders/{order.pk}/")
        expect(page.locator("#order-status")).to_have_class(re.compile("status-second_approved"))
        expect(page.locator("#order-courier")).to_have_text("顺丰速运")
    finally:
        if shot is not None:
            shot.screenshot(path=str(artifacts / "order_journey.png"), full_page=True)
        for ctx in contexts:
            ctx.close()

    order.refresh_from_db()
    assert order.status == OrderStatus.SECOND_APPROVED
    assert order.first_reviewer == first and order.second_reviewer == second
    assert order.courier == sf and order.cod_amount == Decimal("798.00")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_takes_an_order_for_the_caller_on_the_desktop(
    live_server, browser, settings, make_user, artifacts
):
    # given an agent on a call from a known customer to a hotline of a station
    from django.utils import timezone

    from telephony.models import Call
    from tests.factories import HotlineFactory, StationFactory

    agent = make_user("agent", full_name="李晓燕")
    customer = customer_with_address(name="张秀英")
    ProductFactory(sku="SILK-02", name="蚕丝被", price=Decimal("299.00"))
    hotline = HotlineFactory(station=StationFactory(name="湖南卫视"))
    call = Call.objects.create(
        uuid="desk-order-call-1",
        direction="inbound",
        caller=customer.phones.first().number,
        hotline=hotline,
        station=hotline.station,
        agent=agent,
        customer=customer,
        created_at=timezone.now(),
        offered_at=timezone.now(),
    )
    ctx, page = _login(browser, live_server, settings, agent)
    try:
        # when the desktop shows the pop and the agent clicks "New order"
        page.goto(f"{live_server.url}/telephony/desktop/")
        expect(page.locator("#pop-customer-name")).to_have_text("张秀英")
        page.locator("#desktop-new-order").click()
        # then the entry form opens in the desktop's order panel, for the caller
        form = page.locator("#desktop-order #order-entry-form")
        expect(form).to_be_visible()
        expect(page.locator("#desktop-order #entry-customer")).to_have_text("张秀英")
        # and picking the product and submitting takes the order without leaving the desktop
        page.fill("#product-search", "SILK-02")
        page.locator("#product-results .product-pick").first.click()
        expect(page.locator("tr.entry-line")).to_have_count(1)
        page.locator("#order-submit").click()
        expect(page.locator("#entry-done")).to_be_visible()
        expect(page).to_have_url(re.compile(r"/telephony/desktop/$"))
    finally:
        page.screenshot(path=str(artifacts / "order_desktop.png"), full_page=True)
        ctx.close()

    # and the order remembers the call, its hotline and station
    order = Order.objects.get()
    assert order.call_uuid == call.uuid
    assert order.hotline == hotline and order.station == hotline.station
    assert order.total == Decimal("299.00") and order.agent == agent
