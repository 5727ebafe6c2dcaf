"""Order submission under 60 concurrent agents against PostgreSQL (issue #4).

Run with ``make bench BENCH=order_entry`` (a bench database; ``BENCH_ENTRY_AGENTS``
agents, default 60, for ``BENCH_ENTRY_SECONDS``, default 20). Measured in one run:

* the app as it is served (``Procfile``: gunicorn, ``BENCH_ENTRY_WORKERS`` sync worker
  processes, default 4) on a free local port, started and stopped by the bench;
* 60 agents as HTTP clients in ``BENCH_ENTRY_CLIENT_PROCESSES`` processes (default 4,
  threads inside them; a client only waits on its socket). Each agent has its own
  session (logged in once) and CSRF cookie (from a GET of the entry form, as the desktop
  does) and submits the real entry request from the agent desktop (``POST
  orders:order_new`` with ``HX-Request``, CSRF token, ``Origin``): one product with its
  gift rule (so every order reserves the same gift's stock row), a saved address, COD,
  cycling through ``BENCH_ENTRY_CUSTOMERS`` customers of its own (default 10). No think
  time: each agent submits again as soon as the answer is back. A submit succeeds when
  the answer is 200 with "entry-done";
* while they run, ``pg_stat_activity`` sampled every 0.25 s: how many sessions of the
  bench database wait on a lock (customer row, gift row) and how many are active;
* queries per submit (``CaptureQueriesContext`` around the same request in process) with
  1 and with 3 lines, and the row locks it takes (``FOR UPDATE``);
* the floor: 60 threads, each with its own psycopg connection, running a bare
  ``INSERT`` of an order row plus one line row and a commit, for the same time.

Orders per second and the p99 latency of one submit. The issue sets no goal: "report",
met only when no submit failed. Afterwards the bench's orders are cancelled (a raw
UPDATE, so they leave the review queue) and the floor's rows deleted.
"""

from __future__ import annotations

import http.client
import multiprocessing as mp
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlencode

import psycopg
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from bench.common import percentile, row, write_results
from bench.database import conninfo, ensure_bench_database

NAME = "order_entry"
AGENTS = int(os.environ.get("BENCH_ENTRY_AGENTS", "60"))
SECONDS = float(os.environ.get("BENCH_ENTRY_SECONDS", "20"))
WORKERS = int(os.environ.get("BENCH_ENTRY_WORKERS", "4"))
CLIENT_PROCESSES = int(os.environ.get("BENCH_ENTRY_CLIENT_PROCESSES", "4"))
CUSTOMERS = int(os.environ.get("BENCH_ENTRY_CUSTOMERS", "10"))
FLOOR_PREFIX = "OEF"
ROOT = Path(__file__).resolve().parent.parent


def ensure_agents():
    """``AGENTS`` agents, each with ``CUSTOMERS`` customers (one address each) of their
    own; the product ``BENCH-OE`` (and two more for the 3-line count) with a gift rule."""
    from django.contrib.auth.models import Group

    from crm.models import Address, Customer, Division
    from orders.choices import GiftRuleKind
    from orders.models import GiftRule
    from tvshop.accounts.models import User
    from tvshop.catalog.models import Gift, Product

    group = Group.objects.get(name="agent")
    province, city, district = (Division.objects.get(code=c) for c in ("44", "4403", "440305"))
    products = []
    for sku in ("BENCH-OE", "BENCH-OE-2", "BENCH-OE-3"):
        product, _ = Product.objects.get_or_create(
            sku=sku, defaults={"name": f"按摩椅 {sku}", "price": Decimal("199.00")}
        )
        if not product.on_sale:
            product.on_sale = True
            product.save(update_fields=["on_sale"])
        products.append(product)
    gift, _ = Gift.objects.get_or_create(
        sku="BENCH-OE-GIFT", defaults={"name": "颈枕 OE", "value": Decimal("20.00")}
    )
    Gift.objects.filter(pk=gift.pk).update(stock=100_000_000, on_offer=True)
    rule, _ = GiftRule.objects.get_or_create(
        name="bench OE gift",
        defaults={"kind": GiftRuleKind.BY_PRODUCT, "gift": gift, "product": products[0]},
    )
    seats = []
    for i in range(AGENTS):
        agent, _ = User.objects.get_or_create(username=f"bench_oe_agent{i:02d}")
        agent.groups.add(group)
        own = []
        for k in range(CUSTOMERS):
            name = f"oe客户{i:02d}" if k == 0 else f"oe客户{i:02d}-{k}"
            customer = Customer.objects.filter(name=name).first()
            if customer is None:
                customer = Customer.objects.create(name=name)
            address = customer.addresses.first()
            if address is None:
                address = Address.objects.create(
                    customer=customer,
                    recipient=customer.name,
                    phone="+8613800138000",
                    province=province,
                    city=city,
                    district=district,
                    street=f"科技园南路 {i} 号 {k} 室",
                    is_default=True,
                )
            own.append((customer.pk, address.pk))
        seats.append((agent, own))
    return products, rule, seats


