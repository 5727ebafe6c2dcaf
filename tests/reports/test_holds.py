"""Hold count and average hold of agent statistics, from the bridge's CallHeld/CallUnheld
call events (hand-built here)."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from telephony.models import CallEvent
from tests.factories import HotlineFactory, UserFactory
from tests.reports.helpers import local, make_call
from tvshop.reports.selectors import Period, agent_stats

pytestmark = pytest.mark.django_db
DAY = Period(dt.date(2026, 11, 20), dt.date(2026, 11, 20))
_key = itertools.count()


def event(call, kind, at):
    CallEvent.objects.create(call=call, key=f"hold-{next(_key)}", kind=kind, at=at)


def row_of(user, *, period=DAY, now=None):
    table = agent_stats(period=period, now=now or local(2026, 11, 22))
    return next(r for r in table.rows if r["agent_id"] == user.pk)


@pytest.fixture
def agent_calls():
    hotline, user, other = HotlineFactory(), UserFactory(), UserFactory()
    # call 1: held 30 s, then held again 90 s across the 10:00 hour boundary
    c1 = make_call(
        at=local(2026, 11, 20, 9, 50), hotline=hotline, answered=5, ended=1200, agent=user
    )
    event(c1, "CallHeld", local(2026, 11, 20, 9, 52))
    event(c1, "CallUnheld", local(2026, 11, 20, 9, 52, 30))
    event(c1, "CallHeld", local(2026, 11, 20, 9, 59, 30))
    event(c1, "CallUnheld", local(2026, 11, 20, 10, 1))
    # call 2: held at 23:58 and hung up on hold at 00:03 the next day (open at period end)
    c2 = make_call(
        at=local(2026, 11, 20, 23, 50), hotline=hotline, answered=5, ended=13 * 60, agent=user
    )
    event(c2, "CallHeld", local(2026, 11, 20, 23, 58))
    # another agent's hold does not count for this one
    c3 = make_call(
        at=local(2026, 11, 20, 11, 0), hotline=hotline, answered=5, ended=300, agent=other
    )
    event(c3, "CallHeld", local(2026, 11, 20, 11, 1))
    event(c3, "CallUnheld", local(2026, 11, 20, 11, 2))
    return {"user": user, "other": other, "c2": c2, "hotline": hotline}


def test_hold_count_and_average_across_hours_and_past_the_period_end(agent_calls):
    row = row_of(agent_calls["user"])
    assert row["hold_count"] == 3
    # 30 s + 90 s + the open hold until the call ended (00:03:00 next day: 300 s)
    assert row["hold_avg"] == pytest.approx((30 + 90 + 300) / 3)
    other = row_of(agent_calls["other"])
    assert (other["hold_count"], other["hold_avg"]) == (1, pytest.approx(60))


def test_a_hold_belongs_to_the_day_it_started(agent_calls):
    next_day = Period(dt.date(2026, 11, 21), dt.date(2026, 11, 21))
    rows = agent_stats(period=next_day, now=local(2026, 11, 22)).rows
    assert all(r["hold_count"] == 0 for r in rows)


def test_a_call_still_on_hold_runs_until_now(agent_calls):
    user = agent_calls["user"]
    live = make_call(
        at=local(2026, 11, 20, 15, 0), hotline=agent_calls["hotline"], answered=5, agent=user
    )
    event(live, "CallHeld", local(2026, 11, 20, 15, 1))
    row = row_of(user, now=local(2026, 11, 20, 15, 3))  # on hold for 120 s so far
    assert row["hold_count"] == 3  # 9:52, 9:59:30 and 15:01; 23:58 is after now
    assert row["hold_avg"] == pytest.approx((30 + 90 + 120) / 3)
