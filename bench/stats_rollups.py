"""Statistics on 10,000,000 calls: the station curve and KPI tables through the app.

Run it with ``make bench BENCH=stats_rollups`` (``BENCH_DATABASE_URL``, by default
``postgres://postgres@127.0.0.1:5432/tvshop_bench``), or by hand::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tvshop_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 SECRET_KEY=x DEBUG=0 ALLOWED_HOSTS=localhost \\
    .venv/bin/python -m bench.run stats_rollups

Data (generated once, server-side ``INSERT … SELECT generate_series`` in chunks, triggers
and foreign-key checks off for the load via ``session_replication_role``; then the roll-ups
are rebuilt from scratch and that time is reported): 50 TV stations ``bench-st-NN`` with one
hotline and queue each, 6 five-minute airing slots per station per day, 30 days, calls
``sr-<n>`` (70% in the 35 minutes after a slot starts, 30% spread over the day; 3%
outbound; outcomes answered/abandoned/overflow/rejected), one order per eighth answered
call from a pool of 100,000 bench customers. Everything is marked (``sr-``, ``bench-``) so
other benchmarks' data (the 1,000,000 customers) stays. ``BENCH_STATS_CALLS`` sets the
size; ``BENCH_STATS_MAX_LOAD_SECONDS`` stops the load early (then ``met`` is false: the
asked size was not reached).

Measured through the app (Django test client, logged-in supervisor, DEBUG off), p50/p99:
the station curve for 7 days × 50 stations by hour (``/reports/curve/``), the queue KPI
page for a month, the media page (efficiency table, slots, day curve) for a month. Floor:
the same numbers read from the roll-up tables with one SQL statement on a bare psycopg
connection (for the curve: the very statement the app runs). Also the raw GROUP BY over
the calls table (a few runs), refreshing one hour, and rebuilding every roll-up from
scratch.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from zoneinfo import ZoneInfo

import psycopg
from django.db import connection

from bench.common import percentile, row, write_results
from bench.database import conninfo, ensure_bench_database

NAME = "stats_rollups"
ISSUE_CALLS = 10_000_000
TARGET_CALLS = int(os.environ.get("BENCH_STATS_CALLS", str(ISSUE_CALLS)))
MAX_LOAD_SECONDS = float(os.environ.get("BENCH_STATS_MAX_LOAD_SECONDS", "3600"))
CHUNK = 500_000
STATIONS = 50
DAYS = 30
SLOTS_PER_DAY = 6
CUSTOMERS = 100_000
LOCAL = ZoneInfo("Asia/Shanghai")
BASE = dt.datetime(2026, 10, 1, tzinfo=LOCAL)
SAMPLES = {"curve": 200, "queue": 60, "media": 40}

TYPE_DEFAULTS = {
    "character varying": "''",
    "text": "''",
    "integer": "0",
    "bigint": "0",
    "smallint": "0",
    "numeric": "0",
    "double precision": "0",
    "boolean": "false",
    "timestamp with time zone": "now()",
    "date": "current_date",
    "jsonb": "'{}'::jsonb",
    "uuid": "gen_random_uuid()",
}


def insert_sql(cur, table: str, given: dict[str, str], source: str) -> str:
    """``INSERT INTO table (...) SELECT ... source``: ``given`` columns as expressions, the
    other NOT NULL columns without a database default filled by type (other areas add
    columns; the benchmark must not break on them)."""
    cur.execute(
        "SELECT column_name, data_type, is_nullable, column_default, is_identity "
        "FROM information_schema.columns WHERE table_name = %s ORDER BY ordinal_position",
        [table],
    )
    cols, exprs = [], []
    for name, dtype, nullable, default, identity in cur.fetchall():
        if name in given:
            cols.append(name)
            exprs.append(given[name])
        elif nullable == "NO" and default is None and identity != "YES":
            cols.append(name)
            exprs.append(TYPE_DEFAULTS.get(dtype, "''"))
    quoted = ", ".join(f'"{c}"' for c in cols)
    return f"INSERT INTO {table} ({quoted}) SELECT {', '.join(exprs)} {source}"


def ensure_base_data() -> dict:
    """Stations, hotlines, products, slots, agents, customers of the benchmark."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from crm.models import Division
    from tvshop.catalog.models import Product
    from tvshop.media.models import Hotline, Station

    user_model = get_user_model()
    product, _ = Product.objects.get_or_create(
        sku="BENCH-SR", defaults={"name": "压测商品", "price": 199, "cost": 80}
    )
    stations = []
    for i in range(STATIONS):
        station, _ = Station.objects.get_or_create(
            code=f"bench-st-{i:02d}", defaults={"name": f"压测电视台{i:02d}"}
        )
        Hotline.objects.get_or_create(
            number=f"40099{i:05d}",
            defaults={"station": station, "queue_name": f"bq-{i:02d}", "product": product},
        )
        stations.append(station.pk)
    agents = []
    for i in range(60):
        agent, created = user_model.objects.get_or_create(username=f"bench-agent-{i:02d}")
        if created:
            agent.set_unusable_password()
            agent.save()
        agents.append(agent.pk)
    supervisor, _ = user_model.objects.get_or_create(username="bench-stats-supervisor")
    supervisor.groups.add(Group.objects.get(name="supervisor"))
    chain = {"province": "44", "city": "4403", "district": "440305"}
    if Division.objects.filter(code__in=chain.values()).count() != 3:
        first = Division.objects.order_by("code").first()
        chain = dict.fromkeys(chain, first.code)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM crm_customer WHERE name LIKE '压测客户%%'")
        have = cur.fetchone()[0]
        if have < CUSTOMERS:
            cur.execute(
                insert_sql(
                    cur,
                    "crm_customer",
                    {"name": "'压测客户' || n", "created_at": "now()", "updated_at": "now()"},
                    f"FROM generate_series({have + 1}, {CUSTOMERS}) n",
                )
            )
        cur.execute(
            "SELECT id FROM crm_customer WHERE name LIKE '压测客户%%' ORDER BY id LIMIT %s",
            [CUSTOMERS],
        )
        customers = [r[0] for r in cur.fetchall()]
    return {
        "product": product.pk,
        "stations": stations,
        "agents": agents,
        "supervisor": supervisor,
        "customer_low": min(customers),
        "customer_high": max(customers),
        "divisions": chain,
    }


