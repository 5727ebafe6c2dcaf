# ruff: noqa: S608 — SQL is assembled from module constants only; values are bound.
"""Reads of the statistics: every KPI table and the station curve.

Tables read the roll-ups (``tvshop.reports.models``); where a question cannot be answered
from them (another abandon threshold or service-level target than the roll-ups were built
with, agent login/AUX time from the status log, product lines, logistics, finance) the raw
rows are read, named as such in each function. Every table is a :class:`Table` — columns
and rows of plain values — which pages render and exports write unchanged.

Periods are local (Asia/Shanghai) dates; :class:`Period` turns them into the UTC range of
whole hours that the roll-ups are keyed by.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tvshop.reports import rollups
from tvshop.reports.conf import reports_conf

LOCAL = ZoneInfo(settings.TIME_ZONE)
RESOLUTIONS = ("minute", "hour", "day", "week", "month")
BREAK = "On Break"
LOGGED_OUT = "Logged Out"
ACW = "acw"
HOLD_KINDS = ("CallHeld",)
UNHOLD_KINDS = ("CallUnheld", "CallResumed")


@dataclass(frozen=True)
class Period:
    """Local dates ``first``..``last`` (inclusive) as an aware UTC range [start, end)."""

    first: dt.date
    last: dt.date

    @property
    def start(self) -> dt.datetime:
        return dt.datetime.combine(self.first, dt.time(), tzinfo=LOCAL)

    @property
    def end(self) -> dt.datetime:
        return dt.datetime.combine(self.last + dt.timedelta(days=1), dt.time(), tzinfo=LOCAL)

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1


@dataclass
class Column:
    key: str
    label: str
    kind: str = "int"  # int, seconds, percent, money, text, ratio, datetime


@dataclass
class Table:
    name: str
    title: str
    columns: list[Column]
    rows: list[dict] = field(default_factory=list)
    note: str = ""
    source: str = "rollup"  # rollup | raw
    total_rows: int = 0  # set when a page shows only the first rows (see ``bounded``)

    def bounded(self, limit: int) -> Table:
        """At most ``limit`` rows (and the total row, if any) for a page; exports and the
        API take them all."""
        if len(self.rows) <= limit + 1:
            return self
        total = [r for r in self.rows[-1:] if r.get("total")]
        self.total_rows = len(self.rows) - len(total)
        self.rows = self.rows[:limit] + total
        return self


def _div(a, b):
    if not b:
        return None
    if isinstance(a, Decimal) or isinstance(b, Decimal):
        return (Decimal(a) / Decimal(b)).quantize(Decimal("0.01"))
    return a / b


def _fetch(sql: str, params, *, raw: bool = False) -> list[tuple]:
    """Rows of one statement. ``raw`` (a scan of calls or orders): without JIT, which
    PostgreSQL would spend longer compiling than running these aggregations (measured: 2 s
    of JIT for a 100 ms statement); reads of the small roll-ups stay below JIT's cost."""
    if not raw:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute(sql, params)
        return cursor.fetchall()


def _names(table: str, ids, label: str = "name") -> dict:
    ids = [i for i in ids if i is not None]
    if not ids:
        return {}
    return dict(_fetch(f"SELECT id, {label} FROM {table} WHERE id = ANY(%s)", [list(ids)]))


def _user_names(ids) -> dict:
    from django.contrib.auth import get_user_model

    users = get_user_model().objects.filter(pk__in=[i for i in ids if i is not None])
    return {u.pk: (u.get_full_name() or u.get_username()) for u in users}


# -- the station curve -----------------------------------------------------------------------

BUCKET_SQL = {
    "hour": "r.hour",
    "day": "(date_trunc('day', r.hour AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s)",
    "week": "(date_trunc('week', r.hour AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s)",
    "month": "(date_trunc('month', r.hour AT TIME ZONE %(tz)s) AT TIME ZONE %(tz)s)",
}


def _local_midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=LOCAL)


def _buckets(period: Period, resolution: str) -> list[dt.datetime]:
    """The start of every bucket of the period (aware, local), in order."""
    if resolution in ("minute", "hour"):
        step = dt.timedelta(minutes=1 if resolution == "minute" else 60)
        out, cursor = [], period.start.astimezone(dt.UTC)
        while cursor < period.end:
            out.append(cursor.astimezone(LOCAL))
            cursor += step
        return out
    days = [period.first + dt.timedelta(days=i) for i in range(period.days)]
    if resolution == "day":
        starts = days
    elif resolution == "week":
        starts = sorted({d - dt.timedelta(days=d.weekday()) for d in days})
    else:
        starts = sorted({d.replace(day=1) for d in days})
    return [_local_midnight(d) for d in starts]


def station_curve_sql(resolution: str) -> str:
    """One statement: per station, the bucket numbers (0-based, in the order of
    ``buckets``) that have calls and their calls, read from the roll-up; buckets without a
    row are zeros the caller fills in. Minute and hour buckets are numbered by arithmetic
    (rows read straight off the index, no grouping); days, weeks and months sum hours into
    local buckets. Params: start, end, stations, buckets, tz."""
    if resolution in ("minute", "hour"):
        table, col, step = (
            ("reports_stationminute", "minute", 60)
            if resolution == "minute"
            else ("reports_stationhour", "hour", 3600)
        )
        return (
            f"SELECT r.station_id, array_agg((EXTRACT(EPOCH FROM r.{col} - %(start)s)::int "
            f"/ {step})), array_agg(r.calls) FROM {table} r "
            f"WHERE r.{col} >= %(start)s AND r.{col} < %(end)s "
            "AND r.station_id = ANY(%(stations)s::bigint[]) GROUP BY r.station_id"
        )
    return (
        "SELECT v.station_id, array_agg(array_position(%(buckets)s::timestamptz[], v.b) - 1), "
        f"array_agg(v.calls) FROM (SELECT {BUCKET_SQL[resolution]} AS b, r.station_id, "
        "sum(r.calls)::int AS calls FROM reports_stationhour r "
        "WHERE r.hour >= %(start)s AND r.hour < %(end)s "
        "AND r.station_id = ANY(%(stations)s::bigint[]) GROUP BY 1, 2) v GROUP BY v.station_id"
    )


