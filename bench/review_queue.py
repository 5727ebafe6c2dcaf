"""First-review queue page with 200,000 orders waiting, filters applied (issue #4).

Run with ``make bench BENCH=review_queue`` (a bench database; orders from
``BENCH_REVIEW_ORDERS``, default 200,000, generated once with ``bulk_create`` under the
number prefix ``BENCHRQ`` and reused). Measured in one run:

* the app: GET ``orders:review_first`` through Django's test ``Client`` logged in as a
  first reviewer, cycling through a few filter combinations (station, amount range,
  province, flags), ``BENCH_REVIEW_REQUESTS`` requests (default 210) after a warm-up;
* SQL queries per request (``CaptureQueriesContext``) with the page size set to 20 and to
  100: they must be equal (no N+1);
* the floor: the page's two row statements (the keyset page of 50 and the capped count,
  same filters) run directly through ``connection.cursor()``;
* ``EXPLAIN ANALYZE`` of those two statements for every filter combination (time and the
  indexes used, in the result's params), so a plan that sorts or counts the whole queue
  shows up.

The page is keyset-paged (``orders/paging.py``) and its count capped at 1,000; the
combinations include every filter of the queue, a search by order number and a page deep
in the queue (``after=`` cursor).

Goal: p99 of the request under 150 ms.
"""

from __future__ import annotations

import os
import random
import time
from datetime import timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.http import QueryDict
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from bench.common import percentile, row, write_results
from bench.database import ensure_bench_database

NAME = "review_queue"
ORDERS = int(os.environ.get("BENCH_REVIEW_ORDERS", "200000"))
REQUESTS = int(os.environ.get("BENCH_REVIEW_REQUESTS", "210"))
PREFIX = "BENCHRQ"
CUSTOMERS = 20000
AGENTS = 20
GOAL_MS = 150.0


def _divisions():
    """Up to 8 (province, city, district) triples that exist in the loaded divisions."""
    from crm.choices import DivisionLevel
    from crm.models import Division

    triples, seen = [], set()
    districts = Division.objects.filter(level=DivisionLevel.DISTRICT).select_related(
        "parent__parent"
    )
    for district in districts.order_by("code").iterator(chunk_size=2000):
        city = district.parent
        province = city.parent if city else None
        if province is None or province.code in seen:
            continue
        seen.add(province.code)
        triples.append((province, city, district))
        if len(triples) == 8:
            break
    if not triples:
        raise SystemExit("no divisions loaded in the bench database")
    return triples


def ensure_data():
    from django.contrib.auth.models import Group

    from crm.models import Customer
    from orders.models import Order
    from tvshop.accounts.models import User
    from tvshop.media.models import Station

    reviewer, _ = User.objects.get_or_create(username="bench_reviewer1")
    reviewer.groups.add(Group.objects.get(name="reviewer1"))
    existing = Order.objects.filter(number__startswith=PREFIX).count()
    if existing >= ORDERS:
        return reviewer, existing, 0.0
    started = time.perf_counter()
    rng = random.Random(4)
    agent_group = Group.objects.get(name="agent")
    agents = []
    for i in range(AGENTS):
        agent, _ = User.objects.get_or_create(username=f"bench_rq_agent{i:02d}")
        agent.groups.add(agent_group)
        agents.append(agent)
    stations = list(Station.objects.order_by("pk")[:10])
    if not stations:
        stations = [
            Station.objects.create(code=f"bench-rq-{i}", name=f"bench 台 {i}") for i in range(5)
        ]
    triples = _divisions()
    customers = list(Customer.objects.filter(name__startswith="rq客户").order_by("pk")[:CUSTOMERS])
    with transaction.atomic():
        if len(customers) < CUSTOMERS:
            customers += Customer.objects.bulk_create(
                [Customer(name=f"rq客户{i}") for i in range(len(customers), CUSTOMERS)],
                batch_size=5000,
            )
        base = timezone.now() - timedelta(days=30)
        batch = []
        for i in range(existing, ORDERS):
            province, city, district = triples[i % len(triples)]
            total = Decimal(rng.choice([99, 199, 399, 699, 999, 1299, 1999, 4999])) + Decimal(
                "0.00"
            )
            cod = rng.random() < 0.7
            batch.append(
                Order(
                    number=f"{PREFIX}{i:08d}",
                    status="submitted",
                    customer=customers[i % CUSTOMERS],
                    agent=agents[i % AGENTS],
                    station=stations[i % len(stations)],
                    recipient="张三",
                    phone="+8613800138000",
                    province=province,
                    city=city,
                    district=district,
                    street=f"科技园南路 {i} 号",
                    payment_method="cod" if cod else "prepaid",
                    goods_amount=total,
                    total=total,
                    cod_amount=total if cod else Decimal("0.00"),
                    is_vip=rng.random() < 0.05,
                    is_new_customer=rng.random() < 0.3,
                    is_duplicate=rng.random() < 0.08,
                    is_large_amount=total >= 1999,
                    address_incomplete=rng.random() < 0.03,
                    submitted_at=base + timedelta(seconds=i * 10),
                    status_at=base + timedelta(seconds=i * 10),
                )
            )
            if len(batch) == 5000:
                Order.objects.bulk_create(batch)
                batch = []
        if batch:
            Order.objects.bulk_create(batch)
    with connection.cursor() as cursor:
        # the steady state of a live table (autovacuum): statistics and the visibility map
        cursor.execute("VACUUM ANALYZE orders_order")
    return reviewer, ORDERS, time.perf_counter() - started


