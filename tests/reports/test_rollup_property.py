"""Property: for random calls and orders, changed at random and refreshed incrementally,
every roll-up row equals the aggregation computed here in Python from the raw rows."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.models import Order, OrderStatusChange
from telephony.models import Call
from tests.crm.factories import beijing_haidian, make_customer
from tests.factories import HotlineFactory, ProductFactory, UserFactory
from tests.orders.factories import make_order
from tests.reports.helpers import local
from tvshop.catalog.models import Courier
from tvshop.media.models import AiringSlot
from tvshop.reports import rollups, selectors
from tvshop.reports.conf import reports_conf
from tvshop.reports.selectors import Period
from tvshop.reports.services import order_rollups_rebuild, rollups_rebuild, rollups_refresh

pytestmark = pytest.mark.django_db
BASE = local(2026, 11, 20, 22, 0)  # spans local midnight
UTC = dt.UTC

call_st = st.fixed_dictionaries(
    {
        "minute": st.integers(0, 240),
        "second": st.integers(0, 59),
        "hotline": st.integers(0, 2),
        "direction": st.sampled_from(["inbound", "inbound", "inbound", "outbound"]),
        "queued": st.booleans(),
        "offered": st.one_of(st.none(), st.integers(0, 40)),
        "answered": st.one_of(st.none(), st.integers(0, 60)),
        "ended": st.one_of(st.none(), st.integers(0, 400)),
        "outcome": st.sampled_from(["answered", "abandoned", "overflow", "in_progress"]),
        "agent": st.one_of(st.none(), st.integers(0, 1)),
        "customer": st.one_of(st.none(), st.integers(0, 1)),
        "caller": st.integers(0, 3),
        "rona": st.integers(0, 2),
        "transferred": st.booleans(),
    }
)
order_st = st.fixed_dictionaries(
    {
        "minute": st.integers(0, 240),
        "customer": st.integers(0, 1),
        "call": st.one_of(st.none(), st.integers(0, 30)),
        "status": st.sampled_from(
            [
                "submitted",
                "second_approved",
                "shipped",
                "delivered",
                "refused",
                "returned",
                "merged",
            ]
        ),
        "paid": st.booleans(),
        # logistics and finance dimensions
        "courier": st.one_of(st.none(), st.integers(0, 1)),
        "beijing": st.booleans(),
        "cod": st.booleans(),
        "paid_amount": st.sampled_from([0, 40, 99]),
        "refused_before": st.booleans(),
    }
)
change_st = st.fixed_dictionaries(
    {
        "call": st.integers(0, 30),
        "minute": st.integers(0, 240),
        "delete": st.booleans(),
        # a later logistics change of an order: courier, status (refused or delivered), paid
        "order": st.one_of(st.none(), st.integers(0, 7)),
        "courier": st.one_of(st.none(), st.integers(0, 1)),
        "status": st.sampled_from(["shipped", "delivered", "refused", "returned"]),
    }
)


def hour(t: dt.datetime) -> dt.datetime:
    return t.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def secs(a, b):
    return None if a is None or b is None else max(0.0, (a - b).total_seconds())


def expected_tables(slots):
    conf = reports_conf()
    calls = list(Call.objects.order_by("id"))
    station_hour = defaultdict(lambda: [0] * 6)
    station_minute = defaultdict(lambda: [0, 0])
    queue_hour = defaultdict(list)
    agent_hour = defaultdict(lambda: [0, 0.0, 0, 0, 0.0, 0])
    for c in calls:
        h = hour(c.created_at)
        if c.direction == "inbound":
            r = station_hour[(h, c.station_id)]
            r[0] += 1
            r[1] += c.answered_at is not None
            r[2] += c.outcome == "abandoned"
            r[3] += c.outcome == "overflow"
            r[4] += c.outcome == "rejected"
            r[5] += c.outcome == "in_progress"
            m = c.created_at.astimezone(UTC).replace(second=0, microsecond=0)
            station_minute[(m, c.station_id)][0] += 1
            station_minute[(m, c.station_id)][1] += c.answered_at is not None
            if c.queued_at is not None:
                queue_hour[(h, c.queue, c.hotline_id, c.station_id)].append(c)
        if c.agent_id is not None:
            r = agent_hour[(h, c.agent_id)]
            talk = secs(c.ended_at, c.answered_at)
            if c.direction == "inbound":
                r[0] += c.answered_at is not None
                r[1] += talk or 0
            else:
                r[2] += 1
                r[3] += c.answered_at is not None
                r[4] += talk or 0
            r[5] += c.transferred
    queue = {}
    for key, group in queue_hour.items():
        wait_ans = [secs(c.answered_at, c.queued_at) for c in group if c.answered_at]
        wait_ab = [
            secs(c.ended_at, c.queued_at)
            for c in group
            if c.outcome == "abandoned" and c.answered_at is None and c.ended_at is not None
        ]
        talks = [secs(c.ended_at, c.answered_at) for c in group]
        talks = [t for t in talks if t is not None]
        soas = [secs(c.answered_at, c.offered_at) for c in group]
        soas = [t for t in soas if t is not None]
        queue[key] = (
            len(group),
            len(wait_ans),
            round(sum(wait_ans), 3),
            round(max(wait_ans + wait_ab), 3) if wait_ans + wait_ab else None,
            len(talks),
            round(sum(talks), 3),
            len(soas),
            round(sum(soas), 3),
            len(wait_ab),
            sum(1 for w in wait_ab if w >= conf.abandon_threshold_seconds),
            round(sum(wait_ab), 3),
            sum(1 for c in group if c.ring_no_answer_count > 0),
            sum(c.ring_no_answer_count for c in group),
            sum(1 for w in wait_ans if w <= conf.service_level_seconds),
            sum(1 for c in group if c.transferred),
            sum(1 for c in group if c.outcome == "overflow"),
        )
    # orders: station through the call, else the customer's first call within the window
    window = dt.timedelta(minutes=conf.attribution_window_minutes)
    by_uuid = {c.uuid: c for c in calls}
    order_hour = defaultdict(lambda: [0, 0, 0, 0, Decimal("0")])
    order_call = {}
    orders = [o for o in Order.objects.order_by("id") if o.status != "merged"]
    for o in orders:
        call = by_uuid.get(o.call_uuid) if o.call_uuid else None
        if call is None:
            firsts = sorted(
                (
                    c
                    for c in calls
                    if c.customer_id == o.customer_id
                    and c.direction == "inbound"
                    and o.created_at - window <= c.created_at <= o.created_at
                ),
                key=lambda c: (c.created_at, c.id),
            )
            call = firsts[0] if firsts else None
        order_call[o.pk] = call
        station = call.station_id if call else o.station_id
        h = hour(o.created_at)
        for key in ((h, "station", station, None), (h, "agent", None, o.agent_id)):
            r = order_hour[key]
            r[0] += 1
            r[1] += o.status in ("second_approved", "shipped", "delivered", "refused", "returned")
            r[2] += o.status == "delivered"
            r[3] += o.payment_status == "paid"
            r[4] += o.total if o.status == "delivered" else Decimal("0")
    # slots: the latest-starting slot of the station on air or ended within the window
    slot_rows = {}
    for s in slots:
        mine = []
        for c in calls:
            if c.direction != "inbound" or c.station_id != s.station_id:
                continue
            covering = [
                x
                for x in slots
                if x.station_id == c.station_id and x.start <= c.created_at < x.end + window
            ]
            if covering and min(covering, key=lambda x: (-x.start.timestamp(), x.id)).id == s.id:
                mine.append(c)
        ids = {c.id for c in mine}
        slot_orders = [
            o for o in orders if order_call[o.pk] is not None and order_call[o.pk].id in ids
        ]
        slot_rows[s.id] = (
            len(mine),
            len({c.caller for c in mine}),
            sum(1 for c in mine if c.answered_at),
            len(slot_orders),
            sum(1 for o in slot_orders if o.status == "delivered"),
        )
    return {
        "station_hour": {k: tuple(v) for k, v in station_hour.items()},
        "station_minute": {k: tuple(v) for k, v in station_minute.items()},
        "queue_hour": queue,
        "agent_hour": {
            k: (v[0], round(v[1], 3), v[2], v[3], round(v[4], 3), v[5])
            for k, v in agent_hour.items()
        },
        "order_hour": {k: tuple(v) for k, v in order_hour.items()},
        "slots": slot_rows,
    }


def actual_tables():
    def rows(sql):
        with connection.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()

    def r3(v):
        return None if v is None else round(v, 3)

    return {
        "station_hour": {
            (r[0], r[1]): tuple(r[2:])
            for r in rows(
                "SELECT hour, station_id, calls, answered, abandoned, overflow, rejected, "
                "in_progress FROM reports_stationhour"
            )
        },
        "station_minute": {
            (r[0], r[1]): tuple(r[2:])
            for r in rows("SELECT minute, station_id, calls, answered FROM reports_stationminute")
        },
        "queue_hour": {
            tuple(r[:4]): tuple(r3(v) if isinstance(v, float) else v for v in r[4:])
            for r in rows(
                "SELECT hour, queue, hotline_id, station_id, inbound, answered, wait_answered_sum, "
                "wait_max, talk_count, talk_sum, soa_count, soa_sum, abandoned, abandoned_counted, "
                "abandon_wait_sum, rona_calls, rona_events, answered_within_target, transferred, "
                "overflow FROM reports_queuehour"
            )
        },
        "agent_hour": {
            (r[0], r[1]): (r[2], r3(r[3]), r[4], r[5], r3(r[6]), r[7])
            for r in rows(
                "SELECT hour, agent_id, inbound_answered, inbound_talk_sum, outbound_calls, "
                "outbound_answered, outbound_talk_sum, transferred FROM reports_agenthour"
            )
        },
        "order_hour": {
            (r[0], r[1], r[2], r[3]): tuple(r[4:])
            for r in rows(
                "SELECT hour, grain, station_id, agent_id, orders, approved, delivered, paid, "
                "revenue FROM reports_orderhour WHERE grain IN ('station', 'agent')"
            )
        },
        "slots": {
            r[0]: tuple(r[1:])
            for r in rows(
                "SELECT slot_id, calls, unique_callers, answered, orders, delivered "
                "FROM reports_slotstat"
            )
        },
    }


def assert_caller_sketches_exact():
    """Every hour sketch equals the sketch of the raw calls of its hour, every day sketch
    the raw sketch of its local day, and the estimates equal the exact distinct count
    (these few numbers fall in distinct registers: linear counting is exact then)."""
    with connection.cursor() as cur:
        cur.execute("SELECT hour, station_id, sketch::text FROM reports_callerhour")
        hours = {(h, s): bits for h, s, bits in cur.fetchall()}
        cur.execute("SELECT day, station_id, sketch::text FROM reports_callerday")
        days = {(d, s): bits for d, s, bits in cur.fetchall()}
        cur.execute(
            "SELECT date_trunc('hour', created_at, 'UTC'), station_id, count(DISTINCT caller), "
            "(created_at AT TIME ZONE 'Asia/Shanghai')::date FROM telephony_call "
            "WHERE direction = 'inbound' AND station_id IS NOT NULL GROUP BY 1, 2, 4"
        )
        raw_hours = cur.fetchall()
    assert set(hours) == {(h, s) for h, s, _n, _d in raw_hours}
    for (h, s), bits in hours.items():
        raw = _raw_sketch(h, h + dt.timedelta(hours=1))
        assert bits == raw[s]
    local_days = {d for _h, _s, _n, d in raw_hours}
    assert {d for d, _s in days} == local_days
    for day in local_days:
        start = dt.datetime.combine(day, dt.time(), tzinfo=BASE.tzinfo)
        raw = _raw_sketch(start, start + dt.timedelta(days=1))
        assert {s: b for (d, s), b in days.items() if d == day} == raw
        with connection.cursor() as cur:
            cur.execute(
                "SELECT station_id, count(DISTINCT caller) FROM telephony_call "
                "WHERE direction = 'inbound' AND station_id IS NOT NULL AND created_at >= %s "
                "AND created_at < %s GROUP BY 1",
                [start, start + dt.timedelta(days=1)],
            )
            for station, exact in cur.fetchall():
                assert rollups.sketch_estimate(raw[station]) == exact


def _raw_sketch(start, end) -> dict:
    with connection.cursor() as cur:
        cur.execute(rollups.CALLER_RAW, {"start": start, "end": end})
        return dict(cur.fetchall())


@pytest.fixture
def world(db):
    hotlines = [HotlineFactory(), HotlineFactory()]
    hotlines.append(HotlineFactory(station=hotlines[0].station))  # two hotlines, one station
    product = ProductFactory()
    slots = [
        AiringSlot.objects.create(
            station=hotlines[0].station,
            product=product,
            hotline=hotlines[0],
            start=BASE + dt.timedelta(minutes=m),
            end=BASE + dt.timedelta(minutes=m + 5),
        )
        for m in (30, 50, 150)
    ]
    return {
        "couriers": [
            Courier.objects.create(code="p-sf", name="顺丰 P"),
            Courier.objects.create(code="p-ems", name="EMS P"),
        ],
        "hotlines": hotlines,
        "agents": [UserFactory(), UserFactory()],
        "customers": [make_customer(name="甲"), make_customer(name="乙")],
        "slots": slots,
        "product": product,
    }


PERIOD = Period(BASE.date(), BASE.date() + dt.timedelta(days=1))


def assert_order_stats_equal_raw():
    """The logistics (by courier, status, province) and finance tables read from the order
    roll-up equal the raw aggregations that define them."""
    for by in ("courier", "status", "province"):
        rolled = selectors.logistics_stats(period=PERIOD, by=by)
        raw = selectors.logistics_stats_raw(period=PERIOD, by=by)
        assert (rolled.source, raw.source) == ("rollup", "raw")
        assert rolled.rows == raw.rows, by
    assert selectors.finance_stats(period=PERIOD).rows == (
        selectors.finance_stats_raw(period=PERIOD).rows
    )


def _t(minute, second=0):
    return BASE + dt.timedelta(minutes=minute, seconds=second)


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    calls=st.lists(call_st, min_size=0, max_size=30),
    orders=st.lists(order_st, max_size=8),
    changes=st.lists(change_st, max_size=6),
)
def test_rollups_equal_the_raw_aggregation(world, calls, orders, changes):
    Order.objects.all().delete()
    Call.objects.all().delete()
    rollups_refresh()
    made = []
    for i, spec in enumerate(calls):
        at = _t(spec["minute"], spec["second"])
        inbound = spec["direction"] == "inbound"
        hotline = world["hotlines"][spec["hotline"]] if inbound else None
        queued = at + dt.timedelta(seconds=1) if inbound and spec["queued"] else None

        def plus(s, at=at):
            return None if s is None else at + dt.timedelta(seconds=s)

        made.append(
            Call(
                uuid=f"p-{i}",
                direction=spec["direction"],
                caller=f"1390000000{spec['caller']}",
                hotline=hotline,
                station=hotline.station if hotline else None,
                queue=hotline.queue_name if queued else "",
                created_at=at,
                queued_at=queued,
                offered_at=plus(spec["offered"]),
                answered_at=plus(spec["answered"]),
                ended_at=plus(spec["ended"]),
                outcome=spec["outcome"],
                agent=world["agents"][spec["agent"]] if spec["agent"] is not None else None,
                customer=(
                    world["customers"][spec["customer"]] if spec["customer"] is not None else None
                ),
                ring_no_answer_count=spec["rona"],
                transferred=spec["transferred"],
            )
        )
    Call.objects.bulk_create(made)
    made_orders = []
    for spec in orders:
        order = make_order(
            customer=world["customers"][spec["customer"]],
            agent=world["agents"][0],
            status=spec["status"],
            products=[(world["product"], 1, Decimal("99.00"))],
            call_uuid=f"p-{spec['call']}" if spec["call"] is not None else "",
            payment_status="paid" if spec["paid"] else "unpaid",
            payment_method="cod" if spec["cod"] else "prepaid",
            divisions=beijing_haidian() if spec["beijing"] else None,
            courier=world["couriers"][spec["courier"]] if spec["courier"] is not None else None,
            paid_amount=Decimal(spec["paid_amount"]),
        )
        if spec["refused_before"]:
            OrderStatusChange.objects.create(
                order=order, from_status="shipped", to_status="refused", at=_t(spec["minute"])
            )
        Order.objects.filter(pk=order.pk).update(created_at=_t(spec["minute"]))
        made_orders.append(order.pk)
    rollups_refresh()
    assert actual_tables() == expected_tables(world["slots"])
    assert_caller_sketches_exact()
    assert_order_stats_equal_raw()
    # then random later changes, refreshed incrementally
    for change in changes:
        if change["order"] is not None and change["order"] < len(made_orders):
            pk = made_orders[change["order"]]
            courier = change["courier"]
            if change["status"] == "refused":
                OrderStatusChange.objects.create(
                    order_id=pk, from_status="shipped", to_status="refused", at=_t(0)
                )
            Order.objects.filter(pk=pk).exclude(status="merged").update(
                status=change["status"],
                courier=world["couriers"][courier] if courier is not None else None,
                payment_status="paid",
            )
        call = Call.objects.filter(uuid=f"p-{change['call']}").first()
        if call is None:
            continue
        if change["delete"]:
            call.delete()
        else:
            Call.objects.filter(pk=call.pk).update(
                created_at=_t(change["minute"]),
                outcome="answered",
                answered_at=_t(change["minute"], 30),
                ended_at=_t(change["minute"] + 2),
            )
    rollups_refresh()
    expected = expected_tables(world["slots"])
    assert actual_tables() == expected
    assert_caller_sketches_exact()
    assert_order_stats_equal_raw()
    rollups_rebuild()
    assert actual_tables() == expected
    assert_caller_sketches_exact()
    assert_order_stats_equal_raw()
    order_rollups_rebuild()
    assert actual_tables() == expected
    assert_order_stats_equal_raw()
