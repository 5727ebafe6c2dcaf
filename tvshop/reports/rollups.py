# ruff: noqa: S608 — SQL is assembled from module constants only; values are bound.
"""The roll-up SQL: one set-based DELETE + INSERT … SELECT … GROUP BY per table and hour set.

Definitions (domain.md, made exact; docs/decisions.md "Statistics" repeats them):

* bucket: the hour (UTC-truncated; Asia/Shanghai has whole-hour offsets, so a local day is
  24 of them) of ``telephony_call.created_at`` — the moment the call reached the switch —
  or of ``orders_order.created_at``. A call across midnight counts in the day it started,
  with all of its waiting and talking.
* queue statistics count inbound calls that entered a queue (``queued_at`` set):
  - inbound: those calls; answered: ``answered_at`` set;
  - wait of an answered call: ``answered_at − queued_at``; of an abandoned call:
    ``ended_at − queued_at``; average wait = Σ wait(answered) / answered; longest wait =
    max over answered and abandoned calls;
  - talk: ``ended_at − answered_at`` of answered calls that ended (calls in progress are
    not in the talk average); speed of answer: ``answered_at − offered_at`` (the last offer:
    after a RONA the call is offered again and the answering agent's phone rang then);
  - abandoned: outcome ``abandoned``; counted abandons: abandoned with wait ≥ the
    threshold (a caller who hung up before the threshold is not counted); abandon rate =
    counted abandons / inbound; average abandon time = Σ wait(abandoned) / abandoned;
  - RONA: calls with ``ring_no_answer_count`` > 0 (also the number of RONA events);
  - service level = answered with wait ≤ target / answered; "answered within T / offered"
    uses inbound (offered to the queue) as the denominator;
  - transfers (``transferred``) and overflow captures are counted alongside.
* station statistics count every inbound call of the station (``telephony_call.station_id``).
* agent statistics: the call's last agent (``agent_id``); inbound answered, their talk, and
  outbound calls (answered: ``answered_at`` set) with their talk.
* orders (merged orders excluded) belong to a station through their call (``call_uuid``), or
  else the first call of their customer within the attribution window before the order,
  or else the station entered on the order.
"""

from __future__ import annotations

import math
import sys
from array import array
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_lazy as _

from tvshop.reports.conf import reports_conf

ATTRIBUTION = _(
    "A call belongs to the station of the hotline it dialled, and to that station's airing "
    "slot that was on air when the call arrived or had ended at most %(window)s minutes "
    "before; if several match, the slot that started last. An order belongs to its call, "
    "or else to the first call of its customer within %(window)s minutes before the order."
)


def secs(later: str, earlier: str) -> str:
    """Seconds from ``earlier`` to ``later`` (never negative); NULL when either is NULL."""
    return (
        f"CASE WHEN {later} IS NOT NULL AND {earlier} IS NOT NULL "
        f"THEN GREATEST(0, EXTRACT(EPOCH FROM {later} - {earlier}))::float8 END"
    )


HOURS = "WITH h AS (SELECT unnest(%(hours)s::timestamptz[]) AS hour) "
# The outer range (%(low)s, %(high)s: the first and last hour) lets the planner use the
# created_at index instead of scanning the table for an unknown set of hours.
CALLS_IN_HOURS = (
    "FROM h JOIN telephony_call c "
    "ON c.created_at >= h.hour AND c.created_at < h.hour + interval '1 hour' "
    "AND c.created_at >= %(low)s AND c.created_at < %(high)s "
)

# the same rows from the temporary copy made by ``rollup_hours`` (``h.hour``: the call's)
FROM_REP_CALLS = "FROM rep_calls c CROSS JOIN LATERAL (SELECT c.hour) h "

APPROVED = "('second_approved','exported','shipped','delivered','refused','returned')"
SHIPPED = "('shipped','delivered','refused','returned')"

STATION_HOUR = (
    "DELETE FROM reports_stationhour WHERE hour = ANY(%(hours)s::timestamptz[]);"
    + HOURS
    + "INSERT INTO reports_stationhour "
    "(hour, station_id, calls, answered, abandoned, overflow, rejected, in_progress) "
    "SELECT h.hour, c.station_id, count(*), count(c.answered_at), "
    "count(*) FILTER (WHERE c.outcome = 'abandoned'), "
    "count(*) FILTER (WHERE c.outcome = 'overflow'), "
    "count(*) FILTER (WHERE c.outcome = 'rejected'), "
    "count(*) FILTER (WHERE c.outcome = 'in_progress') "
    + CALLS_IN_HOURS
    + "WHERE c.direction = 'inbound' GROUP BY h.hour, c.station_id"
)