def form_data(customer_id, address_id, products, rule=None, lines: int = 1) -> dict:
    data = {
        "customer": str(customer_id),
        "call": "",
        "address": str(address_id),
        "payment_method": "cod",
        "discount": "0",
        "remark": "bench",
        "line_product": [str(p.pk) for p in products[:lines]],
        "line_qty": ["1"] * lines,
    }
    if rule is not None:
        data["gifts"] = [str(rule.pk)]
    return data


def queries_per_submit(url, agent, own, products, rule) -> dict:
    """The same desktop submit in process: queries with 1 and 3 lines, and the locks."""
    client = Client()
    client.force_login(agent)
    out = {}
    for lines in (1, 3):
        customer_id, address_id = own[lines % len(own)]
        data = form_data(customer_id, address_id, products, rule, lines=lines)
        client.post(url, data, HTTP_HX_REQUEST="true")  # warm
        with CaptureQueriesContext(connection) as captured:
            response = client.post(url, data, HTTP_HX_REQUEST="true")
        assert response.status_code == 200 and b"entry-done" in response.content, (
            response.status_code,
            response.content[:2000],
        )
        sql = [q["sql"] for q in captured.captured_queries]
        out[f"{lines} line{'s' if lines > 1 else ''}"] = {
            "queries": len(sql),
            "for_update": [s[:120] for s in sql if "FOR UPDATE" in s],
            "writes": sum(1 for s in sql if s.startswith(("INSERT", "UPDATE", "DELETE"))),
        }
    return out


