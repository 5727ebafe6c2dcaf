"""Screen-pop lookup: a customer by full phone number among 1,000,000 customers.

Run it with ``make bench BENCH=customer_lookup`` (uses ``BENCH_DATABASE_URL``, by default
``postgres://postgres@127.0.0.1:5432/tvshop_bench``), or by hand::

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tvshop_bench \\
    REDIS_URL=redis://127.0.0.1:6379/0 SECRET_KEY=x DEBUG=0 ALLOWED_HOSTS=localhost \\
    .venv/bin/python -m bench.run customer_lookup

The database is created and migrated if missing and filled up to 1,000,000 customers with
``generate_customers`` (COPY; about two minutes the first time, nothing afterwards).

Measured, in one run and interleaved call by call so both see the same machine:

* ``customer_find_by_phone(raw)`` — what the screen pop calls — for 5,000 random existing
  numbers written in the spellings callers and trunks produce (``13800138000``,
  ``+86 138 0013 8000``, ``138-0013-8000``, ``008613800138000``, ``+8613800138000``);
* the floor: the same single-row lookup (phone → customer → source station on the unique
  index) as a prepared statement on a plain psycopg connection, given the E.164 number.

Also reported, to show where the time goes: the normalisation alone
(``crm.phones.phone_lookup_key``) and p99 per spelling.
Goal: p99 under 2 ms and within 3x of the raw lookup's p99 (the p50 row reports the
same ratio at the median).
"""

from __future__ import annotations

import random
import time

import psycopg
from django.conf import settings
from django.db import connection

from bench.common import percentile, row, write_results
from bench.database import conninfo, ensure_bench_database

NAME = "customer_lookup"
CUSTOMERS = 1_000_000
SAMPLES = 5_000
WARMUP = 500
GOAL_P99_MS = 2.0
GOAL_RATIO = 3.0

SPELLINGS = {
    "plain": lambda n: n,
    "spaced_+86": lambda n: f"+86 {n[:3]} {n[3:7]} {n[7:]}",
    "dashed": lambda n: f"{n[:3]}-{n[3:7]}-{n[7:]}",
    "0086": lambda n: "0086" + n,
    "e164": lambda n: "+86" + n,
}

RAW_SQL = """
SELECT p.id, p.customer_id, p.number, p.kind, p.province, p.city, p.is_primary, p.created_at,
       c.id, c.name, c.salutation, c.level, c.member_no, c.pin_hash, c.points_balance,
       c.source_station_id, c.notes, c.merged_into_id, c.created_at, c.updated_at,
       s.id, s.code, s.name, s.region, s.active, s.note
  FROM crm_customerphone p
  JOIN crm_customer c ON c.id = p.customer_id
  LEFT JOIN media_station s ON s.id = c.source_station_id
 WHERE p.number = %s AND c.merged_into_id IS NULL
 LIMIT 1
"""


def ensure_customers(target: int) -> int:
    from crm.demo import customers_generate
    from crm.models import Customer

    have = Customer.objects.count()
    if have < target:
        print(f"{have:,} customers; generating {target - have:,} (COPY)…")
        result = customers_generate(count=target - have, out=print)
        print(f"generated in {result['seconds']:.0f} s")
        with connection.cursor() as cur:
            cur.execute("ANALYZE crm_customer")
            cur.execute("ANALYZE crm_customerphone")
    return Customer.objects.count()


