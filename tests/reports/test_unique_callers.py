"""Unique callers: exact per airing slot, HyperLogLog per station (and in total) over any
period — the same caller on two slots, two days or two stations counts once."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection

from telephony.models import Call
from tests.factories import HotlineFactory, ProductFactory
from tests.reports.helpers import local, make_call
from tvshop.media.models import AiringSlot
from tvshop.reports import rollups
from tvshop.reports.selectors import Period, media_efficiency, slot_efficiency, unique_callers
from tvshop.reports.services import rollups_rebuild, rollups_refresh

pytestmark = pytest.mark.django_db
TWO_DAYS = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 21))


def raw_sketches(start, end) -> dict:
    with connection.cursor() as cur:
        cur.execute(rollups.CALLER_RAW, {"start": start, "end": end})
        return {sid: bits for sid, bits in cur.fetchall()}


def rolled_sketches(period: Period) -> dict:
    with connection.cursor() as cur:
        cur.execute(
            "SELECT station_id, bit_or(sketch)::text FROM reports_callerday "
            "WHERE day >= %s AND day <= %s GROUP BY 1",
            [period.first, period.last],
        )
        return dict(cur.fetchall())


@pytest.fixture
def two_stations():
    a, b = HotlineFactory(), HotlineFactory()
    product = ProductFactory()
    slots = [
        AiringSlot.objects.create(
            station=a.station,
            product=product,
            hotline=a,
            start=local(2026, 11, 20, h, 0),
            end=local(2026, 11, 20, h, 5),
        )
        for h in (20, 22)
    ]
    # one caller on both slots of A, on the next day of A, and on B; one only on A
    make_call(at=local(2026, 11, 20, 20, 1), hotline=a, caller="13900000001")
    make_call(at=local(2026, 11, 20, 22, 1), hotline=a, caller="13900000001")
    make_call(at=local(2026, 11, 21, 9, 0), hotline=a, caller="13900000001")
    make_call(at=local(2026, 11, 20, 22, 2), hotline=a, caller="13900000002")
    make_call(at=local(2026, 11, 20, 23, 59, 59), hotline=b, caller="13900000001")
    make_call(at=local(2026, 11, 21, 0, 0, 1), hotline=b, caller="13900000003")
    make_call(at=local(2026, 11, 20, 20, 3), direction="outbound", caller="13900000009")
    rollups_refresh()
    return {"a": a.station, "b": b.station, "slots": slots}


def test_a_caller_of_two_slots_two_days_and_two_stations_counts_once(two_stations):
    a, b = two_stations["a"].pk, two_stations["b"].pk
    assert unique_callers(period=TWO_DAYS) == {a: 2, b: 2, None: 3}
    assert unique_callers(period=Period(dt.date(2026, 11, 21), dt.date(2026, 11, 21))) == {
        a: 1,
        b: 1,
        None: 2,
    }
    table = media_efficiency(period=TWO_DAYS)
    rows = {r.get("station_id"): r for r in table.rows}
    assert rows[a]["unique_callers"] == 2
    assert rows[a]["calls"] == 4
    assert rows[None]["unique_callers"] == 3  # the total row: not 2 + 2
    assert "HyperLogLog" in table.note
    # per slot exact: the 20:00 slot has caller 1, the 22:00 slot callers 1 and 2
    slots = slot_efficiency(period=TWO_DAYS)
    assert [r["unique_callers"] for r in slots.rows] == [1, 2]


def test_sketches_equal_the_raw_sketch_after_changes_and_rebuild(two_stations):
    start, end = TWO_DAYS.start, TWO_DAYS.end
    assert rolled_sketches(TWO_DAYS) == raw_sketches(start, end)
    # move a call to another day and station, delete another: refreshed incrementally
    call = Call.objects.get(caller="13900000002")
    Call.objects.filter(pk=call.pk).update(created_at=local(2026, 11, 21, 12, 0))
    Call.objects.filter(caller="13900000003").delete()
    rollups_refresh()
    assert rolled_sketches(TWO_DAYS) == raw_sketches(start, end)
    assert unique_callers(period=TWO_DAYS)[two_stations["b"].pk] == 1
    rollups_rebuild()
    assert rolled_sketches(TWO_DAYS) == raw_sketches(start, end)


def test_hour_sketches_are_unions_into_days_in_local_time(two_stations):
    # 23:59:59 and 00:00:01 local are two local days (and UTC 15:00/16:00 hours)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT day, count(*) FROM reports_callerday WHERE station_id = %s GROUP BY 1 "
            "ORDER BY 1",
            [two_stations["b"].pk],
        )
        assert cur.fetchall() == [(dt.date(2026, 11, 20), 1), (dt.date(2026, 11, 21), 1)]


def test_estimate_of_many_callers_is_within_the_stated_error():
    hotline = HotlineFactory()
    at = local(2026, 11, 20, 10, 0)
    distinct = 6000  # above 2.5 x 1024: the HyperLogLog estimator, not linear counting
    Call.objects.bulk_create(
        Call(
            uuid=f"uc-{i}",
            direction="inbound",
            caller=f"139{i % distinct:08d}",
            hotline=hotline,
            station=hotline.station,
            created_at=at + dt.timedelta(seconds=i % 7200),
            outcome="answered",
        )
        for i in range(distinct + 2000)  # 2,000 repeat callers
    )
    rollups_refresh()
    day = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 20))
    estimate = unique_callers(period=day)[hotline.station_id]
    assert abs(estimate - distinct) <= rollups.SKETCH_ERROR * distinct
    assert estimate != distinct * 2  # repeats are not counted again


def test_estimate_small_counts_and_empty():
    assert rollups.sketch_estimate(None) == 0
    one = ["0" * 32] * rollups.SKETCH_REGISTERS
    one[5] = "0" * 31 + "1"
    assert rollups.sketch_estimate("".join(one)) == 1
    assert rollups.SKETCH_ERROR == 0.065