STATION_MINUTE = (
    "DELETE FROM reports_stationminute m USING unnest(%(hours)s::timestamptz[]) AS h(hour) "
    "WHERE m.minute >= h.hour AND m.minute < h.hour + interval '1 hour';"
    + HOURS
    + "INSERT INTO reports_stationminute (minute, station_id, calls, answered) "
    "SELECT date_trunc('minute', c.created_at, 'UTC'), c.station_id, count(*), "
    "count(c.answered_at) " + CALLS_IN_HOURS + "WHERE c.direction = 'inbound' GROUP BY 1, 2"
)

QUEUE_ROWS = (
    ", q AS (SELECT h.hour, c.queue, c.hotline_id, c.station_id, c.outcome, "
    "c.answered_at, c.ring_no_answer_count AS rona, c.transferred, "
    f"{secs('c.answered_at', 'c.queued_at')} AS wait_ans, "
    "CASE WHEN c.outcome = 'abandoned' AND c.answered_at IS NULL AND c.ended_at IS NOT NULL "
    f"THEN {secs('c.ended_at', 'c.queued_at')} END AS wait_ab, "
    f"{secs('c.ended_at', 'c.answered_at')} AS talk, "
    f"{secs('c.answered_at', 'c.offered_at')} AS soa "
    + CALLS_IN_HOURS
    + "WHERE c.direction = 'inbound' AND c.queued_at IS NOT NULL) "
)
QUEUE_AGGREGATE = (
    "SELECT hour, queue, hotline_id, station_id, count(*) AS inbound, "
    "count(answered_at) AS answered, "
    "COALESCE(sum(wait_ans), 0) AS wait_answered_sum, "
    "max(COALESCE(wait_ans, wait_ab)) AS wait_max, count(talk) AS talk_count, "
    "COALESCE(sum(talk), 0) AS talk_sum, count(soa) AS soa_count, "
    "COALESCE(sum(soa), 0) AS soa_sum, count(wait_ab) AS abandoned, "
    "count(*) FILTER (WHERE wait_ab >= %(threshold)s) AS abandoned_counted, "
    "COALESCE(sum(wait_ab), 0) AS abandon_wait_sum, "
    "count(*) FILTER (WHERE rona > 0) AS rona_calls, COALESCE(sum(rona), 0) AS rona_events, "
    "count(*) FILTER (WHERE wait_ans <= %(target)s) AS answered_within_target, "
    "count(*) FILTER (WHERE transferred) AS transferred, "
    "count(*) FILTER (WHERE outcome = 'overflow') AS overflow, "
    "%(threshold)s AS threshold_seconds, %(target)s AS target_seconds "
    "FROM q GROUP BY hour, queue, hotline_id, station_id"
)
QUEUE_HOUR = (
    "DELETE FROM reports_queuehour WHERE hour = ANY(%(hours)s::timestamptz[]);"
    + HOURS
    + QUEUE_ROWS
    + "INSERT INTO reports_queuehour (hour, queue, hotline_id, station_id, inbound, answered, "
    "wait_answered_sum, wait_max, talk_count, talk_sum, soa_count, soa_sum, abandoned, "
    "abandoned_counted, abandon_wait_sum, rona_calls, rona_events, answered_within_target, "
    "transferred, overflow, threshold_seconds, target_seconds) " + QUEUE_AGGREGATE
)
# The same rows straight from the calls of [start, end), for other thresholds/targets.
QUEUE_RAW = (
    "(WITH h AS (SELECT generate_series(%(start)s::timestamptz, "
    "%(end)s::timestamptz - interval '1 hour', interval '1 hour') AS hour) "
    + QUEUE_ROWS
    + QUEUE_AGGREGATE
    + ") r"
)