def filter_sets() -> list[str]:
    """Query strings of the filter combinations (the first reviewer's usual ones)."""
    from orders.models import Order
    from orders.paging import encode_cursor

    bench = Order.objects.filter(number__startswith=PREFIX)
    sample = bench.values("station_id", "province_id", "agent_id").order_by("pk").first()
    station, province = sample["station_id"], sample["province_id"]
    middle = bench.order_by("pk").values("pk", "submitted_at")[ORDERS // 2]
    number = bench.order_by("pk").values_list("number", flat=True)[ORDERS // 3]
    return [
        "",
        f"station={station}",
        f"agent={sample['agent_id']}",
        "total_min=500&total_max=1500",
        f"province={province}",
        "payment_method=prepaid",
        "is_vip=true",
        "is_duplicate=true",
        "is_new_customer=true",
        "is_large_amount=true",
        "address_incomplete=true",
        f"station={station}&province={province}&total_min=300&total_max=2000&is_duplicate=false",
        "is_large_amount=true&address_incomplete=true",
        f"q={number}",
        f"after={encode_cursor(middle['submitted_at'], middle['pk'])}",
    ]


def row_statements(query: str) -> list[tuple[str, list]]:
    """SQL and params of the page's row statements for ``query``: the keyset page (what
    ``orders.paging.keyset_page`` runs) and the capped count."""
    from orders.filters import ReviewQueueFilter
    from orders.paging import _after, decode_cursor
    from orders.selectors import review_queue
    from orders.views.review import ReviewQueueView

    data = QueryDict(query)
    filterset = ReviewQueueFilter(data or None, queryset=review_queue(1), request=None)
    queryset = filterset.qs
    counted = queryset.order_by().values("pk")[: ReviewQueueView.count_cap + 1]
    count_sql, count_params = counted.query.sql_with_params()
    cursor = decode_cursor(data.get("after"))
    if cursor is not None:
        queryset = _after(queryset, *cursor, "submitted_at")
    page = queryset.order_by("submitted_at", "pk")[: ReviewQueueView.page_size + 1]
    return [
        page.query.sql_with_params(),
        (f"SELECT count(*) FROM ({count_sql}) counted", list(count_params)),
    ]


def explain(statements: list[tuple[str, list]]) -> dict:
    """Execution time and indexes of each statement (``EXPLAIN ANALYZE``)."""
    out = []
    with connection.cursor() as cursor:
        for sql, params in statements:
            cursor.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql, params)
            plan = cursor.fetchone()[0]
            plan = plan[0] if isinstance(plan, list) else plan
            indexes, nodes, stack = set(), [], [plan["Plan"]]
            while stack:
                node = stack.pop()
                nodes.append(node["Node Type"])
                if "Index Name" in node:
                    indexes.add(node["Index Name"])
                stack.extend(node.get("Plans", []))
            out.append(
                {
                    "ms": round(plan["Execution Time"], 2),
                    "indexes": sorted(indexes),
                    "sorts": nodes.count("Sort") + nodes.count("Incremental Sort"),
                    "seq_scans": nodes.count("Seq Scan"),
                }
            )
    return {"page": out[0], "count": out[1]}


def main() -> None:
    from orders.views.review import ReviewQueueView

    load_start = round(os.getloadavg()[0], 2)
    database = ensure_bench_database(benchmark=NAME, destructive=True)
    reviewer, bench_orders, generated_s = ensure_data()
    url = reverse("orders:review_first")
    queries = filter_sets()
    client = Client()
    client.force_login(reviewer)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM orders_order WHERE status = 'submitted'")
        queue_size = cursor.fetchone()[0]
        cursor.execute("SELECT count(*) FROM orders_order")
        all_orders = cursor.fetchone()[0]

    def get(query: str):
        response = client.get(f"{url}?{query}" if query else url)
        assert response.status_code == 200, (query, response.status_code)
        return response

    # Queries per request at two page sizes (the view's page_size).
    counts: dict[int, list[int]] = {}
    default_size = ReviewQueueView.page_size
    try:
        for size in (20, 100):
            ReviewQueueView.page_size = size
            counts[size] = []
            for query in queries:
                get(query)  # warm
                with CaptureQueriesContext(connection) as captured:
                    response = get(query)
                rows = response.content.count(b'class="queue-row"')
                assert rows == size or query, (size, rows)
                counts[size].append(len(captured.captured_queries))
    finally:
        ReviewQueueView.page_size = default_size

    # The request, cycling through the filter combinations.
    for query in queries * 2:
        get(query)
    samples = []
    for i in range(REQUESTS):
        query = queries[i % len(queries)]
        t0 = time.perf_counter()
        get(query)
        samples.append((time.perf_counter() - t0) * 1000)

    # The floor: the row statements alone, same filters, same page.
    per_query = [row_statements(q) for q in queries]
    plans = {q or "(none)": explain(st) for q, st in zip(queries, per_query, strict=True)}
    statements = [st for sts in per_query for st in sts]
    floor_samples = []
    with connection.cursor() as cursor:
        for sql, params in statements * 2:
            cursor.execute(sql, params)
            cursor.fetchall()
        for i in range(REQUESTS):
            t0 = time.perf_counter()
            for sql, params in per_query[i % len(per_query)]:
                cursor.execute(sql, params)
                cursor.fetchall()
            floor_samples.append((time.perf_counter() - t0) * 1000)

    params = {
        "bench_orders": bench_orders,
        "queue_size_submitted": queue_size,
        "orders_in_database": all_orders,
        "requests": REQUESTS,
        "page_size": default_size,
        "filters": queries,
        "generated_seconds": round(generated_s, 1),
        "database": database,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": load_start,
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
        "client": "django.test.Client (in-process, no HTTP server)",
        "floor": "the page's keyset SELECT + capped count via connection.cursor()",
        "paging": "keyset (after/before cursor), count capped at 1,000",
        "explain": plans,
    }
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    f50, f99 = percentile(floor_samples, 50), percentile(floor_samples, 99)
    q20, q100 = max(counts[20]), max(counts[100])
    constant = counts[20] == counts[100]
    write_results(
        NAME,
        [
            row(NAME, "request p50", p50, "ms", floor=f50, goal="report", met=True, params=params),
            row(
                NAME,
                "request p99",
                p99,
                "ms",
                floor=f99,
                goal=f"p99 < {GOAL_MS:.0f} ms",
                met=p99 < GOAL_MS,
                params=params,
            ),
            row(
                NAME,
                "SQL queries (page 20)",
                q20,
                "queries",
                goal="constant with page size",
                met=constant,
                params={**params, "per_filter": counts[20]},
            ),
            row(
                NAME,
                "SQL queries (page 100)",
                q100,
                "queries",
                goal="constant with page size",
                met=constant,
                params={**params, "per_filter": counts[100]},
            ),
        ],
    )
