"""Finance in a real browser: record a payment, then a return with a refund; the payment
records and the returns list show both."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from orders.choices import OrderStatus, PaymentStatus
from orders.models import Order
from tests.browser.conftest import artifacts, browser, page  # noqa: F401 (fixtures)
from tests.factories import TEST_PASSWORD
from tests.orders.finance_factories import add_gift, order_of


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_finance_records_payment_and_return_in_the_browser(live_server, page, make_user, artifacts):  # noqa: F811
    # given a delivered COD order of 2 × 150.00 with a gift, and a finance clerk
    clerk = make_user("finance", username="finance_journey", full_name="周会计")
    order = order_of(OrderStatus.DELIVERED, ("150.00", 2), phone="+8613812345678")
    order_gift = add_gift(order, quantity=1)
    line = order.lines.get()

    try:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", clerk.username)
        page.fill("input[name=password]", TEST_PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page.locator(".userbox .username")).to_have_text("周会计")

        # when the clerk records the courier's remittance of 300.00
        page.goto(f"{live_server.url}/orders/{order.pk}/payments/new/")
        expect(page.locator("input[name=amount]")).to_have_value("300.00")
        page.select_option("select[name=channel]", "cod")
        page.fill("input[name=reference]", "SF-REMIT-0001")
        page.screenshot(path=str(artifacts / "finance-payment-form.png"), full_page=True)
        page.locator("#payment-form button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"/orders/{order.pk}/$"))

        # and one unit and the gift come back, 150.00 refunded by bank transfer
        page.goto(f"{live_server.url}/orders/{order.pk}/returns/new/")
        page.select_option("select[name=reason]", "quality")
        page.fill(f"input[name=line_{line.pk}]", "1")
        page.fill(f"input[name=gift_{order_gift.pk}]", "1")
        page.fill("input[name=refund_amount]", "150.00")
        page.select_option("select[name=refund_channel]", "bank_transfer")
        page.screenshot(path=str(artifacts / "finance-return-form.png"), full_page=True)
        page.locator("#return-form button[type=submit]").click()
        expect(page).to_have_url(re.compile(rf"/orders/{order.pk}/$"))

        # then the payment records show the remittance and the refund, phones masked
        page.goto(f"{live_server.url}/orders/finance/payments/")
        table = page.locator("#payment-table")
        expect(table).to_contain_text("SF-REMIT-0001")
        expect(table).to_contain_text("-150.00")
        expect(table).to_contain_text("138****5678")
        page.screenshot(path=str(artifacts / "finance-payments.png"), full_page=True)

        # and the returns list shows the return
        page.goto(f"{live_server.url}/orders/finance/returns/")
        expect(page.locator("#return-table")).to_contain_text(order.number)
        page.screenshot(path=str(artifacts / "finance-returns.png"), full_page=True)
    except Exception:
        page.screenshot(path=str(artifacts / "finance-journey-failure.png"), full_page=True)
        raise

    order = Order.objects.get(pk=order.pk)
    assert order.paid_amount == 150
    assert order.payment_status == PaymentStatus.PART_PAID
    assert order.status == OrderStatus.DELIVERED