AGENT_HOUR = (
    "DELETE FROM reports_agenthour WHERE hour = ANY(%(hours)s::timestamptz[]);"
    + HOURS
    + ", a AS (SELECT h.hour, c.agent_id, c.direction, c.answered_at, c.transferred, "
    f"{secs('c.ended_at', 'c.answered_at')} AS talk "
    + CALLS_IN_HOURS
    + "WHERE c.agent_id IS NOT NULL) "
    "INSERT INTO reports_agenthour (hour, agent_id, inbound_answered, inbound_talk_sum, "
    "outbound_calls, outbound_answered, outbound_talk_sum, transferred) "
    "SELECT hour, agent_id, "
    "count(answered_at) FILTER (WHERE direction = 'inbound'), "
    "COALESCE(sum(talk) FILTER (WHERE direction = 'inbound'), 0), "
    "count(*) FILTER (WHERE direction = 'outbound'), "
    "count(answered_at) FILTER (WHERE direction = 'outbound'), "
    "COALESCE(sum(talk) FILTER (WHERE direction = 'outbound'), 0), "
    "count(*) FILTER (WHERE transferred) "
    "FROM a GROUP BY hour, agent_id"
)

# The station an order belongs to (see the module docstring), as a lateral join on ``o``.
ORDER_STATION = (
    "LEFT JOIN telephony_call oc ON o.call_uuid <> '' AND oc.uuid = o.call_uuid "
    "LEFT JOIN LATERAL (SELECT f.station_id FROM telephony_call f "
    "WHERE oc.id IS NULL AND f.customer_id = o.customer_id AND f.direction = 'inbound' "
    "AND f.created_at >= o.created_at - %(window)s * interval '1 minute' "
    "AND f.created_at <= o.created_at ORDER BY f.created_at, f.id LIMIT 1) fc ON true "
)
DELIVERED = (
    "(o.status = 'delivered' OR EXISTS (SELECT 1 FROM orders_orderstatuschange d "
    "WHERE d.order_id = o.id AND d.to_status = 'delivered'))"
)

# An order refused at some point (refused now, or a logged change to refused: a refused
# order that was later returned still counts as refused in the logistics statistics).
REFUSED_EVER = (
    "(o.status = 'refused' OR EXISTS (SELECT 1 FROM orders_orderstatuschange r "
    "WHERE r.order_id = o.id AND r.to_status = 'refused'))"
)
# COD orders that went out: the finance statistics (expected vs received per courier)
COD_SHIPPED = f"(payment_method = 'cod' AND status IN {SHIPPED})"

# one grain per dimension (see ``OrderHour``); GROUPING() tells which set a row comes from
ORDER_HOUR = (
    "DELETE FROM reports_orderhour WHERE hour = ANY(%(hours)s::timestamptz[]);"
    + HOURS
    + ", x AS (SELECT h.hour, COALESCE(oc.station_id, fc.station_id, o.station_id) AS station_id, "
    "o.agent_id, o.courier_id, o.province_id, o.status, o.payment_status, o.payment_method, "
    "o.total, o.cod_amount, o.paid_amount, "
    + DELIVERED
    + " AS delivered, "
    + REFUSED_EVER
    + " AS refused_ever "
    "FROM h JOIN orders_order o "
    "ON o.created_at >= h.hour AND o.created_at < h.hour + interval '1 hour' "
    "AND o.created_at >= %(low)s AND o.created_at < %(high)s "
    + ORDER_STATION
    + "WHERE o.status <> 'merged') "
    "INSERT INTO reports_orderhour (hour, grain, station_id, agent_id, courier_id, province, "
    "status, orders, approved, shipped, delivered, refused, refused_ever, paid, total_sum, "
    "revenue, cod_orders, cod_expected, cod_received, cod_paid_orders) "
    "SELECT hour, CASE WHEN GROUPING(station_id) = 0 THEN 'station' "
    "WHEN GROUPING(agent_id) = 0 THEN 'agent' WHEN GROUPING(courier_id) = 0 THEN 'courier' "
    "WHEN GROUPING(province_id) = 0 THEN 'province' ELSE 'status' END, "
    # outside its own grouping set a dimension column is NULL
    "station_id, agent_id, courier_id, province_id, status, count(*), "
    f"count(*) FILTER (WHERE status IN {APPROVED}), "
    f"count(*) FILTER (WHERE status IN {SHIPPED}), "
    "count(*) FILTER (WHERE delivered), count(*) FILTER (WHERE status = 'refused'), "
    "count(*) FILTER (WHERE refused_ever), "
    "count(*) FILTER (WHERE payment_status = 'paid'), COALESCE(sum(total), 0), "
    "COALESCE(sum(total) FILTER (WHERE delivered), 0), "
    f"count(*) FILTER (WHERE {COD_SHIPPED}), "
    f"COALESCE(sum(cod_amount) FILTER (WHERE {COD_SHIPPED}), 0), "
    f"COALESCE(sum(paid_amount) FILTER (WHERE {COD_SHIPPED}), 0), "
    f"count(*) FILTER (WHERE {COD_SHIPPED} AND payment_status = 'paid') "
    "FROM x GROUP BY GROUPING SETS ((hour, station_id), (hour, agent_id), (hour, courier_id), "
    "(hour, province_id), (hour, status))"
)

