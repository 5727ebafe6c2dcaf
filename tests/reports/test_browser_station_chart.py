"""In chromium: the station chart renders its data points and airing-slot marks."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import artifacts, browser, page  # noqa: F401 (fixtures)
from tests.factories import TEST_PASSWORD, HotlineFactory, ProductFactory
from tests.reports.helpers import local, make_call
from tvshop.media.models import AiringSlot
from tvshop.reports.services import rollups_refresh


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_station_chart_renders_points_and_airing_marks(live_server, page, make_user, artifacts):  # noqa: F811
    # given two stations with calls on 2026-11-20 and one airing slot each
    supervisor = make_user("supervisor", username="stats_viewer")
    stations = []
    for n, hour in enumerate((20, 21)):
        hotline = HotlineFactory()
        AiringSlot.objects.create(
            station=hotline.station,
            product=ProductFactory(),
            hotline=hotline,
            start=local(2026, 11, 20, hour, 0),
            end=local(2026, 11, 20, hour, 5),
            cost=Decimal("500"),
        )
        for minute in range(5 + n * 3):
            make_call(at=local(2026, 11, 20, hour, minute), hotline=hotline, answered=3, ended=60)
        stations.append(hotline.station_id)
    rollups_refresh()

    # when the supervisor logs in and opens the media statistics for that day by hour
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", supervisor.username)
    page.fill("input[name=password]", TEST_PASSWORD)
    page.locator("form button[type=submit]").click()
    expect(page.locator(".userbox .username")).to_be_visible()
    query = "&".join(f"stations={s}" for s in stations)
    page.goto(
        f"{live_server.url}/reports/?first=2026-11-20&last=2026-11-20&resolution=hour&{query}"
    )

    # then the chart has drawn both curves (24 points each) and both slots
    chart = page.locator("#station-chart")
    expect(chart).to_have_attribute("data-rendered", "1")
    expect(chart).to_have_attribute("data-points", "48")
    expect(chart).to_have_attribute("data-marks", "2")
    expect(chart.locator("canvas").first).to_be_visible()
    series = page.evaluate(
        "() => window.reportsChart.getOption().series.map(s => s.data.map(p => p[1]))"
    )
    assert sorted((max(s), s.index(max(s))) for s in series) == [(5, 20), (8, 21)]
    marks = page.evaluate(
        "() => window.reportsChart.getOption().series.map(s => s.markArea.data.length)"
    )
    assert marks == [1, 1]
    page.screenshot(path=str(artifacts / "reports-station-chart.png"), full_page=True)