def sample_numbers(n: int) -> list[str]:
    """n random mobile numbers (E.164) of live customers."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT p.number FROM crm_customerphone p JOIN crm_customer c "
            "ON c.id = p.customer_id WHERE p.kind = 'mobile' AND c.merged_into_id IS NULL "
            "ORDER BY random() LIMIT %s",
            [n],
        )
        return [r[0] for r in cur.fetchall()]


def main() -> None:
    from crm.phones import phone_lookup_key
    from crm.selectors.customers import customer_find_by_phone

    ensure_bench_database(benchmark=NAME)
    total = ensure_customers(CUSTOMERS)
    numbers = sample_numbers(SAMPLES + WARMUP)
    rng = random.Random(7)
    names = list(SPELLINGS)
    cases = []
    for number in numbers:
        spelling = rng.choice(names)
        cases.append((number, spelling, SPELLINGS[spelling](number[3:])))

    raw = psycopg.connect(conninfo(), autocommit=True)
    raw_cur = raw.cursor()

    def raw_lookup(e164: str):
        raw_cur.execute(RAW_SQL, (e164,), prepare=True)
        return raw_cur.fetchone()

    # Warm PostgreSQL's cache over every sampled row first: in service the customer
    # tables stay in memory, and a cold disk read would time the disk, not the lookup
    # (measured: p99 ~35 ms for both paths when the first touch is timed).
    for e164, _spelling, _text in cases:
        raw_lookup(e164)

    pop, floor, norm = [], [], []
    by_spelling: dict[str, list[float]] = {s: [] for s in names}
    clock = time.perf_counter
    for i, (e164, spelling, text) in enumerate(cases):
        # Alternate which goes first, so neither is systematically favoured.
        if i % 2:
            t0 = clock()
            hit = raw_lookup(e164)
            t1 = clock()
            found = customer_find_by_phone(text)
            t2 = clock()
            pop_ms, floor_ms = (t2 - t1) * 1000, (t1 - t0) * 1000
        else:
            t0 = clock()
            found = customer_find_by_phone(text)
            t1 = clock()
            hit = raw_lookup(e164)
            t2 = clock()
            pop_ms, floor_ms = (t1 - t0) * 1000, (t2 - t1) * 1000
        if found is None or hit is None or found.pk != hit[1]:
            raise SystemExit(f"lookup failed for {text!r} ({e164})")
        if i >= WARMUP:
            pop.append(pop_ms)
            floor.append(floor_ms)
            by_spelling[spelling].append(pop_ms)
    raw.close()

    # Diagnostic, in a second pass so it does not disturb the comparison above.
    for i, (e164, _spelling, text) in enumerate(cases):
        t0 = clock()
        key = phone_lookup_key(text)
        t1 = clock()
        if key != e164:
            raise SystemExit(f"normalised {text!r} to {key!r}, expected {e164}")
        if i >= WARMUP:
            norm.append((t1 - t0) * 1000)

    p50, p99 = percentile(pop, 50), percentile(pop, 99)
    f50, f99 = percentile(floor, 50), percentile(floor, 99)
    met_p99 = p99 < GOAL_P99_MS and p99 <= GOAL_RATIO * f99
    params = {
        "customers": total,
        "samples": len(pop),
        "function": "crm.selectors.customers.customer_find_by_phone",
        "spellings": names,
        "floor": "psycopg prepared statement, same join, E.164 given",
        "database": settings.DATABASES["default"]["NAME"],
    }
    rows = [
        row(
            NAME,
            "screen_pop_p50",
            p50,
            "ms",
            floor=f50,
            goal=f"<= {GOAL_RATIO}x raw p50",
            met=p50 <= GOAL_RATIO * f50,
            params=params,
        ),
        row(
            NAME,
            "screen_pop_p99",
            p99,
            "ms",
            floor=f99,
            goal=f"p99 < {GOAL_P99_MS} ms and <= {GOAL_RATIO}x raw p99",
            met=met_p99,
            params=params,
        ),
        row(NAME, "raw_lookup_p50", f50, "ms", goal="floor", met=True, params=params),
        row(NAME, "raw_lookup_p99", f99, "ms", goal="floor", met=True, params=params),
        row(
            NAME,
            "normalise_p99",
            percentile(norm, 99),
            "ms",
            goal="diagnostic: crm.phones.phone_lookup_key alone",
            met=True,
            params={"p50": round(percentile(norm, 50), 4)},
        ),
    ]
    for spelling, samples in by_spelling.items():
        rows.append(
            row(
                NAME,
                f"screen_pop_p99[{spelling}]",
                percentile(samples, 99),
                "ms",
                floor=f99,
                goal="diagnostic: per spelling",
                met=True,
                params={"samples": len(samples), "p50": round(percentile(samples, 50), 4)},
            )
        )
    write_results(NAME, rows)


if __name__ == "__main__":
    main()