def curve_series(rows, stations: list[int], n: int) -> dict[int, list[int]]:
    """``{station: [calls of every bucket]}`` from the rows of :func:`station_curve_sql`."""
    data = {s: [0] * n for s in stations}
    for station, positions, calls in rows:
        series = data.get(station)
        if series is None:
            continue
        for i, v in zip(positions, calls, strict=True):
            if 0 <= i < n:
                series[i] += v
    return data


def _iso_sql(col: str) -> str:
    """SQL text of a timestamptz as local ISO 8601 with its offset (what Python's
    ``isoformat()`` of the local time gives, seconds precision). ``%(offset)s``: the
    zone's offset ("+08:00") when it is the same all over the period, else NULL and the
    offset is worked out per value."""
    off = f"(({col} AT TIME ZONE %(tz)s) - ({col} AT TIME ZONE 'UTC'))"
    return (
        f"to_char({col} AT TIME ZONE %(tz)s, 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
        f"COALESCE(%(offset)s::text, CASE WHEN {off} < interval '0' "
        f"THEN '-' || to_char(-{off}, 'HH24:MI') ELSE '+' || to_char({off}, 'HH24:MI') END)"
    )


def _fixed_offset(period: Period) -> str | None:
    """ "+08:00" when the local zone keeps one offset from a day before the period to its
    end (Asia/Shanghai always does), else None."""
    first, last = period.start - dt.timedelta(days=1), period.end
    if first.utcoffset() != last.utcoffset():
        return None
    iso = last.isoformat()
    return iso[-6:] if iso[-6] in "+-" else None


# the airing slots of the chart as JSON text, built by PostgreSQL: a week of 50 stations
# has ~2,000 slots, and parsing their timestamps in Python and encoding them again was
# most of the request's time
CURVE_SLOTS_JSON = (
    "SELECT COALESCE(json_agg(json_build_object('id', s.id, 'station', s.station_id, "
    "'start', " + _iso_sql("s.start") + ", 'end', " + _iso_sql('s."end"') + ", "
    "'product', p.name, "
    "'cost', s.cost::text) ORDER BY s.start, s.id), '[]')::text FROM media_airingslot s "
    "JOIN catalog_product p ON p.id = s.product_id WHERE s.station_id = ANY(%(stations)s) "
    'AND s.start < %(end)s AND s."end" > %(start)s '
    # a range on start for the (station, start) index: a slot airs for minutes, not days
    "AND s.start > %(start)s - interval '1 day'"
)