def slot_start_sql(station: str, day: str, k: str) -> str:
    return (
        f"(timestamptz '{BASE.isoformat()}' + ({day}) * interval '1 day' "
        f"+ (8 + mod(({station}) + ({k}) * 3, 14)) * interval '1 hour' "
        f"+ mod(({station}) * 7, 60) * interval '1 minute')"
    )


def ensure_slots(cur, base: dict) -> None:
    cur.execute(
        "SELECT count(*) FROM media_airingslot s JOIN media_station st ON st.id = s.station_id "
        "WHERE st.code LIKE 'bench-st-%%'"
    )
    if cur.fetchone()[0] >= STATIONS * DAYS * SLOTS_PER_DAY:
        return
    start = slot_start_sql("st.idx", "d", "k")
    cur.execute(
        insert_sql(
            cur,
            "media_airingslot",
            {
                "station_id": "st.id",
                "product_id": str(base["product"]),
                "hotline_id": "h.id",
                "start": start,
                "end": f"{start} + interval '5 minutes'",
                "cost": "round((1000 + random() * 4000)::numeric, 2)",
                "note": "'bench'",
            },
            "FROM (SELECT id, substr(code, 10)::int AS idx FROM media_station "
            "WHERE code LIKE 'bench-st-%%') st JOIN media_hotline h ON h.station_id = st.id "
            f"CROSS JOIN generate_series(0, {DAYS - 1}) d "
            f"CROSS JOIN generate_series(0, {SLOTS_PER_DAY - 1}) k",
        )
    )


