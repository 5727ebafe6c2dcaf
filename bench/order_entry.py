"""Order submission under 60 concurrent agents against PostgreSQL (issue #4).

Run with ``make bench BENCH=order_entry`` (a bench database; ``BENCH_ENTRY_AGENTS``
agents, default 60, for ``BENCH_ENTRY_SECONDS``, default 20). Measured in one run:

* the app: 60 threads, one per agent, each with its own Django test ``Client`` (logged in
  as that agent) and so its own database connection (Django's connections are per
  thread), POSTing the order entry form (``orders:order_new``: one product, the
  customer's address, COD) as fast as it can; a submit succeeds when the view redirects
  to the new order. Threads, not processes: the process holds the GIL, so the app side
  is at most one core of Python (the machine has 2 cores and is shared);
* the floor: the same 60 threads, each with its own psycopg connection, running a bare
  ``INSERT`` of an order row plus one line row and a commit, for the same time.

Orders per second and the p99 latency of one submit. The issue sets no goal: "report",
met only when no submit failed. Afterwards the bench's orders are cancelled (a raw
UPDATE, so they leave the review queue) and the floor's rows deleted.
"""

from __future__ import annotations

import os
import threading
import time
from decimal import Decimal

import psycopg
from django.db import connection, connections
from django.test import Client
from django.urls import reverse

from bench.common import percentile, row, write_results
from bench.database import conninfo, ensure_bench_database

NAME = "order_entry"
AGENTS = int(os.environ.get("BENCH_ENTRY_AGENTS", "60"))
SECONDS = float(os.environ.get("BENCH_ENTRY_SECONDS", "20"))
FLOOR_PREFIX = "OEF"


def ensure_agents():
    """``AGENTS`` agents, each with one customer (with one address) of their own."""
    from django.contrib.auth.models import Group

    from crm.models import Address, Customer, Division
    from tvshop.accounts.models import User
    from tvshop.catalog.models import Product

    group = Group.objects.get(name="agent")
    province, city, district = (Division.objects.get(code=c) for c in ("44", "4403", "440305"))
    product, _ = Product.objects.get_or_create(
        sku="BENCH-OE", defaults={"name": "按摩椅 OE", "price": Decimal("199.00")}
    )
    if not product.on_sale:
        product.on_sale = True
        product.save(update_fields=["on_sale"])
    seats = []
    for i in range(AGENTS):
        agent, _ = User.objects.get_or_create(username=f"bench_oe_agent{i:02d}")
        agent.groups.add(group)
        customer = Customer.objects.filter(name=f"oe客户{i:02d}").first()
        if customer is None:
            customer = Customer.objects.create(name=f"oe客户{i:02d}")
        address = customer.addresses.first()
        if address is None:
            address = Address.objects.create(
                customer=customer,
                recipient=customer.name,
                phone="+8613800138000",
                province=province,
                city=city,
                district=district,
                street=f"科技园南路 {i} 号",
                is_default=True,
            )
        seats.append((agent, customer, address))
    return product, seats


def form_data(customer, address, product) -> dict:
    return {
        "customer": str(customer.pk),
        "call": "",
        "address": str(address.pk),
        "payment_method": "cod",
        "discount": "0",
        "remark": "bench",
        "line_product": [str(product.pk)],
        "line_qty": ["1"],
    }


def run_app(product, seats, url):
    start = threading.Barrier(len(seats) + 1)
    latencies: list[list[float]] = [[] for _ in seats]
    failures: list[list[str]] = [[] for _ in seats]
    deadline = [0.0]

    def agent_loop(index, agent, customer, address):
        try:
            client = Client()
            client.force_login(agent)
            data = form_data(customer, address, product)
            start.wait()
            while time.perf_counter() < deadline[0]:
                t0 = time.perf_counter()
                response = client.post(url, data)
                latencies[index].append((time.perf_counter() - t0) * 1000)
                if response.status_code != 302:
                    failures[index].append(f"{response.status_code}")
        except Exception as exc:
            failures[index].append(repr(exc))
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=agent_loop, args=(i, *seat), daemon=True)
        for i, seat in enumerate(seats)
    ]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + SECONDS + 60  # provisional until all are ready
    start.wait()
    began = time.perf_counter()
    deadline[0] = began + SECONDS
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    samples = [s for per in latencies for s in per]
    problems = [f for per in failures for f in per]
    return samples, problems, elapsed


