"""The benchmarks' own PostgreSQL database (``tvshop_bench`` via ``make bench``)."""

from __future__ import annotations

import psycopg
from django.conf import settings
from django.core.management import call_command
from django.db import connection


def conninfo(dbname: str | None = None) -> str:
    """A libpq connection string for Django's database (or ``dbname`` on the same server)."""
    db = settings.DATABASES["default"]
    parts = {
        "host": db.get("HOST") or "",
        "port": str(db.get("PORT") or ""),
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
        "dbname": dbname or db["NAME"],
    }
    return " ".join(f"{k}={v}" for k, v in parts.items() if v)


def ensure_bench_database(*, benchmark: str, destructive: bool = False) -> str:
    """Create the database if it does not exist, migrate it, and return its name.

    ``destructive`` benchmarks replace data, so they refuse a database whose name does not
    contain "bench".
    """
    if connection.vendor != "postgresql":
        raise SystemExit(f"the {benchmark} benchmark needs PostgreSQL (set DATABASE_URL)")
    name = settings.DATABASES["default"]["NAME"]
    if destructive and "bench" not in name:
        raise SystemExit(
            f"the {benchmark} benchmark replaces data; run it on a bench database "
            f"(a name containing 'bench', e.g. tvshop_bench), not {name!r}"
        )
    with psycopg.connect(conninfo("postgres"), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            print(f"creating database {name}")
            admin.execute(f'CREATE DATABASE "{name}"')
    call_command("migrate", verbosity=0, interactive=False)
    return name