def load_calls(base: dict) -> tuple[int, float, bool]:
    """Fill up to TARGET_CALLS bench calls; returns (calls, seconds, reached)."""
    started = time.perf_counter()
    with psycopg.connect(conninfo(), autocommit=True) as raw:
        cur = raw.cursor()
        cur.execute("SET session_replication_role = replica")  # no triggers, no FK checks
        cur.execute("SELECT count(*) FROM telephony_call WHERE uuid LIKE 'sr-%'")
        have = cur.fetchone()[0]
        agents = base["agents"]
        agent_expr = f"(ARRAY{agents}::bigint[])[1 + mod(n, {len(agents)})]"
        t = (
            "CASE WHEN g.r_slot < 0.7 THEN "
            + slot_start_sql("g.s", "g.day", "g.k")
            + " + (g.r_t ^ 3) * interval '35 minutes' ELSE "
            f"timestamptz '{BASE.isoformat()}' + g.day * interval '1 day' "
            "+ g.r_t * interval '24 hours' END"
        )
        source = (
            "FROM (SELECT n, mod(n, 50) AS s, floor(random() * 30)::int AS day, "
            "floor(random() * 6)::int AS k, random() AS r_slot, random() AS r_t, "
            "random() AS r_o, random() AS r_w, random() AS r_talk, random() AS r_dir "
            "FROM generate_series(%s, %s) n) g "
            "JOIN (SELECT h.id, h.number, h.station_id, h.queue_name, "
            "substr(st.code, 10)::int AS idx FROM media_hotline h JOIN media_station st "
            "ON st.id = h.station_id WHERE st.code LIKE 'bench-st-%%') hl ON hl.idx = g.s "
            f"CROSS JOIN LATERAL (SELECT {t} AS at, CASE WHEN g.r_dir < 0.03 THEN 'outbound' "
            "ELSE 'inbound' END AS dir, CASE WHEN g.r_o < 0.05 THEN 'rejected' "
            "WHEN g.r_o < 0.70 THEN 'answered' WHEN g.r_o < 0.85 THEN 'abandoned' "
            "WHEN g.r_o < 0.95 THEN 'overflow' ELSE 'answered' END AS outcome) x "
        )
        queued = (
            "CASE WHEN x.dir = 'inbound' AND x.outcome <> 'rejected' "
            "THEN x.at + interval '1 second' END"
        )
        answered = (
            "CASE WHEN x.outcome = 'answered' THEN x.at + interval '1 second' "
            "+ g.r_w * 60 * interval '1 second' END"
        )
        sql = insert_sql(
            cur,
            "telephony_call",
            {
                "uuid": "'sr-' || n",
                "direction": "x.dir",
                "caller": "'139' || lpad((floor(random() * 100000000))::bigint::text, 8, '0')",
                "callee": "''",
                "dialled": "CASE WHEN x.dir = 'inbound' THEN hl.number ELSE '' END",
                "hotline_id": "CASE WHEN x.dir = 'inbound' THEN hl.id END",
                "station_id": "CASE WHEN x.dir = 'inbound' THEN hl.station_id END",
                "queue": f"CASE WHEN ({queued}) IS NOT NULL THEN hl.queue_name ELSE '' END",
                "agent_id": (
                    f"CASE WHEN x.outcome = 'answered' OR x.dir = 'outbound' THEN {agent_expr} END"
                ),
                "created_at": "x.at",
                "queued_at": queued,
                "offered_at": f"({answered}) - g.r_talk * 8 * interval '1 second'",
                "answered_at": answered,
                "ended_at": (
                    f"CASE WHEN x.outcome = 'answered' THEN ({answered}) + (30 + g.r_talk * 570) "
                    "* interval '1 second' ELSE x.at + (2 + g.r_w * 90) * interval '1 second' END"
                ),
                "wait_seconds": f"round(EXTRACT(EPOCH FROM ({answered}) - ({queued})))",
                "talk_seconds": (
                    "CASE WHEN x.outcome = 'answered' THEN round(30 + g.r_talk * 570) END"
                ),
                "ring_no_answer_count": "CASE WHEN g.r_w < 0.03 THEN 1 ELSE 0 END",
                "transferred": "g.r_w > 0.99",
                "hangup_cause": "'NORMAL_CLEARING'",
                "outcome": "x.outcome",
                "recording_path": "''",
            },
            source,
        )
        reached = True
        before = have
        dropped = drop_plain_indexes(cur) if TARGET_CALLS - have > 2 * CHUNK else []
        while have < TARGET_CALLS:
            if time.perf_counter() - started > MAX_LOAD_SECONDS:
                reached = False
                break
            upto = min(TARGET_CALLS, have + CHUNK)
            t0 = time.perf_counter()
            cur.execute(sql, [have + 1, upto])
            have = upto
            print(f"  calls {have:,} (+{CHUNK:,} in {time.perf_counter() - t0:.0f} s)", flush=True)
        if dropped:
            t0 = time.perf_counter()
            cur.execute("SET maintenance_work_mem = '256MB'")
            for definition in dropped:
                cur.execute(definition)
            print(
                f"  {len(dropped)} indexes rebuilt in {time.perf_counter() - t0:.0f} s", flush=True
            )
        load_orders(cur, base)
        cur.execute("ANALYZE telephony_call")
        cur.execute("ANALYZE orders_order")
    return have, time.perf_counter() - started, reached, have > before


