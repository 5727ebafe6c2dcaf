"""Media efficiency with airing-slot attribution, the funnel, and agent statistics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from orders.models import Order, OrderStatusChange
from telephony.models import AgentStatusChange, Seat, SeatSession
from tests.crm.factories import make_customer
from tests.factories import HotlineFactory, ProductFactory, UserFactory
from tests.orders.factories import make_order
from tests.reports.helpers import local, make_call
from tvshop.media.models import AiringSlot
from tvshop.reports.selectors import (
    Period,
    agent_stats,
    funnel,
    media_efficiency,
    slot_efficiency,
)
from tvshop.reports.services import rollups_refresh

pytestmark = pytest.mark.django_db
DAY = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 20))


def _order(*, at, **kwargs) -> Order:
    order = make_order(**kwargs)
    Order.objects.filter(pk=order.pk).update(created_at=at)
    order.refresh_from_db()
    return order


@pytest.fixture
def airing():
    hotline = HotlineFactory()
    station = hotline.station
    product = ProductFactory()
    slot_a = AiringSlot.objects.create(
        station=station,
        product=product,
        hotline=hotline,
        cost=Decimal("1000.00"),
        start=local(2026, 11, 20, 20, 0),
        end=local(2026, 11, 20, 20, 5),
    )
    slot_b = AiringSlot.objects.create(
        station=station,
        product=product,
        hotline=hotline,
        cost=Decimal("500.00"),
        start=local(2026, 11, 20, 20, 20),
        end=local(2026, 11, 20, 20, 25),
    )
    x, y, z = make_customer(name="X"), make_customer(name="Y"), make_customer(name="Z")
    c = {}
    c[1] = make_call(at=local(2026, 11, 20, 19, 59), hotline=hotline, answered=5, ended=60)
    c[2] = make_call(
        at=local(2026, 11, 20, 20, 2),
        hotline=hotline,
        answered=5,
        ended=60,
        customer=x,
        caller="13911110000",
    )
    c[3] = make_call(
        at=local(2026, 11, 20, 20, 10),
        hotline=hotline,
        answered=5,
        ended=60,
        customer=y,
        caller="13911110000",
    )
    c[4] = make_call(
        at=local(2026, 11, 20, 20, 21),
        hotline=hotline,
        answered=5,
        ended=60,
        customer=z,
        caller="13922220000",
    )
    c[5] = make_call(at=local(2026, 11, 20, 21, 0), hotline=hotline, ended=30, outcome="overflow")
    agent = UserFactory()
    o1 = _order(
        at=local(2026, 11, 20, 20, 4),
        customer=x,
        call_uuid=c[2].uuid,
        status="delivered",
        agent=agent,
    )
    _order(at=local(2026, 11, 20, 20, 15), customer=y, status="submitted", agent=agent)
    _order(
        at=local(2026, 11, 20, 20, 23),
        customer=z,
        call_uuid=c[4].uuid,
        status="second_approved",
        agent=agent,
    )
    rollups_refresh()
    return {"station": station, "a": slot_a, "b": slot_b, "calls": c, "o1": o1, "agent": agent}


def test_slots_get_the_calls_on_air_or_within_the_window_and_their_orders(airing):
    table = slot_efficiency(period=DAY)
    a, b = table.rows
    assert (a["slot_id"], b["slot_id"]) == (airing["a"].pk, airing["b"].pk)
    # c2 on air, c3 10 min after the end; c4 is B's (started later); c1 before, c5 after
    assert (a["calls"], a["unique_callers"], a["orders"]) == (2, 1, 2)
    assert (a["approved"], a["delivered"], a["revenue"]) == (1, 1, airing["o1"].total)
    assert (b["calls"], b["orders"], b["approved"], b["delivered"]) == (1, 1, 1, 0)
    assert a["cost_per_call"] == Decimal("500.00")
    assert a["cost_per_order"] == Decimal("500.00")
    assert a["cost_per_delivered"] == Decimal("1000.00")
    assert "30" in table.note


def test_station_efficiency_sums_calls_orders_cost(airing):
    table = media_efficiency(period=DAY)
    row = table.rows[0]
    assert row["station_id"] == airing["station"].pk
    assert (row["calls"], row["answered"], row["overflow"]) == (5, 4, 1)
    assert (row["orders"], row["approved"], row["delivered"]) == (3, 2, 1)
    assert row["cost"] == Decimal("1500.00")
    assert row["revenue"] == airing["o1"].total
    assert row["cost_per_call"] == Decimal("300.00")
    assert row["cost_per_order"] == Decimal("500.00")
    assert row["roas"] == (airing["o1"].total / Decimal("1500")).quantize(Decimal("0.01"))
    # distinct callers of the station's 5 calls (c1 and c5 share one number, c2 and c3
    # another), not the sum over its slots (1 in A + 1 in B)
    assert row["unique_callers"] == 3


def test_a_later_delivery_updates_the_funnel_and_slot(airing):
    order = Order.objects.get(call_uuid=airing["calls"][4].uuid)
    Order.objects.filter(pk=order.pk).update(status="shipped")
    OrderStatusChange.objects.create(
        order=order, from_status="shipped", to_status="delivered", at=local(2026, 11, 23, 10, 0)
    )
    Order.objects.filter(pk=order.pk).update(status="delivered", payment_status="paid")
    rollups_refresh()
    row = funnel(period=DAY, by="station").rows[0]
    assert (row["calls"], row["answered"], row["orders"]) == (5, 4, 3)
    assert (row["approved"], row["shipped"], row["delivered"], row["paid"]) == (2, 2, 2, 1)
    b = slot_efficiency(period=DAY).rows[1]
    assert b["delivered"] == 1
    agent_row = funnel(period=DAY, by="agent").rows
    assert any(r["orders"] == 3 for r in agent_row)


def test_an_order_entered_hours_after_its_call_counts_for_the_calls_slot(airing):
    late = _order(
        at=local(2026, 11, 20, 23, 30),  # 3 h after c2 (slot A), far outside the window
        customer=airing["calls"][2].customer,
        call_uuid=airing["calls"][2].uuid,
        status="submitted",
        agent=airing["agent"],
    )
    rollups_refresh()
    assert slot_efficiency(period=DAY).rows[0]["orders"] == 3
    # delivered days later: only the order's hour is logged, the slot still follows
    Order.objects.filter(pk=late.pk).update(status="delivered")
    rollups_refresh()
    a = slot_efficiency(period=DAY).rows[0]
    assert (a["orders"], a["delivered"]) == (3, 2)


def test_moving_a_slot_reattributes_its_calls(airing):
    slot = airing["b"]
    slot.start, slot.end = local(2026, 11, 20, 22, 0), local(2026, 11, 20, 22, 5)
    slot.save()
    rollups_refresh()
    a, b = slot_efficiency(period=DAY).rows
    assert (a["calls"], b["calls"]) == (3, 0)  # c4 is now within A's window


def test_agent_statistics(hotline_agent):
    user, _seat = hotline_agent
    row = next(
        r for r in agent_stats(period=DAY, now=local(2026, 11, 21)).rows if r["agent_id"] == user.pk
    )
    assert row["login"] == pytest.approx(3 * 3600)
    assert row["aux"] == pytest.approx(15 * 60)  # the break; ACW is not AUX
    assert row["aux_count"] == 1
    assert row["acw_avg"] == pytest.approx(30)
    assert row["answered"] == 2
    assert row["talk"] == pytest.approx(180)
    assert row["outbound"] == 1 and row["outbound_talk"] == pytest.approx(40)
    assert row["idle"] == pytest.approx(3 * 3600 - 180 - 40 - 900)
    assert row["hold_count"] == 0


@pytest.fixture
def hotline_agent():
    hotline = HotlineFactory()
    user = UserFactory()
    seat = Seat.objects.create(extension="1901")
    SeatSession.objects.create(
        seat=seat, user=user, started_at=local(2026, 11, 20, 9), ended_at=local(2026, 11, 20, 12)
    )
    for at, status, reason in [
        (local(2026, 11, 20, 9), "Available", ""),
        (local(2026, 11, 20, 10), "On Break", "break"),
        (local(2026, 11, 20, 10, 15), "Available", ""),
        (local(2026, 11, 20, 10, 30), "On Break", "acw"),
        (local(2026, 11, 20, 10, 30, 30), "Available", ""),
        (local(2026, 11, 20, 12), "Logged Out", ""),
    ]:
        AgentStatusChange.objects.create(
            seat=seat, user=user, status=status, reason=reason, source="app", at=at
        )
    make_call(at=local(2026, 11, 20, 9, 10), hotline=hotline, answered=5, ended=65, agent=user)
    make_call(at=local(2026, 11, 20, 9, 20), hotline=hotline, answered=5, ended=125, agent=user)
    make_call(
        at=local(2026, 11, 20, 11, 0),
        direction="outbound",
        queued=None,
        answered=10,
        ended=50,
        agent=user,
        outcome="answered",
    )
    rollups_refresh()
    return user, seat


def test_deleting_a_call_reattributes_its_order_to_the_customers_first_call():
    # given an order taken 2.5 h after its call, and the customer's other call 20 min before
    first, second = HotlineFactory(), HotlineFactory()
    customer = make_customer(name="W")
    gone = make_call(
        at=local(2026, 11, 20, 22, 0), hotline=first, answered=2, ended=9, customer=customer
    )
    make_call(at=local(2026, 11, 21, 0, 20), hotline=second, answered=2, ended=9, customer=customer)
    _order(
        at=local(2026, 11, 21, 0, 40), customer=customer, call_uuid=gone.uuid, status="submitted"
    )
    rollups_refresh()
    day = Period(dt.date(2026, 11, 21), dt.date(2026, 11, 21))
    assert [r["station_id"] for r in media_efficiency(period=day).rows[:-1] if r["orders"]] == [
        first.station_id
    ]
    # when the call record is deleted
    gone.delete()
    rollups_refresh()
    # then the order belongs to the station of the customer's call within the window
    assert [r["station_id"] for r in media_efficiency(period=day).rows[:-1] if r["orders"]] == [
        second.station_id
    ]