# --- the server ---------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(port: int, log):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tvshop.settings"}
    hosts = set(filter(None, env.get("ALLOWED_HOSTS", "").split(","))) | {"127.0.0.1"}
    env["ALLOWED_HOSTS"] = ",".join(sorted(hosts))
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "tvshop.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(WORKERS),
            "--timeout",
            "120",
            "--backlog",
            "256",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    deadline = time.monotonic() + 240  # workers import Django; slow on a loaded machine
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log.seek(0)
            raise SystemExit(f"gunicorn exited with {server.returncode}:\n{log.read()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            conn.request("GET", "/accounts/login/")
            conn.getresponse().read()
            conn.close()
            return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    log.seek(0)
    raise SystemExit("gunicorn did not answer within 240 s:\n" + log.read()[-3000:])


def server_cpu_seconds(server) -> float:
    """User + system CPU of the gunicorn master's worker processes (Linux ``/proc``)."""
    total, tick = 0.0, os.sysconf("SC_CLK_TCK")
    try:
        children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    except OSError:
        return float("nan")
    for pid in children:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


def stop_server(server) -> None:
    server.terminate()
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


# --- the clients (in their own processes) --------------------------------------------------
def _cookies(response, jar: dict) -> None:
    for header, value in response.getheaders():
        if header.lower() == "set-cookie":
            name, _, rest = value.partition("=")
            jar[name.strip()] = rest.split(";", 1)[0]


def _agent(port, path, session_cookie, own, data_template, go, start_at, out, index):
    latencies, failures = [], []
    jar = dict(session_cookie)
    origin = f"http://127.0.0.1:{port}"
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

        def cookie_header():
            return "; ".join(f"{k}={v}" for k, v in jar.items())

        conn.request("GET", f"{path}?customer={own[0][0]}", headers={"Cookie": cookie_header()})
        response = conn.getresponse()
        response.read()
        _cookies(response, jar)
        if response.status != 200 or "csrftoken" not in jar:
            raise RuntimeError(f"entry form: {response.status}, cookies {sorted(jar)}")
        go.wait()
        deadline = start_at.value + SECONDS
        n = 0
        while time.time() < deadline:
            customer_id, address_id = own[n % len(own)]
            n += 1
            data = dict(data_template)
            data["customer"], data["address"] = str(customer_id), str(address_id)
            data["csrfmiddlewaretoken"] = jar["csrftoken"]
            body = urlencode(data, doseq=True)
            headers = {
                "Cookie": cookie_header(),
                "Content-Type": "application/x-www-form-urlencoded",
                "HX-Request": "true",
                "Origin": origin,
                "Referer": f"{origin}{path}?customer={customer_id}",
            }
            t0 = time.perf_counter()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            content = response.read()
            latencies.append((time.perf_counter() - t0) * 1000)
            if response.status != 200 or b"entry-done" not in content:
                failures.append(f"{response.status}")
        conn.close()
    except Exception as exc:  # reported, not raised: one broken agent must not hang the run
        failures.append(repr(exc)[:200])
    out[index] = (latencies, failures, time.time())


def client_process(port, path, agents, data_template, ready, go, start_at, results):
    out: dict[int, tuple] = {}
    threads = [
        threading.Thread(
            target=_agent,
            args=(port, path, cookie, own, data_template, go, start_at, out, i),
            daemon=True,
        )
        for i, (cookie, own) in enumerate(agents)
    ]
    for thread in threads:
        thread.start()
    ready.put(len(threads))
    for thread in threads:
        thread.join()
    results.put([out[i] for i in sorted(out)])


def run_app(port, path, agents, data_template, server=None):
    """``(latencies, failures, elapsed, lock_samples)`` of the agents against the server."""
    ctx = mp.get_context("spawn")
    ready, results = ctx.Queue(), ctx.Queue()
    go, start_at = ctx.Event(), ctx.Value("d", 0.0)
    chunks = [agents[i::CLIENT_PROCESSES] for i in range(CLIENT_PROCESSES)]
    procs = [
        ctx.Process(
            target=client_process,
            args=(port, path, chunk, data_template, ready, go, start_at, results),
            daemon=True,
        )
        for chunk in chunks
        if chunk
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    time.sleep(2)  # every agent has fetched its form
    cpu_before = server_cpu_seconds(server) if server is not None else float("nan")
    start_at.value = time.time()
    go.set()
    began = time.perf_counter()
    samples = sample_locks(SECONDS)
    collected = [results.get(timeout=SECONDS + 180) for _ in procs]
    if server is not None:
        samples["server_cpu_seconds"] = round(server_cpu_seconds(server) - cpu_before, 2)
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join(timeout=30)
    latencies = [s for chunk in collected for lat, _, _ in chunk for s in lat]
    failures = [f for chunk in collected for _, fails, _ in chunk for f in fails]
    last = max((end for chunk in collected for _, _, end in chunk), default=0.0)
    # from the start to the last answer (submits started before the deadline finish)
    elapsed = max(last - start_at.value, 1e-9) if latencies else elapsed
    return latencies, failures, elapsed, samples


def sample_locks(seconds: float) -> dict:
    """Sessions of this database waiting on a lock / active, every 0.25 s."""
    waiting, active, kinds = [], [], {}
    name = settings.DATABASES["default"]["NAME"]
    with psycopg.connect(conninfo(), autocommit=True) as conn:
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            rows = conn.execute(
                "SELECT state, wait_event_type, wait_event FROM pg_stat_activity "
                "WHERE datname = %s AND pid <> pg_backend_pid()",
                [name],
            ).fetchall()
            waiting.append(sum(1 for r in rows if r[1] == "Lock"))
            active.append(sum(1 for r in rows if r[0] == "active"))
            for r in rows:
                if r[1] == "Lock":
                    kinds[r[2]] = kinds.get(r[2], 0) + 1
            time.sleep(0.25)
    n = max(len(waiting), 1)
    return {
        "samples": len(waiting),
        "lock_waiting_mean": round(sum(waiting) / n, 2),
        "lock_waiting_max": max(waiting, default=0),
        "active_mean": round(sum(active) / n, 2),
        "lock_wait_events": kinds,
    }


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
    products, rule, seats = ensure_agents()
    url = reverse("orders:order_new")

    # One submit first (and the query count), so a broken form fails loudly before the run.
    agent, own = seats[0]
    per_submit = queries_per_submit(url, agent, own, products, rule)
    template = Order.objects.filter(agent=agent).order_by("-pk").first()

    # A session per agent, as after logging in (the session store is the server's too).
    agents = []
    for agent, own in seats:
        client = Client()
        client.force_login(agent)
        cookie = {settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value}
        agents.append((cookie, own))
    data_template = form_data(*own[0], products, rule)
    connection.close()

    port = free_port()
    with tempfile.NamedTemporaryFile("w+", prefix="bench-gunicorn-", suffix=".log") as log:
        server = start_server(port, log)
        try:
            samples, problems, elapsed, locks = run_app(port, url, agents, data_template, server)
        finally:
            stop_server(server)
            log.seek(0)
            server_errors = [ln.strip()[:200] for ln in log if "Traceback" in ln or "ERROR" in ln]
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
    server_cpu = locks.pop("server_cpu_seconds", float("nan"))
    floor_rate = len(floor_samples) / floor_elapsed
    params = {
        "agents": AGENTS,
        "seconds": round(elapsed, 2),
        "submits": len(samples),
        "failed": len(problems),
        "failures_sample": sorted(set(problems))[:5],
        "server_errors_sample": server_errors[:5],
        "floor_inserts": len(floor_samples),
        "floor_failed": len(floor_problems),
        "server": f"gunicorn tvshop.wsgi, {WORKERS} sync workers (Procfile)",
        "clients": f"{AGENTS} agents in {CLIENT_PROCESSES} processes, keep-alive HTTP/1.1",
        "customers_per_agent": CUSTOMERS,
        "path": "POST orders:order_new from the desktop (HX-Request): session, CSRF, "
        "1 product + its gift rule, saved address, COD",
        "queries_per_submit": per_submit,
        # load-independent: CPU the app spent per submit, all workers together
        "server_cpu_ms_per_submit": round(server_cpu * 1000 / max(len(samples), 1), 1),
        "locks_during_run": locks,
        "floor": "psycopg INSERT order + INSERT 1 line + COMMIT, 60 threads, same time",
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