def drop_plain_indexes(cur) -> list[str]:
    """Drop telephony_call's indexes that back no constraint for the bulk load (a load
    into 15 indexes runs ~10x slower); returns their definitions to recreate them after."""
    cur.execute(
        "SELECT indexname, indexdef FROM pg_indexes i WHERE tablename = 'telephony_call' "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"
    )
    found = cur.fetchall()
    cur.execute("SET lock_timeout = '15s'")
    try:
        for name, _definition in found:
            cur.execute(f'DROP INDEX IF EXISTS "{name}"')
    except psycopg.errors.LockNotAvailable:
        print("  telephony_call is locked by another session: loading with its indexes")
        for _name, definition in found:
            cur.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS"))
        return []
    finally:
        cur.execute("SET lock_timeout = 0")
    print(f"  dropped {len(found)} indexes for the load", flush=True)
    return [d.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS") for _n, d in found]


def load_orders(cur, base: dict) -> None:
    cur.execute(
        "SELECT COALESCE(max(substr(call_uuid, 4)::bigint), 0) FROM orders_order "
        "WHERE number LIKE 'SR%%'"
    )
    done_upto = cur.fetchone()[0]
    span = base["customer_high"] - base["customer_low"] + 1
    divisions = base["divisions"]
    sql = insert_sql(
        cur,
        "orders_order",
        {
            "number": "'SR' || c.id",
            "status": (
                "CASE WHEN mod(c.id, 10) < 3 THEN 'delivered' "
                "WHEN mod(c.id, 10) < 5 THEN 'shipped' WHEN mod(c.id, 10) < 6 THEN 'refused' "
                "WHEN mod(c.id, 10) < 8 THEN 'second_approved' "
                "ELSE 'submitted' END"
            ),
            "customer_id": f"{base['customer_low']} + mod(c.id, {span})",
            "call_uuid": "c.uuid",
            "hotline_id": "c.hotline_id",
            "station_id": "c.station_id",
            "agent_id": "c.agent_id",
            "recipient": "'压测'",
            "phone": "c.caller",
            "province_id": f"'{divisions['province']}'",
            "city_id": f"'{divisions['city']}'",
            "district_id": f"'{divisions['district']}'",
            "street": "'压测路 1 号'",
            "payment_method": "'cod'",
            "goods_amount": "199",
            "total": "199",
            "cod_amount": "199",
            "paid_amount": "CASE WHEN mod(c.id, 10) < 2 THEN 199 ELSE 0 END",
            "payment_status": "CASE WHEN mod(c.id, 10) < 2 THEN 'paid' ELSE 'unpaid' END",
            "created_at": "c.answered_at + interval '3 minutes'",
            "submitted_at": "c.answered_at + interval '3 minutes'",
            "status_at": "c.answered_at + interval '3 minutes'",
            "updated_at": "now()",
        },
        "FROM telephony_call c WHERE c.uuid LIKE 'sr-%%' AND c.outcome = 'answered' "
        "AND c.direction = 'inbound' AND mod(c.id, 8) = 0 "
        "AND substr(c.uuid, 4)::bigint > %s",
    )
    cur.execute(sql, [done_upto])
    print(f"  orders +{cur.rowcount:,}", flush=True)


def time_fn(fn, n: int, warmup: int = 5) -> list[float]:
    for _ in range(warmup):
        fn()
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


FLOOR_QUEUE = (
    "SELECT queue, sum(inbound), sum(answered), sum(wait_answered_sum), max(wait_max), "
    "sum(talk_count), sum(talk_sum), sum(soa_count), sum(soa_sum), sum(abandoned), "
    "sum(abandoned_counted), sum(abandon_wait_sum), sum(rona_calls), sum(rona_events), "
    "sum(answered_within_target), sum(transferred), sum(overflow) FROM reports_queuehour "
    "WHERE hour >= %s AND hour < %s GROUP BY 1"
)
FLOOR_MEDIA = (
    "WITH c AS (SELECT station_id, sum(calls) calls, sum(answered) answered, "
    "sum(overflow) overflow FROM reports_stationhour WHERE hour >= %(s)s AND hour < %(e)s "
    "GROUP BY 1), o AS (SELECT station_id, sum(orders) orders, sum(approved) approved, "
    "sum(delivered) delivered, sum(revenue) revenue FROM reports_orderhour "
    "WHERE grain = 'station' AND hour >= %(s)s AND hour < %(e)s GROUP BY 1), "
    "s AS (SELECT a.station_id, sum(a.cost) cost FROM media_airingslot a "
    "WHERE a.start >= %(s)s AND a.start < %(e)s GROUP BY 1), "
    # unique callers: the union of the stations' day sketches (left as bit strings: the
    # estimate from them is the app's work)
    "u AS (SELECT station_id, varbit_send(bit_or(sketch)) callers FROM reports_callerday "
    "WHERE day >= %(first)s AND day <= %(last)s GROUP BY station_id) "
    "SELECT * FROM c FULL JOIN o USING (station_id) FULL JOIN s USING (station_id) "
    "FULL JOIN u USING (station_id)"
)
RAW_CURVE = (
    "SELECT date_trunc('hour', created_at), station_id, count(*) FROM telephony_call "
    "WHERE direction = 'inbound' AND created_at >= %s AND created_at < %s "
    "AND station_id = ANY(%s) GROUP BY 1, 2"
)
RAW_MEDIA = (
    "SELECT c.station_id, count(*), count(c.answered_at), count(o.id) FROM telephony_call c "
    "LEFT JOIN orders_order o ON o.call_uuid = c.uuid WHERE c.direction = 'inbound' "
    "AND c.created_at >= %s AND c.created_at < %s GROUP BY 1"
)


def main() -> None:
    from django.test import Client

    from tvshop.reports import rollups
    from tvshop.reports.selectors import station_curve_sql
    from tvshop.reports.services import (
        caller_sketches_rebuild,
        rollups_rebuild,
        rollups_refresh,
    )

    load_before = os.getloadavg()
    ensure_bench_database(benchmark=NAME)
    base = ensure_base_data()
    with connection.cursor() as cur:
        ensure_slots(cur, base)
    calls, load_seconds, reached, loaded = load_calls(base)
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM reports_stationhour")
        empty = cur.fetchone()[0] == 0
    rebuild_seconds = None
    if empty or loaded or os.environ.get("BENCH_STATS_REBUILD") == "1":
        print("rebuilding roll-ups from scratch…", flush=True)
        rebuild_seconds = rollups_rebuild().seconds
        print(f"  {rebuild_seconds:.0f} s", flush=True)
    else:
        rollups_refresh()
    sketch_seconds = None
    with connection.cursor() as cur:
        cur.execute("SELECT NOT EXISTS (SELECT 1 FROM reports_callerday)")
        no_sketches = cur.fetchone()[0]
    if no_sketches:  # a database seeded before the unique-caller sketches existed
        print("building the unique-caller sketches…", flush=True)
        sketch_seconds = caller_sketches_rebuild().seconds
        print(f"  {sketch_seconds:.0f} s", flush=True)
    with connection.cursor() as cur:
        for table in (
            "stationhour",
            "stationminute",
            "queuehour",
            "agenthour",
            "orderhour",
            "slotstat",
            "callerhour",
            "callerday",
        ):
            cur.execute(f"ANALYZE reports_{table}")
        cur.execute("SELECT count(*) FROM orders_order WHERE number LIKE 'SR%%'")
        orders = cur.fetchone()[0]

    stations = base["stations"]
    last = (BASE + dt.timedelta(days=DAYS - 1)).date()
    week_first = last - dt.timedelta(days=6)
    month_first = BASE.date()
    client = Client()
    client.force_login(base["supervisor"])
    host = {"HTTP_HOST": "localhost"}

    def get(path, params):
        response = client.get(path, params, **host)
        assert response.status_code == 200, (path, response.status_code)
        return response

    curve_params = {"first": week_first, "last": last, "resolution": "hour", "stations": stations}
    curve = get("/reports/curve/", curve_params).json()
    assert len(curve["series"]) == STATIONS and len(curve["buckets"]) == 7 * 24
    month = {"first": month_first, "last": last}

    raw = psycopg.connect(conninfo(), autocommit=True)
    rc = raw.cursor()
    week_start = dt.datetime.combine(week_first, dt.time(), LOCAL)
    month_start = dt.datetime.combine(month_first, dt.time(), LOCAL)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), LOCAL)

    def floor(sql, params):
        def run():
            rc.execute(sql, params, prepare=True)
            rc.fetchall()

        return run

    results = {}
    for key, app_fn, floor_fn in [
        (
            "curve",
            lambda: get("/reports/curve/", curve_params),
            floor(
                station_curve_sql("hour"),
                {
                    "start": week_start,
                    "end": end,
                    "stations": stations,
                    "tz": "Asia/Shanghai",
                    "buckets": [week_start + dt.timedelta(hours=i) for i in range(7 * 24)],
                },
            ),
        ),
        ("queue", lambda: get("/reports/queues/", month), floor(FLOOR_QUEUE, [month_start, end])),
        (
            "media",
            lambda: get("/reports/", {**month, "resolution": "day"}),
            floor(FLOOR_MEDIA, {"s": month_start, "e": end, "first": month_first, "last": last}),
        ),
    ]:
        app, flo = [], []
        app_fn(), floor_fn()
        for i in range(SAMPLES[key]):
            # alternate the order so neither is favoured
            for which in (
                ((app_fn, app), (floor_fn, flo)) if i % 2 else ((floor_fn, flo), (app_fn, app))
            ):
                t0 = time.perf_counter()
                which[0]()
                which[1].append((time.perf_counter() - t0) * 1000)
        results[key] = (app, flo)
        print(
            f"  {key}: app p99 {percentile(app, 99):.1f} ms, "
            f"floor p99 {percentile(flo, 99):.1f} ms",
            flush=True,
        )

    def raw_times(sql, params, n):
        out = []
        for _ in range(n):
            t0 = time.perf_counter()
            rc.execute(sql, params)
            rc.fetchall()
            out.append((time.perf_counter() - t0) * 1000)
        return out

    raw_curve = raw_times(RAW_CURVE, [week_start, end, stations], 3)
    queue_raw_sql = (
        "SELECT queue, sum(inbound), sum(answered) FROM " + rollups.QUEUE_RAW + " GROUP BY 1"
    )
    raw_queue = raw_times(
        queue_raw_sql,
        {
            "start": month_start,
            "end": end,
            "low": month_start,
            "high": end,
            "threshold": 5,
            "target": 20,
        },
        1,
    )
    raw_media = raw_times(RAW_MEDIA, [month_start, end], 1)

    # refreshing one hour: touch 200 calls of one busy hour (triggers on), then refresh
    refresh = []
    for i in range(5):
        hour = dt.datetime.combine(last - dt.timedelta(days=i), dt.time(20), LOCAL)
        with connection.cursor() as cur:
            cur.execute(
                "UPDATE telephony_call SET hangup_cause = hangup_cause WHERE id IN (SELECT id "
                "FROM telephony_call WHERE created_at >= %s AND created_at < %s LIMIT 200)",
                [hour, hour + dt.timedelta(hours=1)],
            )
        t0 = time.perf_counter()
        rollups_refresh()
        refresh.append((time.perf_counter() - t0) * 1000)
    load_after = os.getloadavg()

    params = {
        "calls": calls,
        "orders": orders,
        "asked_calls": TARGET_CALLS,
        # goals are met only at the issue's size, whatever BENCH_STATS_CALLS asked
        "size_reached": reached and calls >= ISSUE_CALLS,
        "stations": STATIONS,
        "days": DAYS,
        "slots": STATIONS * DAYS * SLOTS_PER_DAY,
        "load_seconds": round(load_seconds, 1),
        "loadavg_before": [round(x, 2) for x in load_before],
        "loadavg_after": [round(x, 2) for x in load_after],
        "via": "django.test.Client, DEBUG=0, logged-in supervisor",
    }
    full = params["size_reached"]
    rows = []
    app, flo = results["curve"]
    rows.append(
        row(
            NAME,
            "station_curve_7d_hour_p50",
            percentile(app, 50),
            "ms",
            floor=percentile(flo, 50),
            goal="comparison",
            met=True,
            params={**params, "samples": len(app)},
        )
    )
    p99, f99 = percentile(app, 99), percentile(flo, 99)
    rows.append(
        row(
            NAME,
            "station_curve_7d_hour_p99",
            p99,
            "ms",
            floor=f99,
            goal="p99 < 100 ms through the app and <= 5x the roll-up floor",
            met=full and p99 < 100 and p99 <= 5 * f99,
            params={**params, "samples": len(app)},
        )
    )
    for key, metric in (("queue", "queue_kpi_month_p99"), ("media", "media_efficiency_month_p99")):
        app, flo = results[key]
        p99, f99 = percentile(app, 99), percentile(flo, 99)
        rows.append(
            row(
                NAME,
                metric,
                p99,
                "ms",
                floor=f99,
                goal="p99 < 300 ms through the app",
                met=full and p99 < 300,
                params={**params, "samples": len(app)},
            )
        )
    for metric, samples, floor_samples in (
        ("raw_groupby_curve_7d", raw_curve, results["curve"][1]),
        ("raw_groupby_queue_month", raw_queue, results["queue"][1]),
        ("raw_groupby_media_month", raw_media, results["media"][1]),
    ):
        rows.append(
            row(
                NAME,
                metric,
                percentile(samples, 50),
                "ms",
                floor=percentile(floor_samples, 50),
                goal="comparison (roll-up floor as the floor)",
                met=True,
                params={**params, "runs": len(samples)},
            )
        )
    rows.append(
        row(
            NAME,
            "refresh_one_hour_p50",
            percentile(refresh, 50),
            "ms",
            # the beat refreshes every minute during an airing: one busy hour (every
            # roll-up, the airing slots around it) must take well under a second
            goal="< 1000 ms (every roll-up of one busy hour and its airing slots)",
            met=full and percentile(refresh, 50) < 1000,
            params={**params, "touched_calls": 200, "runs": len(refresh)},
        )
    )
    if rebuild_seconds is not None:
        rows.append(
            row(
                NAME,
                "rebuild_from_scratch",
                rebuild_seconds,
                "s",
                goal="comparison",
                met=True,
                params=params,
            )
        )
    if sketch_seconds is not None:
        rows.append(
            row(
                NAME,
                "caller_sketches_build",
                sketch_seconds,
                "s",
                goal="comparison",
                met=True,
                params=params,
            )
        )
    rows.append(
        row(NAME, "generate_calls", load_seconds, "s", goal="comparison", met=True, params=params)
    )
    write_results(NAME, rows)