def station_curve_json(*, period: Period, stations: list[int], resolution: str = "hour") -> str:
    """The station curve (see :func:`station_curve`) as JSON text, ready to send."""
    if resolution not in RESOLUTIONS:
        raise ValueError(resolution)
    buckets = _buckets(period, resolution)
    params = {
        "start": period.start,
        "end": period.end,
        "stations": list(stations),
        "tz": settings.TIME_ZONE,
        "buckets": buckets,
        "offset": _fixed_offset(period),
    }
    data = curve_series(_fetch(station_curve_sql(resolution), params), stations, len(buckets))
    names = _names("media_station", stations)
    slots = _fetch(CURVE_SLOTS_JSON, params)[0][0]
    head = json.dumps(
        {
            "resolution": resolution,
            "buckets": [b.astimezone(LOCAL).isoformat() for b in buckets],
            "series": [
                {"station": s, "name": names.get(s, str(s)), "data": data[s]} for s in stations
            ],
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return head[:-1] + ',"slots":' + slots + "}"


def station_curve(*, period: Period, stations: list[int], resolution: str = "hour") -> dict:
    """Inbound calls per bucket for each station, with the stations' airing slots.

    Minute resolution reads ``StationMinute`` (meant for a day or an airing); the others sum
    ``StationHour`` into local days, weeks (Monday) or months. Returns
    ``{"buckets": [iso…], "series": [{"station", "name", "data"}], "slots": [...]}``.
    """
    return json.loads(station_curve_json(period=period, stations=stations, resolution=resolution))


def bucket_range(*, bucket: dt.datetime, resolution: str) -> tuple[dt.datetime, dt.datetime]:
    """The [start, end) of the chart point a user clicked (to list its calls)."""
    local = bucket.astimezone(LOCAL)
    if resolution == "minute":
        return local, local + dt.timedelta(minutes=1)
    if resolution == "hour":
        return local, local + dt.timedelta(hours=1)
    if resolution == "day":
        return local, dt.datetime.combine(local.date() + dt.timedelta(days=1), dt.time(), LOCAL)
    if resolution == "week":
        return local, dt.datetime.combine(local.date() + dt.timedelta(days=7), dt.time(), LOCAL)
    nxt = (local.date().replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return local, dt.datetime.combine(nxt, dt.time(), LOCAL)


# -- queue statistics -------------------------------------------------------------------------

QUEUE_SUMS = (
    "inbound",
    "answered",
    "wait_answered_sum",
    "wait_max",
    "talk_count",
    "talk_sum",
    "soa_count",
    "soa_sum",
    "abandoned",
    "abandoned_counted",
    "abandon_wait_sum",
    "rona_calls",
    "rona_events",
    "answered_within_target",
    "transferred",
    "overflow",
)

QUEUE_COLUMNS = [
    Column("inbound", _("Inbound calls")),
    Column("answered", _("Answered")),
    Column("avg_wait", _("Average wait"), "seconds"),
    Column("max_wait", _("Longest wait"), "seconds"),
    Column("avg_talk", _("Average talk"), "seconds"),
    Column("avg_soa", _("Speed of answer"), "seconds"),
    Column("abandoned", _("Abandoned")),
    Column("abandoned_counted", _("Counted abandons")),
    Column("abandon_rate", _("Abandon rate"), "percent"),
    Column("avg_abandon", _("Average abandon time"), "seconds"),
    Column("rona_calls", _("RONA")),
    Column("service_level", _("Service level"), "percent"),
    Column("within_target_of_offered", _("Answered within target / offered"), "percent"),
    Column("transferred", _("Transferred")),
    Column("overflow", _("Overflow captured")),
]


def queue_kpis(s: dict) -> dict:
    """The KPIs of domain.md from the sums of one group (see ``rollups`` for each sum)."""
    return {
        "inbound": s["inbound"],
        "answered": s["answered"],
        "avg_wait": _div(s["wait_answered_sum"], s["answered"]),
        "max_wait": s["wait_max"],
        "avg_talk": _div(s["talk_sum"], s["talk_count"]),
        "avg_soa": _div(s["soa_sum"], s["soa_count"]),
        "abandoned": s["abandoned"],
        "abandoned_counted": s["abandoned_counted"],
        "abandon_rate": _div(s["abandoned_counted"], s["inbound"]),
        "avg_abandon": _div(s["abandon_wait_sum"], s["abandoned"]),
        "rona_calls": s["rona_calls"],
        "rona_events": s["rona_events"],
        "service_level": _div(s["answered_within_target"], s["answered"]),
        "within_target_of_offered": _div(s["answered_within_target"], s["inbound"]),
        "transferred": s["transferred"],
        "overflow": s["overflow"],
    }


_QUEUE_SELECT = (
    "sum(inbound)::int, sum(answered)::int, sum(wait_answered_sum), max(wait_max), "
    "sum(talk_count)::int, sum(talk_sum), sum(soa_count)::int, sum(soa_sum), "
    "sum(abandoned)::int, sum(abandoned_counted)::int, sum(abandon_wait_sum), "
    "sum(rona_calls)::int, sum(rona_events)::int, sum(answered_within_target)::int, "
    "sum(transferred)::int, sum(overflow)::int"
)


def _queue_source(*, threshold: int, target: int) -> tuple[str, str]:
    """``(from_sql, source)``: the roll-up when it was built with these values, else the
    same aggregation over the raw calls of the period."""
    conf = reports_conf()
    if threshold == conf.abandon_threshold_seconds and target == conf.service_level_seconds:
        return "reports_queuehour r", "rollup"
    return rollups.QUEUE_RAW, "raw"


def queue_stats(
    *,
    period: Period,
    group: str = "queue",
    threshold: int | None = None,
    target: int | None = None,
    queue: str = "",
    station: int | None = None,
) -> Table:
    """Queue statistics per queue (``group="queue"``), per station, or per local
    hour/day/week/month of the period (``group`` one of those), plus a total row."""
    conf = reports_conf()
    threshold = conf.abandon_threshold_seconds if threshold is None else threshold
    target = conf.service_level_seconds if target is None else target
    source_sql, source = _queue_source(threshold=threshold, target=target)
    params = {
        "start": period.start,
        "end": period.end,
        "low": period.start,
        "high": period.end,
        "tz": settings.TIME_ZONE,
        "threshold": threshold,
        "target": target,
        "queue": queue,
        "station": station,
    }
    if group == "queue":
        key_sql, label = "r.queue", _("Queue")
    elif group == "station":
        key_sql, label = "r.station_id", _("TV station")
    else:
        key_sql, label = BUCKET_SQL[group], _("Period")
    where = "r.hour >= %(start)s AND r.hour < %(end)s"
    if queue:
        where += " AND r.queue = %(queue)s"
    if station:
        where += " AND r.station_id = %(station)s"
    sql = (
        f"SELECT {key_sql} AS k, {_QUEUE_SELECT} FROM {source_sql} WHERE {where} "
        "GROUP BY 1 ORDER BY 1"
    )
    rows = _fetch(sql, params, raw=source == "raw")
    names = _names("media_station", [r[0] for r in rows]) if group == "station" else {}
    table = Table(
        name="queue",
        title=str(_("Queue statistics")),
        columns=[Column("key", label, "text"), *QUEUE_COLUMNS],
        source=source,
        note=str(
            _(
                "Abandons shorter than %(threshold)s s are not counted; service level target "
                "%(target)s s."
            )
            % {"threshold": threshold, "target": target}
        ),
    )
    totals = dict.fromkeys(QUEUE_SUMS, 0)
    totals["wait_max"] = None
    for r in rows:
        sums = dict(zip(QUEUE_SUMS, r[1:], strict=True))
        for k in QUEUE_SUMS:
            if k == "wait_max":
                if sums[k] is not None:
                    totals[k] = max(totals[k] or 0, sums[k])
            else:
                totals[k] += sums[k] or 0
        key = r[0]
        if group == "station":
            key = names.get(key, "—")
        elif group not in ("queue",) and isinstance(key, dt.datetime):
            key = key.astimezone(LOCAL).strftime(
                "%Y-%m-%d %H:%M" if group == "hour" else "%Y-%m-%d"
            )
        table.rows.append({"key": key or "—", **queue_kpis(sums)})
    if rows:
        table.rows.append({"key": str(_("Total")), "total": True, **queue_kpis(totals)})
    return table


# -- agent statistics -------------------------------------------------------------------------

AGENT_COLUMNS = [
    Column("agent", _("Agent"), "text"),
    Column("login", _("Login time"), "duration"),
    Column("idle", _("Idle time"), "duration"),
    Column("aux", _("AUX time"), "duration"),
    Column("aux_count", _("AUX count")),
    Column("acw_avg", _("Average after-call work"), "seconds"),
    Column("hold_count", _("Hold count")),
    Column("hold_avg", _("Average hold"), "seconds"),
    Column("answered", _("Calls answered")),
    Column("talk", _("Inbound talk time"), "duration"),
    Column("avg_talk", _("Average talk"), "seconds"),
    Column("outbound", _("Outbound calls")),
    Column("outbound_talk", _("Outbound talk time"), "duration"),
    Column("calls_per_day", _("Calls per day"), "ratio"),
]


def agent_stats(*, period: Period, now: dt.datetime | None = None) -> Table:
    """Agent statistics (domain.md): login time from seat sessions; AUX (not ready, after-
    call work excluded) and ACW from the status log; calls and talk from the roll-up;
    idle = login − inbound talk − outbound talk − AUX. Status intervals are clipped to the
    period; a status set more than a day before the period starts is not looked at."""
    now = now or timezone.now()
    params = {"start": period.start, "end": min(period.end, max(now, period.start)), "now": now}
    login = dict(
        _fetch(
            "SELECT user_id, sum(EXTRACT(EPOCH FROM LEAST(COALESCE(ended_at, %(now)s), %(end)s) "
            "- GREATEST(started_at, %(start)s))) FROM telephony_seatsession "
            "WHERE started_at < %(end)s AND COALESCE(ended_at, %(now)s) > %(start)s "
            "GROUP BY user_id",
            params,
        )
    )
    status_rows = _fetch(
        "WITH ch AS (SELECT user_id, status, reason, at, LEAD(at) OVER (PARTITION BY seat_id "
        "ORDER BY at, id) AS nxt FROM telephony_agentstatuschange WHERE status <> '' "
        "AND at < %(end)s AND at >= %(start)s - interval '1 day'), "
        "iv AS (SELECT user_id, status, reason, at, "
        "GREATEST(0, EXTRACT(EPOCH FROM LEAST(COALESCE(nxt, %(now)s), %(end)s) "
        "- GREATEST(at, %(start)s))) AS secs FROM ch WHERE user_id IS NOT NULL "
        "AND COALESCE(nxt, %(now)s) > %(start)s) "
        "SELECT user_id, "
        f"COALESCE(sum(secs) FILTER (WHERE status = '{BREAK}' AND reason <> '{ACW}'), 0), "
        f"count(*) FILTER (WHERE status = '{BREAK}' AND reason <> '{ACW}' AND at >= %(start)s), "
        f"COALESCE(sum(secs) FILTER (WHERE status = '{BREAK}' AND reason = '{ACW}'), 0), "
        f"count(*) FILTER (WHERE status = '{BREAK}' AND reason = '{ACW}' AND at >= %(start)s) "
        "FROM iv GROUP BY user_id",
        params,
    )
    status = {r[0]: r[1:] for r in status_rows}
    # A hold belongs to the period it started in, counted once whatever hours or days it
    # spans; it lasts until the call's next hold/unhold event, else until the call ended
    # (hung up on hold), else until now (still on hold). Agent: the call's agent.
    holds = {
        r[0]: r[1:]
        for r in _fetch(
            "WITH e AS (SELECT ev.call_id, ev.kind, ev.at, "
            "LEAD(ev.at) OVER (PARTITION BY ev.call_id ORDER BY ev.at, ev.id) AS nxt "
            "FROM telephony_callevent ev WHERE ev.kind = ANY(%(kinds)s) "
            "AND ev.at >= %(start)s AND ev.at < %(end)s + interval '1 day') "
            "SELECT c.agent_id, count(*), sum(GREATEST(0, EXTRACT(EPOCH FROM "
            "LEAST(COALESCE(e.nxt, c.ended_at, %(now)s), COALESCE(c.ended_at, %(now)s)) "
            "- e.at))) FROM e JOIN telephony_call c ON c.id = e.call_id "
            "WHERE e.kind = ANY(%(hold)s) AND e.at < %(end)s AND c.agent_id IS NOT NULL "
            "GROUP BY c.agent_id",
            {
                **params,
                "kinds": list(HOLD_KINDS + UNHOLD_KINDS),
                "hold": list(HOLD_KINDS),
            },
        )
    }
    calls = {
        r[0]: r[1:]
        for r in _fetch(
            "SELECT agent_id, sum(inbound_answered)::int, sum(inbound_talk_sum), "
            "sum(outbound_calls)::int, sum(outbound_talk_sum) FROM reports_agenthour "
            "WHERE hour >= %(start)s AND hour < %(end)s AND agent_id IS NOT NULL GROUP BY 1",
            {"start": period.start, "end": period.end},
        )
    }
    users = set(login) | set(status) | set(calls) | set(holds)
    names = _user_names(users)
    table = Table(
        name="agents",
        title=str(_("Agent statistics")),
        columns=AGENT_COLUMNS,
        source="rollup",
        note=str(
            _("Idle = login − inbound talk − outbound talk − AUX (after-call work is not AUX).")
        ),
    )
    for user_id in sorted(users, key=lambda u: names.get(u, "")):
        login_s = float(login.get(user_id) or 0)
        aux, aux_count, acw_sum, acw_count = status.get(user_id, (0, 0, 0, 0))
        answered, talk, outbound, outbound_talk = calls.get(user_id, (0, 0.0, 0, 0.0))
        hold_count, hold_sum = holds.get(user_id, (0, None))
        table.rows.append(
            {
                "agent_id": user_id,
                "agent": names.get(user_id, str(user_id)),
                "login": login_s,
                "idle": login_s - float(talk) - float(outbound_talk) - float(aux),
                "aux": float(aux),
                "aux_count": aux_count,
                "acw_avg": _div(float(acw_sum), acw_count),
                "hold_count": hold_count,
                "hold_avg": _div(float(hold_sum or 0), hold_count),
                "answered": answered,
                "talk": float(talk),
                "avg_talk": _div(float(talk), answered),
                "outbound": outbound,
                "outbound_talk": float(outbound_talk),
                "calls_per_day": round((answered + outbound) / period.days, 2),
            }
        )
    return table


# -- media efficiency -------------------------------------------------------------------------

MEDIA_COLUMNS = [
    Column("calls", _("Calls")),
    Column("unique_callers", _("Unique callers")),
    Column("answered", _("Answered")),
    Column("overflow", _("Overflow captured")),
    Column("callbacks_done", _("Callbacks completed")),
    Column("orders", _("Orders")),
    Column("approved", _("Approved orders")),
    Column("delivered", _("Delivered orders")),
    Column("revenue", _("Revenue"), "money"),
    Column("cost", _("Cost"), "money"),
    Column("cost_per_call", _("Cost per call"), "money"),
    Column("cost_per_order", _("Cost per order"), "money"),
    Column("cost_per_delivered", _("Cost per delivered order"), "money"),
    Column("roas", _("Return on ad spend"), "ratio"),
]


def _money_kpis(row: dict) -> dict:
    cost = row["cost"]
    row["cost_per_call"] = _div(cost, row["calls"])
    row["cost_per_order"] = _div(cost, row["orders"])
    row["cost_per_delivered"] = _div(cost, row["delivered"])
    row["roas"] = _div(row["revenue"], cost)
    return row


def callbacks_completed(*, period: Period, by: str = "station") -> dict:
    """Completed (``done``) callback requests per station or airing slot, by the time of
    the call that was captured (read at request time from ``telephony.callbacks``; guarded:
    without that app or model the column shows 0)."""
    from django.apps import apps
    from django.db.models import Count

    try:
        model = apps.get_model("callbacks", "CallbackRequest")
    except LookupError:
        return {}
    names = {f.name for f in model._meta.get_fields()}
    time_field = "first_call_at" if "first_call_at" in names else "created_at"
    if not {by, "status", time_field} <= names:
        return {}
    rows = (
        model.objects.filter(
            **{f"{time_field}__gte": period.start, f"{time_field}__lt": period.end},
            status="done",
        )
        .values(f"{by}_id")
        .annotate(n=Count("id"))
        .values_list(f"{by}_id", "n")
    )
    return dict(rows)


def media_efficiency(*, period: Period, stations: list[int] | None = None) -> Table:
    """Per TV station: calls (roll-up), orders and money (order roll-up), cost (airing slots
    starting in the period), unique callers of the station over the period (an estimate
    from the caller sketches, see :func:`unique_callers`; exact per slot)."""
    params = {"start": period.start, "end": period.end, "stations": stations}
    station_filter = " AND station_id = ANY(%(stations)s)" if stations else ""
    calls = {
        r[0]: r[1:]
        for r in _fetch(
            "SELECT station_id, sum(calls)::int, sum(answered)::int, sum(overflow)::int "
            "FROM reports_stationhour WHERE hour >= %(start)s AND hour < %(end)s"
            + station_filter
            + " GROUP BY 1",
            params,
        )
    }
    orders = {
        r[0]: r[1:]
        for r in _fetch(
            "SELECT station_id, sum(orders)::int, sum(approved)::int, sum(delivered)::int, "
            "sum(revenue) FROM reports_orderhour WHERE grain = 'station' "
            "AND hour >= %(start)s AND hour < %(end)s" + station_filter + " GROUP BY 1",
            params,
        )
    }
    slots = {
        r[0]: r[1:]
        for r in _fetch(
            "SELECT s.station_id, sum(s.cost) FROM media_airingslot s "
            "WHERE s.start >= %(start)s AND s.start < %(end)s"
            + station_filter.replace("station_id", "s.station_id")
            + " GROUP BY 1",
            params,
        )
    }
    callbacks = callbacks_completed(period=period)
    callers = unique_callers(period=period, stations=stations)
    ids = sorted((set(calls) | set(orders) | set(slots)) - {None})
    names = _names("media_station", ids)
    conf = reports_conf()
    table = Table(
        name="media",
        title=str(_("Media efficiency")),
        columns=[Column("station", _("TV station"), "text"), *MEDIA_COLUMNS],
        note=str(rollups.ATTRIBUTION % {"window": conf.attribution_window_minutes})
        + " "
        + str(
            _(
                "Unique callers of a station, and in the total row of all stations, over the "
                "period are estimates (HyperLogLog, within ±%(error)s%% for 95%% of counts); "
                "per airing slot they are exact."
            )
            % {"error": f"{rollups.SKETCH_ERROR * 100:.1f}"}
        ),
    )
    total = None
    for sid in sorted(ids, key=lambda i: names.get(i, "")):
        c = calls.get(sid, (0, 0, 0))
        o = orders.get(sid, (0, 0, 0, Decimal("0")))
        s = slots.get(sid, (Decimal("0"),))
        row = {
            "station_id": sid,
            "station": names.get(sid, str(sid)),
            "calls": c[0],
            "unique_callers": callers.get(sid, 0),
            "answered": c[1],
            "overflow": c[2],
            "callbacks_done": callbacks.get(sid, 0),
            "orders": o[0],
            "approved": o[1],
            "delivered": o[2],
            "revenue": Decimal(o[3] or 0),
            "cost": Decimal(s[0] or 0),
        }
        table.rows.append(_money_kpis(row))
        if total is None:
            total = {k: v for k, v in row.items() if k not in ("station_id", "station")}
        else:
            for k in total:
                if isinstance(row[k], int | Decimal) and k in (
                    "calls",
                    "answered",
                    "overflow",
                    "callbacks_done",
                    "orders",
                    "approved",
                    "delivered",
                    "revenue",
                    "cost",
                ):
                    total[k] += row[k]
    if total is not None:
        total["unique_callers"] = callers.get(None, 0)
        table.rows.append(_money_kpis({"station": str(_("Total")), "total": True, **total}))
    return table


def unique_callers(*, period: Period, stations: list[int] | None = None) -> dict:
    """Distinct inbound callers per station over the period, and over all of them (key
    ``None``): HyperLogLog estimates from the per-station, per-local-day sketches
    (``CallerDay``), within ``rollups.SKETCH_ERROR`` for 95 % of counts; one statement
    whatever the period."""
    # varbit_send: the bits as bytes (the text form costs PostgreSQL a loop per bit)
    rows = _fetch(
        "SELECT station_id, varbit_send(bit_or(sketch)) FROM reports_callerday "
        "WHERE day >= %(first)s AND day <= %(last)s"
        + (" AND station_id = ANY(%(stations)s)" if stations else "")
        + " GROUP BY station_id",
        {"first": period.first, "last": period.last, "stations": stations},
    )
    sketches = {sid: rollups.sketch_bytes(b) for sid, b in rows}
    out = {sid: rollups.sketch_estimate(b) for sid, b in sketches.items()}
    out[None] = rollups.sketch_estimate(rollups.sketch_union(sketches.values()))
    return out


def slot_efficiency(
    *, period: Period, station: int | None = None, limit: int | None = None
) -> Table:
    """Per airing slot starting in the period (``SlotStat``, see ``rollups.ATTRIBUTION``);
    ``limit``: only the latest slots (pages; exports take them all)."""
    params = {"start": period.start, "end": period.end, "station": station, "limit": limit}
    rows = _fetch(
        'SELECT s.id, st.name, s.start, s."end", p.name, s.cost, COALESCE(r.calls, 0), '
        "COALESCE(r.unique_callers, 0), COALESCE(r.answered, 0), COALESCE(r.overflow, 0), "
        "COALESCE(r.callbacks_done, 0), COALESCE(r.orders, 0), COALESCE(r.approved, 0), "
        "COALESCE(r.delivered, 0), COALESCE(r.revenue, 0) "
        # the latest ``limit`` slots first (ties at the cut: every slot starting then),
        # then their names and roll-up rows — not a join of every slot of the period
        "FROM (SELECT * FROM media_airingslot s WHERE s.start >= %(start)s "
        "AND s.start < %(end)s"
        + (" AND s.station_id = %(station)s" if station else "")
        + (" ORDER BY s.start DESC FETCH FIRST %(limit)s ROWS WITH TIES" if limit else "")
        + ") s JOIN media_station st ON st.id = s.station_id JOIN catalog_product p "
        "ON p.id = s.product_id LEFT JOIN reports_slotstat r ON r.slot_id = s.id "
        + (" ORDER BY s.start DESC, st.name" if limit else " ORDER BY s.start, st.name"),
        params,
    )
    if limit:
        rows = rows[:limit]
        rows.reverse()
    conf = reports_conf()
    callbacks = callbacks_completed(period=period, by="airing_slot")
    table = Table(
        name="slots",
        title=str(_("Airing slots")),
        columns=[
            Column("station", _("TV station"), "text"),
            Column("start", _("Start"), "datetime"),
            Column("product", _("Product"), "text"),
            *MEDIA_COLUMNS,
        ],
        note=rollups.ATTRIBUTION % {"window": conf.attribution_window_minutes},
    )
    for r in rows:
        row = {
            "slot_id": r[0],
            "station": r[1],
            "start": r[2].astimezone(LOCAL).replace(tzinfo=None),
            "product": r[4],
            "cost": Decimal(r[5]),
            "calls": r[6],
            "unique_callers": r[7],
            "answered": r[8],
            "overflow": r[9],
            "callbacks_done": r[10] + callbacks.get(r[0], 0),
            "orders": r[11],
            "approved": r[12],
            "delivered": r[13],
            "revenue": Decimal(r[14]),
        }
        table.rows.append(_money_kpis(row))
    return table


# -- funnel, product, staff, logistics, finance ----------------------------------------------

FUNNEL_COLUMNS = [
    Column("calls", _("Calls")),
    Column("answered", _("Answered")),
    Column("orders", _("Orders")),
    Column("approved", _("Reviewed")),
    Column("shipped", _("Shipped")),
    Column("delivered", _("Delivered")),
    Column("paid", _("COD received")),
]


def funnel(*, period: Period, by: str = "station") -> Table:
    """Call → answered → orders → reviewed (second review passed) → shipped → delivered →
    paid, per station or agent (roll-ups) or product (raw order lines: an order counts for
    every product on it; calls to hotlines whose default product it is)."""
    params = {"start": period.start, "end": period.end}
    hour = "hour >= %(start)s AND hour < %(end)s"
    if by == "station":
        calls = {
            r[0]: r[1:]
            for r in _fetch(
                f"SELECT station_id, sum(calls)::int, sum(answered)::int FROM reports_stationhour "
                f"WHERE {hour} GROUP BY 1",
                params,
            )
        }
        orders = {
            r[0]: r[1:]
            for r in _fetch(
                "SELECT station_id, sum(orders)::int, sum(approved)::int, sum(shipped)::int, "
                "sum(delivered)::int, sum(paid)::int FROM reports_orderhour "
                f"WHERE grain = 'station' AND {hour} GROUP BY 1",
                params,
            )
        }
        names = _names("media_station", set(calls) | set(orders))
        label = _("TV station")
    elif by == "agent":
        calls = {
            r[0]: (r[1], r[1])
            for r in _fetch(
                f"SELECT agent_id, sum(inbound_answered)::int FROM reports_agenthour WHERE {hour} "
                "GROUP BY 1",
                params,
            )
        }
        orders = {
            r[0]: r[1:]
            for r in _fetch(
                "SELECT agent_id, sum(orders)::int, sum(approved)::int, sum(shipped)::int, "
                "sum(delivered)::int, sum(paid)::int FROM reports_orderhour "
                f"WHERE grain = 'agent' AND {hour} GROUP BY 1",
                params,
            )
        }
        names = _user_names(set(calls) | set(orders))
        label = _("Agent")
    elif by == "product":
        calls = {
            r[0]: r[1:]
            for r in _fetch(
                "SELECT h.product_id, sum(q.inbound)::int, sum(q.answered)::int "
                "FROM reports_queuehour q JOIN media_hotline h ON h.id = q.hotline_id "
                "WHERE q.hour >= %(start)s AND q.hour < %(end)s AND h.product_id IS NOT NULL "
                "GROUP BY 1",
                params,
            )
        }
        orders = {
            r[0]: r[1:]
            for r in _fetch(
                "SELECT l.product_id, count(DISTINCT o.id)::int, "
                f"count(DISTINCT o.id) FILTER (WHERE o.status IN {rollups.APPROVED})::int, "
                f"count(DISTINCT o.id) FILTER (WHERE o.status IN {rollups.SHIPPED})::int, "
                f"count(DISTINCT o.id) FILTER (WHERE {rollups.DELIVERED})::int, "
                "count(DISTINCT o.id) FILTER (WHERE o.payment_status = 'paid')::int "
                "FROM orders_order o JOIN orders_orderline l ON l.order_id = o.id "
                "WHERE o.created_at >= %(start)s AND o.created_at < %(end)s "
                "AND o.status <> 'merged' GROUP BY 1",
                params,
                raw=True,
            )
        }
        names = _names("catalog_product", set(calls) | set(orders))
        label = _("Product")
    else:
        raise ValueError(by)
    table = Table(
        name=f"funnel_{by}",
        title=str(_("Funnel from call to cash")),
        columns=[Column("key", label, "text"), *FUNNEL_COLUMNS],
        source="raw" if by == "product" else "rollup",
    )
    for key in sorted(set(calls) | set(orders), key=lambda k: (k is None, str(names.get(k, "")))):
        c = calls.get(key, (0, 0))
        o = orders.get(key, (0, 0, 0, 0, 0))
        table.rows.append(
            {
                "key_id": key,
                "key": names.get(key, "—"),
                "calls": c[0],
                "answered": c[1],
                "orders": o[0],
                "approved": o[1],
                "shipped": o[2],
                "delivered": o[3],
                "paid": o[4],
            }
        )
    return table


def product_stats(*, period: Period) -> Table:
    """Per product (raw order lines of orders created in the period, merged excluded)."""
    rows = _fetch(
        "SELECT p.name, count(DISTINCT o.id)::int, COALESCE(sum(l.quantity), 0)::int, "
        "COALESCE(sum(l.amount), 0), "
        f"COALESCE(sum(l.quantity) FILTER (WHERE {rollups.DELIVERED}), 0)::int, "
        f"COALESCE(sum(l.amount) FILTER (WHERE {rollups.DELIVERED}), 0) "
        "FROM orders_order o JOIN orders_orderline l ON l.order_id = o.id "
        "JOIN catalog_product p ON p.id = l.product_id "
        "WHERE o.created_at >= %(start)s AND o.created_at < %(end)s AND o.status <> 'merged' "
        "GROUP BY p.name ORDER BY 4 DESC",
        {"start": period.start, "end": period.end},
        raw=True,
    )
    table = Table(
        name="products",
        title=str(_("Product statistics")),
        columns=[
            Column("product", _("Product"), "text"),
            Column("orders", _("Orders")),
            Column("units", _("Units")),
            Column("amount", _("Amount"), "money"),
            Column("delivered_units", _("Delivered units")),
            Column("delivered_amount", _("Delivered amount"), "money"),
        ],
        source="raw",
    )
    for r in rows:
        table.rows.append(
            dict(
                zip(
                    ("product", "orders", "units", "amount", "delivered_units", "delivered_amount"),
                    r,
                    strict=True,
                )
            )
        )
    return table


def staff_stats(*, period: Period) -> Table:
    """Orders and revenue per agent (order roll-up) with the calls they answered."""
    params = {"start": period.start, "end": period.end}
    orders = {
        r[0]: r[1:]
        for r in _fetch(
            "SELECT agent_id, sum(orders)::int, sum(approved)::int, sum(delivered)::int, "
            "sum(total_sum), sum(revenue) FROM reports_orderhour "
            "WHERE grain = 'agent' AND hour >= %(start)s AND hour < %(end)s GROUP BY 1",
            params,
        )
    }
    calls = dict(
        _fetch(
            "SELECT agent_id, sum(inbound_answered)::int FROM reports_agenthour "
            "WHERE hour >= %(start)s AND hour < %(end)s GROUP BY 1",
            params,
        )
    )
    names = _user_names(set(orders) | set(calls))
    table = Table(
        name="staff",
        title=str(_("Staff statistics")),
        columns=[
            Column("agent", _("Agent"), "text"),
            Column("answered", _("Calls answered")),
            Column("orders", _("Orders")),
            Column("conversion", _("Orders per answered call"), "percent"),
            Column("approved", _("Approved orders")),
            Column("delivered", _("Delivered orders")),
            Column("total", _("Order value"), "money"),
            Column("revenue", _("Revenue"), "money"),
        ],
    )
    for uid in sorted((set(orders) | set(calls)) - {None}, key=lambda u: names.get(u, "")):
        o = orders.get(uid, (0, 0, 0, Decimal("0"), Decimal("0")))
        answered = calls.get(uid, 0)
        table.rows.append(
            {
                "agent_id": uid,
                "agent": names.get(uid, str(uid)),
                "answered": answered,
                "orders": o[0],
                "conversion": _div(o[0], answered),
                "approved": o[1],
                "delivered": o[2],
                "total": Decimal(o[3] or 0),
                "revenue": Decimal(o[4] or 0),
            }
        )
    return table


LOGISTICS_KEYS = {"courier": _("Courier"), "status": _("Status"), "province": _("Province")}


def _logistics_table(by: str, source: str) -> Table:
    return Table(
        name=f"logistics_{by}",
        title=str(_("Logistics statistics")),
        columns=[
            Column("key", LOGISTICS_KEYS[by], "text"),
            Column("orders", _("Orders")),
            Column("shipped", _("Shipped")),
            Column("delivered", _("Delivered")),
            Column("refused", _("Refused")),
            Column("delivery_rate", _("Delivery rate"), "percent"),
            Column("refusal_rate", _("Refusal rate"), "percent"),
        ],
        source=source,
    )


def _logistics_rows(table: Table, rows) -> Table:
    """Rows (key, orders, shipped, delivered, refused), most orders first (ties by key)."""
    for key, n, shipped, delivered, refused in sorted(rows, key=lambda r: (-r[1], r[0])):
        table.rows.append(
            {
                "key": key,
                "orders": n,
                "shipped": shipped,
                "delivered": delivered,
                "refused": refused,
                "delivery_rate": _div(delivered, shipped),
                "refusal_rate": _div(refused, shipped),
            }
        )
    return table


def logistics_stats(*, period: Period, by: str = "courier") -> Table:
    """Orders created in the period (merged excluded) by courier, status or province, from
    the order roll-up (grains ``courier``, ``status``, ``province``): shipped, delivered,
    refused (ever); delivery rate = delivered / shipped, refusal rate = refused / shipped.
    Equal to :func:`logistics_stats_raw` (the definition); couriers and provinces are keyed
    by name as there (two couriers of one name are one row)."""
    column = {"courier": "courier_id", "status": "status", "province": "province"}[by]
    rows = _fetch(
        f"SELECT {column}, sum(orders)::int, sum(shipped)::int, sum(delivered)::int, "
        "sum(refused_ever)::int FROM reports_orderhour "
        "WHERE grain = %(grain)s AND hour >= %(start)s AND hour < %(end)s GROUP BY 1",
        {"grain": by, "start": period.start, "end": period.end},
    )
    if by == "courier":
        names = _names("catalog_courier", [r[0] for r in rows])
    elif by == "province":
        names = dict(
            _fetch(
                "SELECT code, name FROM crm_division WHERE code = ANY(%s)",
                [[r[0] for r in rows if r[0] is not None]],
            )
        )
    merged: dict[str, list[int]] = {}
    for key, *counts in rows:
        label = key if by == "status" else names.get(key, "—")
        into = merged.setdefault(label, [0, 0, 0, 0])
        for i, v in enumerate(counts):
            into[i] += v
    return _logistics_rows(_logistics_table(by, "rollup"), [(k, *v) for k, v in merged.items()])


def logistics_stats_raw(*, period: Period, by: str = "courier") -> Table:
    """:func:`logistics_stats` straight from the orders (the definition; tests, checks)."""
    keys = {
        "courier": ("COALESCE(k.name, '—')", "LEFT JOIN catalog_courier k ON k.id = o.courier_id"),
        "status": ("o.status", ""),
        "province": ("COALESCE(d.name, '—')", "LEFT JOIN crm_division d ON d.code = o.province_id"),
    }
    key_sql, join = keys[by]
    rows = _fetch(
        f"SELECT {key_sql}, count(*)::int, "
        f"count(*) FILTER (WHERE o.status IN {rollups.SHIPPED})::int, "
        f"count(*) FILTER (WHERE {rollups.DELIVERED})::int, "
        f"count(*) FILTER (WHERE {rollups.REFUSED_EVER})::int "
        f"FROM orders_order o {join} WHERE o.created_at >= %(start)s AND o.created_at < %(end)s "
        "AND o.status <> 'merged' GROUP BY 1",
        {"start": period.start, "end": period.end},
        raw=True,
    )
    return _logistics_rows(_logistics_table(by, "raw"), rows)


def _finance_table(rows, source: str) -> Table:
    """Rows (courier, COD orders shipped, expected, received, paid orders), by courier."""
    table = Table(
        name="finance",
        title=str(_("Finance: COD expected and received")),
        columns=[
            Column("courier", _("Courier"), "text"),
            Column("orders", _("COD orders shipped")),
            Column("expected", _("COD expected"), "money"),
            Column("received", _("COD received"), "money"),
            Column("outstanding", _("Outstanding"), "money"),
            Column("paid_orders", _("Orders paid")),
            Column("received_rate", _("Received / expected"), "percent"),
        ],
        source=source,
    )
    for courier, n, expected, received, paid in sorted(rows, key=lambda r: r[0]):
        expected, received = Decimal(expected), Decimal(received)
        table.rows.append(
            {
                "courier": courier,
                "orders": n,
                "expected": expected,
                "received": received,
                "outstanding": expected - received,
                "paid_orders": paid,
                "received_rate": _div(received, expected),
            }
        )
    return table


def finance_stats(*, period: Period) -> Table:
    """COD expected (COD amount of shipped COD orders) vs received (payments recorded on
    them) per courier, orders created in the period, from the order roll-up (grain
    ``courier``). Equal to :func:`finance_stats_raw` (the definition)."""
    rows = _fetch(
        "SELECT courier_id, sum(cod_orders)::int, sum(cod_expected), sum(cod_received), "
        "sum(cod_paid_orders)::int FROM reports_orderhour WHERE grain = 'courier' "
        "AND hour >= %(start)s AND hour < %(end)s GROUP BY 1 HAVING sum(cod_orders) > 0",
        {"start": period.start, "end": period.end},
    )
    names = _names("catalog_courier", [r[0] for r in rows])
    merged: dict[str, list] = {}
    for courier, n, expected, received, paid in rows:
        into = merged.setdefault(names.get(courier, "—"), [0, Decimal("0"), Decimal("0"), 0])
        into[0] += n
        into[1] += expected
        into[2] += received
        into[3] += paid
    return _finance_table([(k, *v) for k, v in merged.items()], "rollup")


def finance_stats_raw(*, period: Period) -> Table:
    """:func:`finance_stats` straight from the orders (the definition; tests, checks)."""
    rows = _fetch(
        "SELECT COALESCE(k.name, '—'), count(*)::int, COALESCE(sum(o.cod_amount), 0), "
        "COALESCE(sum(o.paid_amount), 0), count(*) FILTER (WHERE o.payment_status = 'paid')::int "
        "FROM orders_order o LEFT JOIN catalog_courier k ON k.id = o.courier_id "
        f"WHERE o.payment_method = 'cod' AND o.status IN {rollups.SHIPPED} "
        "AND o.created_at >= %(start)s AND o.created_at < %(end)s GROUP BY 1",
        {"start": period.start, "end": period.end},
        raw=True,
    )
    return _finance_table(rows, "raw")


def pending_changes() -> int:
    """How many logged changes the roll-ups have not taken in yet (0: current)."""
    return _fetch("SELECT count(*) FROM reports_dirtyhour", [])[0][0]
