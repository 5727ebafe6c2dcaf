"""An agent's daily path in a real browser: log in, find a caller by part of the number,
open the customer page, write a service record."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from crm.choices import ContactChannel
from crm.models import ServiceRecord
from tests.factories import TEST_PASSWORD, CustomerFactory, CustomerPhoneFactory


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_agent_finds_customer_by_partial_number_and_adds_a_service_record(
    live_server, page, make_user, artifacts
):
    # given an agent and a few customers, one of them the caller
    agent = make_user("agent", username="agent_journey", full_name="李晓燕")
    caller = CustomerFactory(name="张秀英", salutation="ms")
    CustomerPhoneFactory(customer=caller, number="+8615967342198")
    for i, name in enumerate(["王建国", "刘丽", "陈伟"]):
        CustomerPhoneFactory(customer=CustomerFactory(name=name), number=f"+861381234{i:04d}")
    note = "客户来电询问蚕丝被的发货时间，已告知明天发货。"

    try:
        # when the agent logs in through the login form (the page speaks Chinese)
        page.goto(f"{live_server.url}/accounts/login/")
        expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
        expect(page.get_by_text("用户名")).to_be_visible()
        page.fill("input[name=username]", agent.username)
        page.fill("input[name=password]", TEST_PASSWORD)
        page.locator("form button[type=submit]").click()
        expect(page.locator(".userbox .username")).to_have_text("李晓燕")

        # and searches customers by part of the caller's number
        page.goto(f"{live_server.url}/crm/customers/")
        page.fill("#customer-search", "6734219")
        page.locator("#customer-search").press("Enter")
        rows = page.locator("tr.customer-row")
        expect(rows).to_have_count(1)
        expect(rows.first).to_contain_text("张秀英")

        # and opens the customer page
        rows.first.get_by_role("link", name="张秀英").click()
        expect(page).to_have_url(re.compile(rf"/crm/customers/{caller.pk}/$"))
        expect(page.locator("#customer-name")).to_contain_text("张秀英")

        # and adds a service record in the htmx fragment
        content = page.locator("textarea[name=content]")
        expect(content).to_be_visible()
        content.fill(note)
        page.select_option("select[name=channel]", ContactChannel.INBOUND_CALL.value)
        page.locator("#add-service-record").click()

        # then the record appears on the page
        expect(page.locator("tr.service-record").filter(has_text=note)).to_be_visible()
    finally:
        page.screenshot(path=str(artifacts / "agent_journey.png"), full_page=True)

    # and it is in the database, by this agent, for this customer
    record = ServiceRecord.objects.get(customer=caller)
    assert record.content == note
    assert record.agent_id == agent.pk
    assert record.channel == ContactChannel.INBOUND_CALL
