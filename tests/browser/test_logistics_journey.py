"""A logistics clerk's path in a real browser: export a batch, download its sheet, import a
status sheet through the dry run and apply it."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from logistics.models import Shipment
from orders.choices import OrderStatus
from tests.factories import TEST_PASSWORD
from tests.orders.factories import make_order


@pytest.fixture
def eager_celery():
    from tvshop.celery import app

    before = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager = app.conf.task_eager_propagates = True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = before


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_clerk_exports_downloads_and_imports_statuses(
    live_server, page, make_user, artifacts, eager_celery, settings, tmp_path
):
    from logistics.defaults import courier_templates_load
    from tvshop.catalog.models import Courier

    settings.MEDIA_ROOT = tmp_path
    courier_templates_load()
    sf = Courier.objects.get(code="sf")
    orders = [make_order(courier=sf) for _ in range(3)]
    clerk = make_user("logistics", username="clerk_journey", full_name="物流小王")

    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", clerk.username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator(".userbox .username")).to_have_text("物流小王")

    # export: choose SF, export; the batch is done with 3 orders
    page.goto(f"{live_server.url}/logistics/")
    page.select_option("#export-form select[name=courier]", str(sf.pk))
    page.locator("#export-form button[type=submit]").click()
    row = page.locator("tr.batch").first
    expect(row.locator("td").nth(3)).to_have_text("3")
    with page.expect_download() as info:
        row.locator("a.download").click()
    sheet = load_workbook(io.BytesIO(info.value.path().read_bytes())).active
    numbers = [r[0] for r in sheet.iter_rows(min_row=2, values_only=True)]
    assert sorted(numbers) == sorted(o.number for o in orders)

    # the courier sends back statuses by order number
    workbook = Workbook()
    ws = workbook.active
    ws.append(["顺丰 状态回传"])
    ws.append(["订单号", "快件状态", "时间"])
    ws.append([orders[0].number, "已签收", "2026-11-21 10:00"])
    ws.append([orders[1].number, "拒收", "2026-11-21 11:00"])
    ws.append(["T00000000000000", "已签收", "2026-11-21 11:00"])
    path = tmp_path / "status.xlsx"
    out = io.BytesIO()
    workbook.save(out)
    path.write_bytes(out.getvalue())

    page.goto(f"{live_server.url}/logistics/imports/")
    page.select_option("#import-upload select[name=kind]", "status")
    page.set_input_files("#import-upload input[name=file]", str(path))
    page.locator("#import-upload button[type=submit]").click()
    expect(page.locator("#import-counts .count-change")).to_have_text("2")
    expect(page.locator("#import-counts .count-errors")).to_have_text("1")
    expect(page.locator("tr.import-problem")).to_contain_text("T00000000000000")
    assert Shipment.objects.filter(events__isnull=False).count() == 0
    page.locator("#import-apply button").click()
    expect(page.locator("#import-counts .count-moved")).to_have_text("2")
    page.screenshot(path=str(artifacts / "logistics_journey.png"), full_page=True)
    for order, status in zip(
        orders, (OrderStatus.DELIVERED, OrderStatus.REFUSED, OrderStatus.EXPORTED)
    ):
        order.refresh_from_db()
        assert order.status == status
