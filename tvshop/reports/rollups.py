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

from datetime import datetime, timedelta

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

ORDER_HOUR = (
    "DELETE FROM reports_orderhour WHERE hour = ANY(%(hours)s::timestamptz[]);"
    + HOURS
    + ", x AS (SELECT h.hour, COALESCE(oc.station_id, fc.station_id, o.station_id) AS station_id, "
    "o.agent_id, o.status, o.payment_status, o.payment_method, o.total, o.cod_amount, "
    "o.paid_amount, " + DELIVERED + " AS delivered "
    "FROM h JOIN orders_order o "
    "ON o.created_at >= h.hour AND o.created_at < h.hour + interval '1 hour' "
    "AND o.created_at >= %(low)s AND o.created_at < %(high)s "
    + ORDER_STATION
    + "WHERE o.status <> 'merged') "
    "INSERT INTO reports_orderhour (hour, grain, station_id, agent_id, orders, approved, "
    "shipped, delivered, refused, paid, total_sum, revenue, cod_expected, cod_received) "
    "SELECT hour, CASE WHEN GROUPING(station_id) = 0 THEN 'station' ELSE 'agent' END, "
    "CASE WHEN GROUPING(station_id) = 0 THEN station_id END, "
    "CASE WHEN GROUPING(agent_id) = 0 THEN agent_id END, count(*), "
    f"count(*) FILTER (WHERE status IN {APPROVED}), "
    f"count(*) FILTER (WHERE status IN {SHIPPED}), "
    "count(*) FILTER (WHERE delivered), count(*) FILTER (WHERE status = 'refused'), "
    "count(*) FILTER (WHERE payment_status = 'paid'), COALESCE(sum(total), 0), "
    "COALESCE(sum(total) FILTER (WHERE delivered), 0), "
    f"COALESCE(sum(cod_amount) FILTER (WHERE status IN {SHIPPED}), 0), "
    "COALESCE(sum(paid_amount) FILTER (WHERE payment_method = 'cod'), 0) "
    "FROM x GROUP BY GROUPING SETS ((hour, station_id), (hour, agent_id))"
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

# The calls of the given slots: inside the slot's window and not claimed by a later slot.
SLOT_CALLS = (
    'sl AS (SELECT id, station_id, start, "end" FROM media_airingslot '
    "WHERE id = ANY(%(slots)s::bigint[])), "
    # LATERAL: one range scan of the (station_id, created_at) index per slot; a plain join
    # let the planner scan all calls.
    "cs AS (SELECT sl.id AS slot_id, c.id, c.uuid, c.caller, c.customer_id, c.created_at, "
    "c.answered_at, c.outcome FROM sl CROSS JOIN LATERAL (SELECT c.id, c.uuid, c.caller, "
    "c.customer_id, c.created_at, c.answered_at, c.outcome FROM telephony_call c "
    "WHERE c.station_id = sl.station_id AND c.direction = 'inbound' "
    "AND c.created_at >= sl.start "
    "AND c.created_at < sl.\"end\" + %(window)s * interval '1 minute') c "
    "WHERE NOT EXISTS (SELECT 1 FROM media_airingslot s2 WHERE s2.station_id = sl.station_id "
    "AND (s2.start > sl.start OR (s2.start = sl.start AND s2.id < sl.id)) "
    "AND s2.start <= c.created_at "
    "AND c.created_at < s2.\"end\" + %(window)s * interval '1 minute')) "
)
# Orders of those calls: by call_uuid, or (no such call) the customer's first call within
# the window before the order.
SLOT_ORDERS = (
    # two exclusive branches as UNION ALL (an OR in one join condition defeats the indexes)
    "os AS (SELECT cs.slot_id, o.id, o.status, o.total, "
    + DELIVERED
    + " AS delivered FROM cs JOIN orders_order o ON o.call_uuid = cs.uuid "
    "WHERE cs.uuid <> '' AND o.status <> 'merged' "
    "UNION ALL SELECT cs.slot_id, o.id, o.status, o.total, "
    + DELIVERED
    + " AS delivered FROM cs JOIN orders_order o ON o.customer_id = cs.customer_id "
    "AND o.created_at >= cs.created_at "
    "AND o.created_at <= cs.created_at + %(window)s * interval '1 minute' "
    "WHERE cs.customer_id IS NOT NULL AND o.status <> 'merged' "
    "AND NOT EXISTS (SELECT 1 FROM telephony_call k WHERE o.call_uuid <> '' "
    "AND k.uuid = o.call_uuid) "
    "AND NOT EXISTS (SELECT 1 FROM telephony_call e WHERE e.customer_id = o.customer_id "
    "AND e.direction = 'inbound' "
    "AND e.created_at >= o.created_at - %(window)s * interval '1 minute' "
    "AND (e.created_at < cs.created_at OR (e.created_at = cs.created_at AND e.id < cs.id)))) "
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

CALL_TABLES = [STATION_HOUR, STATION_MINUTE, QUEUE_HOUR, AGENT_HOUR]
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
            params = _params(call_hours)
            for sql in CALL_TABLES:
                _run(cursor, sql, params)
        if call_hours and follow_orders:
            cursor.execute(ORDER_HOURS_OF_CALL_HOURS, _params(call_hours))
            order_hours = sorted(set(order_hours) | {r[0] for r in cursor.fetchall()})
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
        found = [r[0] for r in cursor.fetchall()]
        if found:
            params["slots"] = found
            _run(cursor, SLOT_STAT, params)
    return found


def rollup_all_slots(*, batch: int = 500) -> int:
    """Recompute the statistics of every airing slot (rebuild)."""
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL jit = off")
        cursor.execute("DELETE FROM reports_slotstat")
        cursor.execute("SELECT id FROM media_airingslot ORDER BY id")
        ids = [r[0] for r in cursor.fetchall()]
        params = _params([])
        for i in range(0, len(ids), batch):
            params["slots"] = ids[i : i + batch]
            _run(cursor, SLOT_STAT, params)
    return len(ids)