# Order hours whose attribution may change when calls of these hours change: orders up to
# a window after the hour (the customer's first call), and the orders of those calls.
ORDER_HOURS_OF_CALL_HOURS = (
    HOURS + "SELECT gs FROM h, generate_series(h.hour, h.hour + interval '1 hour' "
    "+ %(window)s * interval '1 minute', interval '1 hour') AS gs "
    "UNION SELECT date_trunc('hour', o.created_at, 'UTC') "
    + CALLS_IN_HOURS
    + "JOIN orders_order o ON o.call_uuid = c.uuid WHERE c.uuid <> ''"
)

# Slots touched by a set of hours: their attribution window overlaps one of the hours
# widened by the window (an order may point back to a call up to a window earlier).
SLOTS_OF_HOURS = (
    HOURS + "SELECT DISTINCT s.id FROM h JOIN media_airingslot s "
    "ON s.start < h.hour + interval '1 hour' + %(window)s * interval '1 minute' "
    "AND s.\"end\" + %(window)s * interval '1 minute' > h.hour - %(window)s * interval '1 minute'"
)

# Slots of the calls that orders of these hours name: an order entered (or delivered) hours
# after its call changes the call's slot, which the window around the order's hour misses.
SLOTS_OF_ORDER_CALLS = (
    HOURS + "SELECT DISTINCT s.id FROM h JOIN orders_order o "
    "ON o.created_at >= h.hour AND o.created_at < h.hour + interval '1 hour' "
    "AND o.created_at >= %(low)s AND o.created_at < %(high)s "
    "JOIN telephony_call c ON o.call_uuid <> '' AND c.uuid = o.call_uuid "
    "JOIN media_airingslot s ON s.station_id = c.station_id AND s.start <= c.created_at "
    "AND c.created_at < s.\"end\" + %(window)s * interval '1 minute'"
)

# The calls of the given slots: inside the slot's window and not claimed by a later slot.
W = "%(window)s * interval '1 minute'"
# ``OFFSET 0`` in a LATERAL subquery keeps it a per-row index scan: without it PostgreSQL
# may pull the subquery up into a hash join that reads every call or order (measured: a
# one-hour refresh read all of telephony_call and orders_order, 16.6 s at 10M calls).
SLOT_CALLS = (
    'sl AS (SELECT id, station_id, start, "end" FROM media_airingslot '
    "WHERE id = ANY(%(slots)s::bigint[])), "
    # the later slots that could claim a call of sl: they start before sl's window ends
    'lt AS MATERIALIZED (SELECT sl.id AS slot_id, s2.start, s2."end" FROM sl '
    'CROSS JOIN LATERAL (SELECT s2.start, s2."end" FROM media_airingslot s2 '
    "WHERE s2.station_id = sl.station_id AND s2.start >= sl.start "
    f'AND s2.start < sl."end" + {W} '
    "AND (s2.start > sl.start OR s2.id < sl.id) OFFSET 0) s2), "
    # one range scan of the (station_id, created_at) index per slot
    "cs AS MATERIALIZED (SELECT sl.id AS slot_id, c.id, c.uuid, c.caller, c.customer_id, "
    "c.created_at, c.answered_at, c.outcome FROM sl CROSS JOIN LATERAL (SELECT c.id, c.uuid, "
    "c.caller, c.customer_id, c.created_at, c.answered_at, c.outcome FROM telephony_call c "
    "WHERE c.station_id = sl.station_id AND c.direction = 'inbound' "
    f'AND c.created_at >= sl.start AND c.created_at < sl."end" + {W} OFFSET 0) c '
    "WHERE NOT EXISTS (SELECT 1 FROM lt WHERE lt.slot_id = sl.id "
    f'AND lt.start <= c.created_at AND c.created_at < lt."end" + {W})) '
)
# Orders of those calls: by call_uuid, or (no such call) the customer's first call within
# the window before the order.
SLOT_ORDERS = (
    # two exclusive branches as UNION ALL (an OR in one join condition defeats the indexes)
    "os AS (SELECT cs.slot_id, o.id, o.status, o.total, o.delivered FROM cs "
    "CROSS JOIN LATERAL (SELECT o.id, o.status, o.total, "
    + DELIVERED
    + " AS delivered FROM orders_order o WHERE o.call_uuid = cs.uuid "
    "AND o.status <> 'merged' OFFSET 0) o WHERE cs.uuid <> '' "
    "UNION ALL SELECT cs.slot_id, o.id, o.status, o.total, o.delivered FROM cs "
    "CROSS JOIN LATERAL (SELECT o.id, o.status, o.total, "
    + DELIVERED
    + " AS delivered FROM orders_order o WHERE o.customer_id = cs.customer_id "
    "AND o.created_at >= cs.created_at "
    f"AND o.created_at <= cs.created_at + {W} AND o.status <> 'merged' "
    "AND NOT EXISTS (SELECT 1 FROM telephony_call k WHERE o.call_uuid <> '' "
    "AND k.uuid = o.call_uuid) "
    "AND NOT EXISTS (SELECT 1 FROM telephony_call e WHERE e.customer_id = o.customer_id "
    "AND e.direction = 'inbound' "
    f"AND e.created_at >= o.created_at - {W} "
    "AND (e.created_at < cs.created_at OR (e.created_at = cs.created_at AND e.id < cs.id))) "
    "OFFSET 0) o WHERE cs.customer_id IS NOT NULL) "
)

