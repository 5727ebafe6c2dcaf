"""Queue and station KPIs on hand-built call sets whose answers are worked out by hand."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.factories import HotlineFactory
from tests.reports.helpers import local, make_call
from tvshop.reports.selectors import Period, queue_stats, station_curve
from tvshop.reports.services import rollups_refresh

pytestmark = pytest.mark.django_db

T = local(2026, 11, 20, 10, 0, 0)
DAY = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 20))


@pytest.fixture
def hotline():
    return HotlineFactory(queue_name="q1")


@pytest.fixture
def nine_calls(hotline):
    """1–2 answered; 3 abandoned after 3 s (under the 5 s threshold); 4 abandoned after
    45 s; 5 rang one agent without answer (RONA), then answered; 6 answered and
    transferred; 7 answered, still talking; 8 still waiting; 9 captured for callback."""
    h = hotline
    make_call(at=T, hotline=h, queued=0, offered=5, answered=10, ended=70)
    make_call(at=T + dt.timedelta(seconds=60), hotline=h, offered=20, answered=30, ended=150)
    make_call(at=T + dt.timedelta(seconds=100), hotline=h, ended=3, outcome="abandoned")
    make_call(at=T + dt.timedelta(seconds=200), hotline=h, ended=45, outcome="abandoned")
    make_call(
        at=T + dt.timedelta(seconds=300), hotline=h, offered=20, answered=24, ended=84, rona=1
    )
    make_call(
        at=T + dt.timedelta(seconds=400),
        hotline=h,
        offered=1,
        answered=5,
        ended=105,
        transferred=True,
    )
    make_call(at=T + dt.timedelta(seconds=500), hotline=h, offered=5, answered=10)
    make_call(at=T + dt.timedelta(seconds=600), hotline=h)
    make_call(at=T + dt.timedelta(seconds=700), hotline=h, ended=60, outcome="overflow")
    rollups_refresh()
    return h


def _row(table, key):
    return next(r for r in table.rows if r["key"] == key)


def test_queue_kpis_by_hand(nine_calls):
    # when the queue table for the day is read from the roll-up
    table = queue_stats(period=DAY, threshold=5, target=20)
    # then every KPI is what the definitions give
    assert table.source == "rollup"
    row = _row(table, "q1")
    assert row["inbound"] == 9
    assert row["answered"] == 5
    assert row["avg_wait"] == pytest.approx(79 / 5)  # 10 + 30 + 24 + 5 + 10
    assert row["max_wait"] == pytest.approx(45)  # the long abandon
    assert row["avg_talk"] == pytest.approx(340 / 4)  # 60 + 120 + 60 + 100; 7 is still on
    assert row["avg_soa"] == pytest.approx(28 / 5)  # 5 + 10 + 4 + 4 + 5
    assert row["abandoned"] == 2
    assert row["abandoned_counted"] == 1  # the 3 s abandon is under the threshold
    assert row["abandon_rate"] == pytest.approx(1 / 9)
    assert row["avg_abandon"] == pytest.approx((3 + 45) / 2)
    assert row["rona_calls"] == 1
    assert row["service_level"] == pytest.approx(3 / 5)  # waits 10, 5, 10 ≤ 20
    assert row["within_target_of_offered"] == pytest.approx(3 / 9)
    assert row["transferred"] == 1
    assert row["overflow"] == 1
    total = table.rows[-1]
    assert total["total"] and total["inbound"] == 9


def test_other_threshold_and_target_are_answered_from_the_raw_calls(nine_calls):
    table = queue_stats(period=DAY, threshold=2, target=30)
    assert table.source == "raw"
    row = _row(table, "q1")
    assert row["abandoned_counted"] == 2  # 3 s now counts
    assert row["service_level"] == pytest.approx(5 / 5)
    # and the raw path agrees with the roll-up where both apply
    raw_default = queue_stats(period=DAY, threshold=5, target=21)
    rolled = queue_stats(period=DAY, threshold=5, target=20)
    for key in ("inbound", "answered", "avg_wait", "max_wait", "avg_talk", "abandon_rate"):
        assert _row(raw_default, "q1")[key] == pytest.approx(_row(rolled, "q1")[key])


def test_calls_count_in_the_hour_and_day_they_started(hotline):
    # a call at 23:59:30 talking past midnight, one at 10:59:59 and one at 11:00:00
    make_call(at=local(2026, 11, 20, 23, 59, 30), hotline=hotline, answered=20, ended=150)
    make_call(at=local(2026, 11, 20, 10, 59, 59), hotline=hotline, answered=2, ended=10)
    make_call(at=local(2026, 11, 20, 11, 0, 0), hotline=hotline, answered=2, ended=10)
    rollups_refresh()
    two_days = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 21))
    by_day = queue_stats(period=two_days, group="day")
    assert [(r["key"], r["inbound"]) for r in by_day.rows[:-1]] == [("2026-11-20", 3)]
    assert _row(by_day, "2026-11-20")["avg_talk"] == pytest.approx((130 + 8 + 8) / 3)
    by_hour = queue_stats(period=DAY, group="hour")
    assert [(r["key"], r["inbound"]) for r in by_hour.rows[:-1]] == [
        ("2026-11-20 10:00", 1),
        ("2026-11-20 11:00", 1),
        ("2026-11-20 23:00", 1),
    ]
    curve = station_curve(period=two_days, stations=[hotline.station_id], resolution="day")
    assert curve["series"][0]["data"] == [3, 0]
    hourly = station_curve(period=DAY, stations=[hotline.station_id], resolution="hour")
    assert len(hourly["buckets"]) == 24
    assert hourly["series"][0]["data"][10] == 1 and hourly["series"][0]["data"][23] == 1


def test_a_changed_call_moves_between_hours_and_both_are_recomputed(hotline):
    call = make_call(at=local(2026, 11, 20, 9, 30), hotline=hotline, answered=5, ended=20)
    rollups_refresh()
    call.created_at = local(2026, 11, 20, 14, 30)
    call.save(update_fields=["created_at"])
    rollups_refresh()
    curve = station_curve(period=DAY, stations=[hotline.station_id], resolution="hour")
    assert curve["series"][0]["data"][9] == 0
    assert curve["series"][0]["data"][14] == 1


def test_week_and_month_buckets_use_local_boundaries(hotline):
    # Monday 2026-11-23 00:30 local is Sunday 16:30 UTC
    make_call(at=local(2026, 11, 23, 0, 30), hotline=hotline, answered=5, ended=20)
    make_call(at=local(2026, 12, 1, 0, 10), hotline=hotline, answered=5, ended=20)
    rollups_refresh()
    period = Period(dt.date(2026, 11, 16), dt.date(2026, 12, 6))
    weeks = station_curve(period=period, stations=[hotline.station_id], resolution="week")
    assert [b[:10] for b in weeks["buckets"]] == ["2026-11-16", "2026-11-23", "2026-11-30"]
    assert weeks["series"][0]["data"] == [0, 1, 1]
    months = station_curve(period=period, stations=[hotline.station_id], resolution="month")
    assert months["series"][0]["data"] == [1, 1]
