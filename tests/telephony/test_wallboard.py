"""The supervisor wallboard: the snapshot from hand-built seats and calls, the page and its
permission, the overflow switch read from the simulator over TCP."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from telephony.choices import AgentState, AgentStatus, CallDirection, CallOutcome, NotReadyReason
from telephony.models import Call, Seat, SeatSession
from telephony.supervision import selectors
from telephony.switch import switch_api
from tests.factories import HotlineFactory, StationFactory, UserFactory
from tests.telephony import test_desktop_support as support

pytestmark = pytest.mark.django_db
simulator = support.simulator  # fixture
dead_switch = support.dead_switch  # fixture


@pytest.fixture(autouse=True)
def _no_cached_overflow():
    from django.core.cache import cache

    cache.delete(selectors.OVERFLOW_CACHE_KEY)
    yield
    cache.delete(selectors.OVERFLOW_CACHE_KEY)


NOW = dt.datetime(2026, 11, 22, 12, 30, 15, tzinfo=dt.UTC)  # 20:30 in Shanghai


def _seat(ext: str, *, user=None, status=AgentStatus.LOGGED_OUT, state=AgentState.IDLE, **kw):
    seat = Seat.objects.create(
        extension=ext, status=status, state=state, status_at=kw.pop("status_at", None), **kw
    )
    if user is not None:
        SeatSession.objects.create(seat=seat, user=user, started_at=NOW - dt.timedelta(hours=1))
    return seat


def _call(uuid: str, hotline, *, created, **kw) -> Call:
    return Call.objects.create(
        uuid=uuid,
        direction=kw.pop("direction", CallDirection.INBOUND),
        caller=kw.pop("caller", "+8613800138000"),
        dialled=hotline.number if hotline else "",
        hotline=hotline,
        station=hotline.station if hotline else None,
        created_at=created,
        **kw,
    )


@pytest.fixture
def center():
    """Two hotlines on two stations; four seats in every state; calls live and finished."""
    hunan = StationFactory(name="湖南卫视")
    zhejiang = StationFactory(name="浙江卫视")
    h1 = HotlineFactory(number="4008001111", queue_name="orders", station=hunan)
    h2 = HotlineFactory(number="4008002222", queue_name="vip", station=zhejiang)
    talking_user = UserFactory(username="talker", first_name="Li", last_name="")
    ready_user = UserFactory(username="ready")
    break_user = UserFactory(username="onbreak")
    talking = _seat(
        "1001",
        user=talking_user,
        status=AgentStatus.AVAILABLE,
        state=AgentState.IN_A_QUEUE_CALL,
        status_at=NOW - dt.timedelta(minutes=30),
        state_at=NOW - dt.timedelta(seconds=95),
    )
    _seat(
        "1002",
        user=ready_user,
        status=AgentStatus.AVAILABLE,
        state=AgentState.WAITING,
        status_at=NOW - dt.timedelta(minutes=3),
    )
    _seat(
        "1003",
        user=break_user,
        status=AgentStatus.ON_BREAK,
        reason=NotReadyReason.BREAK,
        status_at=NOW - dt.timedelta(minutes=7),
    )
    _seat("1004")  # nobody, logged out
    _seat("1099", active=False)  # retired: not shown
    t = NOW - dt.timedelta(minutes=2)
    # live on h1: one talking (waited 12 s), two waiting (queued 80 s and 30 s ago)
    _call(
        "live-talk",
        h1,
        created=t,
        queued_at=t,
        answered_at=t + dt.timedelta(seconds=12),
        seat=talking,
        agent=talking_user,
    )
    _call(
        "live-wait-1",
        h1,
        created=NOW - dt.timedelta(seconds=85),
        queued_at=NOW - dt.timedelta(seconds=80),
    )
    _call(
        "live-wait-2",
        h1,
        created=NOW - dt.timedelta(seconds=31),
        queued_at=NOW - dt.timedelta(seconds=30),
    )
    # live on h2: in the IVR, not queued yet
    _call("live-ivr", h2, created=NOW - dt.timedelta(seconds=3))
    # finished today on h1: answered within 20 s, answered after 45 s, abandoned, overflow
    early = NOW - dt.timedelta(hours=2)
    for uuid, waited, outcome in (
        ("done-fast", 5, CallOutcome.ANSWERED),
        ("done-slow", 45, CallOutcome.ANSWERED),
        ("done-abandoned", None, CallOutcome.ABANDONED),
        ("done-overflow", None, CallOutcome.OVERFLOW),
    ):
        _call(
            uuid,
            h1,
            created=early,
            queued_at=early,
            answered_at=early + dt.timedelta(seconds=waited) if waited is not None else None,
            ended_at=early + dt.timedelta(minutes=3),
            outcome=outcome,
        )
    # yesterday (Shanghai): not in today's figures
    yesterday = NOW - dt.timedelta(hours=21)
    _call(
        "old",
        h1,
        created=yesterday,
        queued_at=yesterday,
        answered_at=yesterday,
        ended_at=yesterday,
        outcome=CallOutcome.ANSWERED,
    )
    # an ended call whose outcome was never set is not live
    _call("ended-no-outcome", h2, created=NOW - dt.timedelta(minutes=5), ended_at=NOW)
    return {"h1": h1, "h2": h2, "talking": talking, "talking_user": talking_user}


def test_snapshot_counts_trunks_queues_agents_and_today(center):
    # when the wallboard is built at NOW (without asking a switch)
    snap = selectors.wallboard_snapshot(now=NOW, ask_switch=False)

    # then the four live calls hold four of the 90 trunk channels
    assert snap["trunks"] == {"in_use": 4, "capacity": 90}
    assert {c["uuid"] for c in snap["live_calls"]} == {
        "live-talk",
        "live-wait-1",
        "live-wait-2",
        "live-ivr",
    }
    # and the agent grid shows the active seats, each in its state, with who holds it
    seats = {s["extension"]: s for s in snap["seats"]}
    assert list(seats) == ["1001", "1002", "1003", "1004"]
    assert {ext: s["view"] for ext, s in seats.items()} == {
        "1001": "talking",
        "1002": "ready",
        "1003": "not_ready",
        "1004": "logged_out",
    }
    assert seats["1001"]["agent_name"] == "Li"
    assert seats["1001"]["since"] == (NOW - dt.timedelta(seconds=95)).isoformat()
    assert seats["1001"]["call_id"] == Call.objects.get(uuid="live-talk").pk
    assert seats["1003"]["reason"] == "break"
    assert seats["1004"]["user_id"] is None
    assert snap["agents"] == {
        "logged_in": 3,
        "idle": 1,
        "talking": 1,
        "ringing": 0,
        "not_ready": 1,
        "acw": 0,
    }
    # and per hotline: waiting callers, the longest wait, today's outcomes, service level
    queues = {q["number"]: q for q in snap["queues"]}
    h1 = queues["4008001111"]
    assert (h1["waiting"], h1["longest_wait_seconds"], h1["channels"]) == (2, 80, 3)
    # (live-talk is answered but still in progress: its outcome is not counted yet)
    assert (h1["answered_today"], h1["abandoned_today"], h1["overflow_today"]) == (2, 1, 1)
    # answered within 20 s of queueing: done-fast (5 s), not done-slow (45 s)
    assert h1["service_level_today"] == 0.5
    assert h1["inbound_today"] == 7
    h2 = queues["4008002222"]
    assert (h2["waiting"], h2["channels"], h2["answered_today"]) == (0, 1, 0)
    assert h2["service_level_today"] is None
    assert h2["station"] == "浙江卫视"
    # and the overflow switch is unknown when the switch is not asked
    assert snap["overflow"] == {"known": False, "on": []}
    assert h1["overflow_on"] is None


def test_calls_per_minute_per_station_for_the_last_hour(center):
    # given two more calls on h2 in the current minute and one 61 minutes ago
    _call(
        "now-1",
        center["h2"],
        created=NOW - dt.timedelta(seconds=10),
        ended_at=NOW,
        outcome="answered",
    )
    _call(
        "now-2",
        center["h2"],
        created=NOW - dt.timedelta(seconds=5),
        ended_at=NOW,
        outcome="answered",
    )
    _call(
        "too-old",
        center["h2"],
        created=NOW - dt.timedelta(minutes=61),
        ended_at=NOW,
        outcome="answered",
    )

    chart = selectors.calls_per_minute(NOW)

    assert len(chart["minutes"]) == 60
    assert chart["minutes"][-1] == NOW.replace(second=0).isoformat()
    series = {s["name"]: s["counts"] for s in chart["series"]}
    assert set(series) == {"湖南卫视", "浙江卫视"}
    assert sum(series["浙江卫视"]) == 4  # live-ivr, ended-no-outcome, now-1, now-2
    assert series["浙江卫视"][-1] == 3  # live-ivr (3 s ago), now-1, now-2
    assert series["浙江卫视"][-6] == 1  # ended-no-outcome, 5 minutes ago
    # h1: live-talk (12:28:15), live-wait-1 (12:28:50), live-wait-2 (12:29:45); done-* 2 h ago
    assert sum(series["湖南卫视"]) == 3
    assert (series["湖南卫视"][-3], series["湖南卫视"][-2], series["湖南卫视"][-1]) == (2, 1, 0)


def test_snapshot_query_count_does_not_grow_with_seats_and_calls(
    center, django_assert_max_num_queries
):
    with django_assert_max_num_queries(8):
        small = selectors.wallboard_snapshot(now=NOW, ask_switch=False)
    for n in range(30):
        user = UserFactory()
        seat = _seat(f"2{n:03d}", user=user, status=AgentStatus.AVAILABLE, state=AgentState.WAITING)
        _call(
            f"bulk-{n}",
            center["h2"],
            created=NOW - dt.timedelta(seconds=n),
            queued_at=NOW,
            seat=seat,
        )
    with django_assert_max_num_queries(8):
        big = selectors.wallboard_snapshot(now=NOW, ask_switch=False)
    assert len(big["seats"]) == len(small["seats"]) + 30
    assert big["trunks"]["in_use"] == small["trunks"]["in_use"] + 30


def test_callback_backlog_is_none_until_the_callbacks_model_exists(center):
    from django.apps import apps

    try:
        apps.get_model("callbacks", "CallbackRequest")
    except LookupError:
        assert selectors.callback_backlog() is None
    else:  # S's model landed: the backlog is a number
        assert isinstance(selectors.callback_backlog(), int)


def test_trunk_capacity_is_a_setting(center, settings):
    settings.TELEPHONY_TRUNK_CAPACITY = 120
    assert selectors.wallboard_snapshot(now=NOW, ask_switch=False)["trunks"]["capacity"] == 120


def test_overflow_switch_is_read_from_the_simulator_over_tcp(simulator, center):
    # given the overflow branch switched on for queue "orders" on the switch
    switch_api("global_setvar tvshop_overflow_orders=true")
    switch_api("global_setvar tvshop_overflow_vip=false")

    snap = selectors.wallboard_snapshot(now=NOW)

    assert snap["overflow"] == {"known": True, "on": ["orders"]}
    queues = {q["queue"]: q["overflow_on"] for q in snap["queues"]}
    assert queues == {"orders": True, "vip": False}

    # and a switch that says otherwise is seen once the short cache expires
    switch_api("global_setvar tvshop_overflow_orders=false")
    assert selectors.overflow_states(fresh=True) == {"orders": False, "vip": False}


def test_overflow_is_unknown_when_the_switch_is_down(dead_switch, center):
    assert selectors.overflow_states(fresh=True) is None
    snap = selectors.wallboard_snapshot(now=NOW)
    assert snap["overflow"]["known"] is False


def test_overflow_parse_reads_only_overflow_variables():
    text = "hostname=fs1\ntvshop_overflow_orders=true\ntvshop_overflow_q-2=FALSE\nother=true\n"
    assert selectors.overflow_parse(text) == {"orders": True, "q-2": False}


# --- the page ------------------------------------------------------------------------------


def test_wallboard_page_needs_the_wallboard_permission(client, client_for):
    url = reverse("telephony:wallboard")
    assert client.get(url).status_code == 302  # anonymous → log-in
    assert client_for("agent").get(url).status_code == 403
    assert client_for("finance").get(url).status_code == 403
    assert client_for("agent").get(reverse("telephony:wallboard_snapshot")).status_code == 403


def test_wallboard_page_renders_the_snapshot(
    dead_switch, center, client_for, django_assert_max_num_queries
):
    client = client_for("supervisor")
    with django_assert_max_num_queries(20):
        response = client.get(reverse("telephony:wallboard"))
    assert response.status_code == 200
    html = response.content.decode()
    # the tiles, the queue table, the seat grid and the live calls, server-rendered
    assert 'id="wb-trunks-used">4<' in html
    assert 'data-hotline="4008001111"' in html
    assert 'data-field="waiting">2<' in html
    assert f'data-seat="{center["talking"].pk}"' in html
    assert "view-talking" in html and "view-not_ready" in html
    assert html.count('<tr data-call="') == 4
    # the supervisor may act on live calls: one button per action on each call
    assert html.count('class="wb-act"') == 16
    # the live script, ECharts and the config with the snapshot
    assert "js/wallboard.js" in html and "vendor/echarts/echarts.min.js" in html
    assert 'id="wallboard-config"' in html and '"ws_path": "/ws/wallboard/"' in html


def test_wallboard_page_hides_actions_without_the_supervise_permission(
    dead_switch, center, make_user, client
):
    from django.contrib.auth.models import Permission

    user = make_user()
    user.user_permissions.add(Permission.objects.get(codename="view_wallboard"))
    client.force_login(user)
    html = client.get(reverse("telephony:wallboard")).content.decode()
    assert 'class="wb-act"' not in html
    assert '"can_supervise": false' in html


def test_wallboard_snapshot_json(dead_switch, center, client_for):
    data = client_for("supervisor").get(reverse("telephony:wallboard_snapshot")).json()
    assert data["type"] == "snapshot"
    assert data["trunks"]["in_use"] == 4
    # no caller numbers on the wallboard
    assert "13800138000" not in str(data)


def test_navigation_shows_the_wallboard_to_supervisors_only(dead_switch, client_for):
    supervisor = client_for("supervisor").get(reverse("home")).content.decode()
    agent = client_for("agent").get(reverse("home")).content.decode()
    assert reverse("telephony:wallboard") in supervisor
    assert reverse("telephony:recording_list") in supervisor
    assert reverse("telephony:wallboard") not in agent
    assert reverse("telephony:recording_list") not in agent


def test_times_are_aware_and_today_starts_at_local_midnight():
    start = selectors.today_start(NOW)
    assert start.utcoffset() == dt.timedelta(hours=8)
    assert (start.hour, start.minute) == (0, 0)
    assert start.astimezone(dt.UTC) == dt.datetime(2026, 11, 21, 16, 0, tzinfo=dt.UTC)
    assert timezone.is_aware(start)