SLOT_STAT = (
    "DELETE FROM reports_slotstat WHERE slot_id = ANY(%(slots)s::bigint[]);"
    "WITH "
    + SLOT_CALLS
    + ", "
    + SLOT_ORDERS
    + ", cagg AS (SELECT slot_id, count(*) AS calls, count(DISTINCT caller) AS callers, "
    "count(answered_at) AS answered, count(*) FILTER (WHERE outcome = 'overflow') AS overflow "
    "FROM cs GROUP BY slot_id), "
    "oagg AS (SELECT slot_id, count(*) AS orders, "
    f"count(*) FILTER (WHERE status IN {APPROVED}) AS approved, "
    "count(*) FILTER (WHERE delivered) AS delivered, "
    "COALESCE(sum(total) FILTER (WHERE delivered), 0) AS revenue FROM os GROUP BY slot_id) "
    "INSERT INTO reports_slotstat (slot_id, station_id, start, calls, unique_callers, answered, "
    "overflow, callbacks_done, orders, approved, delivered, revenue, window_minutes) "
    "SELECT sl.id, sl.station_id, sl.start, COALESCE(cagg.calls, 0), COALESCE(cagg.callers, 0), "
    "COALESCE(cagg.answered, 0), COALESCE(cagg.overflow, 0), 0, COALESCE(oagg.orders, 0), "
    "COALESCE(oagg.approved, 0), COALESCE(oagg.delivered, 0), COALESCE(oagg.revenue, 0), "
    "%(window)s FROM sl LEFT JOIN cagg ON cagg.slot_id = sl.id "
    "LEFT JOIN oagg ON oagg.slot_id = sl.id"
)