def run_floor(template_id: int):
    """Bare INSERT of an order (a copy of ``template_id`` with a new number) + 1 line."""
    from orders.models import Order, OrderLine

    order_cols = [f.column for f in Order._meta.concrete_fields if not f.primary_key]
    line_cols = [
        f.column for f in OrderLine._meta.concrete_fields if not f.primary_key and f.name != "order"
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {', '.join(order_cols)} FROM orders_order WHERE id = %s", [template_id]
        )
        order_values = list(cursor.fetchone())
        cursor.execute(
            f"SELECT {', '.join(line_cols)} FROM orders_orderline WHERE order_id = %s LIMIT 1",
            [template_id],
        )
        line_values = list(cursor.fetchone())
    number_at = order_cols.index("number")
    insert_order = (
        f"INSERT INTO orders_order ({', '.join(order_cols)}) "
        f"VALUES ({', '.join(['%s'] * len(order_cols))}) RETURNING id"
    )
    insert_line = (
        f"INSERT INTO orders_orderline (order_id, {', '.join(line_cols)}) "
        f"VALUES (%s, {', '.join(['%s'] * len(line_cols))})"
    )
    token = int(time.time()) % 100000
    start = threading.Barrier(AGENTS + 1)
    latencies: list[list[float]] = [[] for _ in range(AGENTS)]
    failures: list[str] = []
    deadline = [0.0]
    dsn = conninfo()

    def loop(index):
        try:
            with psycopg.connect(dsn) as conn:
                values = list(order_values)
                n = 0
                start.wait()
                while time.perf_counter() < deadline[0]:
                    values[number_at] = f"{FLOOR_PREFIX}{token:05d}{index:02d}{n:07d}"
                    n += 1
                    t0 = time.perf_counter()
                    with conn.cursor() as cursor:
                        cursor.execute(insert_order, values)
                        order_id = cursor.fetchone()[0]
                        cursor.execute(insert_line, [order_id, *line_values])
                    conn.commit()
                    latencies[index].append((time.perf_counter() - t0) * 1000)
        except Exception as exc:
            failures.append(repr(exc))

    threads = [threading.Thread(target=loop, args=(i,), daemon=True) for i in range(AGENTS)]
    for thread in threads:
        thread.start()
    deadline[0] = time.perf_counter() + SECONDS + 60
    start.wait()
    began = time.perf_counter()
    deadline[0] = began + SECONDS
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM orders_orderline WHERE order_id IN "
            "(SELECT id FROM orders_order WHERE number LIKE %s)",
            [FLOOR_PREFIX + "%"],
        )
        cursor.execute("DELETE FROM orders_order WHERE number LIKE %s", [FLOOR_PREFIX + "%"])
    return [s for per in latencies for s in per], failures, elapsed


def main() -> None:
    from orders.models import Order

    load_start = round(os.getloadavg()[0], 2)
    database = ensure_bench_database(benchmark=NAME, destructive=True)
    product, seats = ensure_agents()
    url = reverse("orders:order_new")

    # One submit first, so a broken form fails loudly before the threads start.
    agent, customer, address = seats[0]
    client = Client()
    client.force_login(agent)
    response = client.post(url, form_data(customer, address, product))
    if response.status_code != 302:
        raise SystemExit(f"order submit failed: {response.status_code}\n{response.content[:3000]}")
    template = Order.objects.filter(agent=agent).order_by("-pk").first()
    connection.close()

    samples, problems, elapsed = run_app(product, seats, url)
    load_mid = round(os.getloadavg()[0], 2)
    floor_samples, floor_problems, floor_elapsed = run_floor(template.pk)

    # The bench's orders leave the first-review queue.
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_order SET status = 'cancelled' WHERE status = 'submitted' "
            "AND agent_id IN (SELECT id FROM accounts_user WHERE username LIKE %s)",
            ["bench_oe_agent%"],
        )

    ok = len(samples) - len(problems)
    rate = ok / elapsed
    floor_rate = len(floor_samples) / floor_elapsed
    params = {
        "agents": AGENTS,
        "seconds": round(elapsed, 2),
        "submits": len(samples),
        "failed": len(problems),
        "failures_sample": sorted(set(problems))[:5],
        "floor_inserts": len(floor_samples),
        "floor_failed": len(floor_problems),
        "concurrency": "threads in one process, one DB connection per thread (GIL shared)",
        "path": "POST orders:order_new via django.test.Client (form + order_create + redirect)",
        "floor": "psycopg INSERT order + INSERT 1 line + COMMIT, same threads and time",
        "database": database,
        "cpus": os.cpu_count(),
        "load_avg_1m_at_start": load_start,
        "load_avg_1m_after_app": load_mid,
        "load_avg_1m_at_end": round(os.getloadavg()[0], 2),
    }
    clean = not problems and not floor_problems and ok > 0
    p50, p99 = percentile(samples, 50), percentile(samples, 99)
    write_results(
        NAME,
        [
            row(
                NAME,
                "orders per second",
                rate,
                "orders/s",
                floor=floor_rate,
                goal="report",
                met=clean,
                params=params,
            ),
            row(
                NAME,
                "submit p50",
                p50,
                "ms",
                floor=percentile(floor_samples, 50),
                goal="report",
                met=clean,
                params=params,
            ),
            row(
                NAME,
                "submit p99",
                p99,
                "ms",
                floor=percentile(floor_samples, 99),
                goal="report",
                met=clean,
                params=params,
            ),
        ],
    )