# -- unique callers per station over any period: HyperLogLog sketches ----------------------
# p = 10: 1024 registers (standard error 1.04/sqrt(1024) = 3.25 %; counts up to 2.5 x 1024
# use linear counting, far closer). The register of a caller is the low 10 bits of the
# 64-bit hashtextextended(caller); its value the position of the lowest set bit of the
# next 32 bits (1..32, capped at 32). Each register is 32 bits in unary, so the union of
# sketches is bit_or. See docs/decisions.md "Unique callers".
SKETCH_P = 10
SKETCH_REGISTERS = 1 << SKETCH_P
SKETCH_WIDTH = 32
_W = f"((x.v >> {SKETCH_P}) & 4294967295)"
SKETCH_ROWS = (
    "r AS (SELECT {bucket} AS b, c.station_id, "
    f"(x.v & {SKETCH_REGISTERS - 1})::int AS idx, "
    f"max(CASE WHEN {_W} = 0 THEN {SKETCH_WIDTH} "
    f"ELSE LEAST({SKETCH_WIDTH}, 1 + round(ln(({_W} & -{_W})::float8) / ln(2))::int) END) "
    "AS rank {source} CROSS JOIN LATERAL (SELECT hashtextextended(c.caller, 0) AS v) x "
    "WHERE c.direction = 'inbound' AND c.station_id IS NOT NULL {where} GROUP BY 1, 2, 3) "
)
# one bit string per (bucket, station) from the registers r(b, station_id, idx, rank)
# one bit string per (bucket, station) from its non-zero registers r(b, station_id, idx,
# rank), in register order: the zeros of the registers skipped since the previous one, then
# this register in unary; zeros after the last (no join with all 1,024 registers: that
# was 8 s for one busy hour)
SKETCH_BUILD = (
    "SELECT b, station_id, (string_agg(repeat('0', "
    f"{SKETCH_WIDTH} * (idx - prev - 1)) || lpad(repeat('1', rank), {SKETCH_WIDTH}, '0'), '' "
    f"ORDER BY idx) || repeat('0', {SKETCH_WIDTH} * ({SKETCH_REGISTERS - 1} - max(idx))))"
    "::varbit AS sketch FROM (SELECT b, station_id, idx, rank, "
    "lag(idx, 1, -1) OVER (PARTITION BY b, station_id ORDER BY idx) AS prev FROM r) x "
    "GROUP BY b, station_id"
)
CALLER_HOUR = (
    "DELETE FROM reports_callerhour WHERE hour = ANY(%(hours)s::timestamptz[]);"
    + HOURS
    + ", "
    + SKETCH_ROWS.format(bucket="h.hour", source=CALLS_IN_HOURS, where="")
    + "INSERT INTO reports_callerhour (hour, station_id, sketch) "
    + SKETCH_BUILD
)
# the local days of the dirty hours, as the union of their hour sketches
CALLER_DAY = (
    "DELETE FROM reports_callerday WHERE day = ANY(%(days)s::date[]);"
    "INSERT INTO reports_callerday (day, station_id, sketch) "
    "SELECT (hour AT TIME ZONE %(tz)s)::date, station_id, bit_or(sketch) "
    "FROM reports_callerhour WHERE hour >= %(day_low)s AND hour < %(day_high)s "
    "AND (hour AT TIME ZONE %(tz)s)::date = ANY(%(days)s::date[]) GROUP BY 1, 2"
)
# The same sketch straight from the raw calls of [start, end) (tests, checks).
CALLER_RAW = (
    "WITH "
    + SKETCH_ROWS.format(
        bucket="0",
        source="FROM telephony_call c",
        where="AND c.created_at >= %(start)s AND c.created_at < %(end)s",
    )
    + ", s AS ("
    + SKETCH_BUILD
    + ") SELECT station_id, sketch::text FROM s"
)


_INV = {(1 << r) - 1: 2.0**-r for r in range(SKETCH_WIDTH + 1)}


def sketch_bytes(bits: str | bytes | memoryview) -> bytes:
    """A sketch as bytes: from its text (``'0101…'``) or from ``varbit_send`` (a 4-byte
    bit count, then the bits)."""
    if isinstance(bits, str):
        return int(bits, 2).to_bytes(len(bits) // 8, "big")
    return bytes(bits[4:])


def sketch_union(sketches) -> bytes | None:
    """The union (bitwise or) of sketches given as bytes."""
    sketches = [s for s in sketches if s]
    if not sketches:
        return None
    merged = 0
    for s in sketches:
        merged |= int.from_bytes(s, "big")
    return merged.to_bytes(len(sketches[0]), "big")


def _words(bits: str | bytes) -> array:
    """The 32-bit register words of a sketch (text, or bytes from :func:`sketch_bytes`)."""
    words = array("I")
    assert words.itemsize == 4
    words.frombytes(sketch_bytes(bits) if isinstance(bits, str) else bits)
    if sys.byteorder == "little":
        words.byteswap()
    return words


def sketch_registers(bits: str | bytes) -> list[int]:
    """The register values of a sketch."""
    return [w.bit_count() for w in _words(bits)]


def sketch_estimate(bits: str | bytes | None) -> int:
    """HyperLogLog estimate of the distinct callers in a sketch (Flajolet et al. 2007, with
    linear counting below 2.5 m). A register is ``2**r − 1`` (unary), so Σ 2^−r is a
    lookup per word."""
    if not bits:
        return 0
    words = _words(bits)
    m = len(words)
    estimate = 0.7213 / (1 + 1.079 / m) * m * m / sum(map(_INV.__getitem__, words))
    zeros = words.count(0)
    if estimate <= 2.5 * m and zeros:
        estimate = m * math.log(m / zeros)
    return round(estimate)


# the error stated with every estimate: two standard errors (95 % of counts)
SKETCH_ERROR = round(2 * 1.04 / math.sqrt(SKETCH_REGISTERS), 3)


CALL_TABLES = [STATION_HOUR, STATION_MINUTE, QUEUE_HOUR, AGENT_HOUR, CALLER_HOUR]
ORDER_TABLES = [ORDER_HOUR]


def _params(hours: list[datetime]) -> dict:
    conf = reports_conf()
    return {
        "hours": list(hours),
        "low": min(hours) if hours else None,
        "high": max(hours) + timedelta(hours=1) if hours else None,
        "threshold": conf.abandon_threshold_seconds,
        "target": conf.service_level_seconds,
        "window": conf.attribution_window_minutes,
    }


def _day_params(hours: list[datetime]) -> dict:
    """The local days of these hours, and the UTC range of their hours."""
    local = ZoneInfo(settings.TIME_ZONE)
    days = sorted({h.astimezone(local).date() for h in hours})
    return {
        "days": days,
        "tz": settings.TIME_ZONE,
        "day_low": datetime.combine(days[0], time(), tzinfo=local),
        "day_high": datetime.combine(days[-1] + timedelta(days=1), time(), tzinfo=local),
    }


def _run(cursor, sql: str, params: dict) -> None:
    for statement in sql.split(";"):
        cursor.execute(statement, params)


def rollup_hours(
    *,
    call_hours: list[datetime],
    order_hours: list[datetime],
    slot_hours: list[datetime],
    slots: bool = True,
    follow_orders: bool = True,
) -> list[int]:
    """Recompute the roll-ups of these hours and (``slots``) the airing slots they touch
    (slot hours: a slot was added, moved or deleted then). Returns the slots recomputed."""
    with connection.cursor() as cursor:
        # JIT compiling costs seconds here and these statements run for milliseconds
        cursor.execute("SET LOCAL jit = off")
        if call_hours:
            # the calls of these hours read once (one index range scan of telephony_call)
            # into a temporary table that every per-hour roll-up then reads
            params = _params(call_hours)
            cursor.execute("DROP TABLE IF EXISTS rep_calls")
            cursor.execute(
                HOURS + "SELECT h.hour, c.* INTO TEMPORARY TABLE rep_calls " + CALLS_IN_HOURS,
                params,
            )
            for sql in CALL_TABLES:
                _run(cursor, sql.replace(CALLS_IN_HOURS, FROM_REP_CALLS), params)
            _run(cursor, CALLER_DAY, _day_params(call_hours))
            if follow_orders:
                cursor.execute(
                    ORDER_HOURS_OF_CALL_HOURS.replace(CALLS_IN_HOURS, FROM_REP_CALLS), params
                )
                order_hours = sorted(set(order_hours) | {r[0] for r in cursor.fetchall()})
            cursor.execute("DROP TABLE rep_calls")
        if order_hours:
            params = _params(order_hours)
            for sql in ORDER_TABLES:
                _run(cursor, sql, params)
        all_hours = sorted(set(call_hours) | set(order_hours) | set(slot_hours))
        if not slots or not all_hours:
            return []
        if slot_hours:
            cursor.execute(
                "DELETE FROM reports_slotstat r WHERE NOT EXISTS "
                "(SELECT 1 FROM media_airingslot s WHERE s.id = r.slot_id)"
            )
        params = _params(all_hours)
        cursor.execute(SLOTS_OF_HOURS, params)
        found = {r[0] for r in cursor.fetchall()}
        if order_hours:
            cursor.execute(SLOTS_OF_ORDER_CALLS, _params(order_hours))
            found |= {r[0] for r in cursor.fetchall()}
        found = sorted(found)
        if found:
            params["slots"] = found
            _run(cursor, SLOT_STAT, params)
    return found


def rollup_all_slots(*, batch: int = 500) -> int:
    """Recompute the statistics of every airing slot (rebuild)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("DELETE FROM reports_slotstat")
        cursor.execute("SELECT id FROM media_airingslot ORDER BY station_id, start, id")
        ids = [r[0] for r in cursor.fetchall()]
        params = _params([])
        for i in range(0, len(ids), batch):
            params["slots"] = ids[i : i + batch]
            _run(cursor, SLOT_STAT, params)
    return len(ids)
