"""Progress of a running batch or import, for the page's progress bar.

Kept in the cache (Redis in the server wiring), not in the database: the work runs inside
one long transaction whose writes nobody sees until it commits.
"""

from __future__ import annotations

from django.core.cache import cache

TIMEOUT = 6 * 3600


def _key(kind: str, pk: int) -> str:
    return f"logistics:progress:{kind}:{pk}"


def progress_set(kind: str, pk: int, *, done: int, total: int | None, phase: str = "") -> None:
    cache.set(_key(kind, pk), {"done": done, "total": total, "phase": phase}, TIMEOUT)


def progress_get(kind: str, pk: int) -> dict:
    data = cache.get(_key(kind, pk)) or {"done": 0, "total": None, "phase": ""}
    total = data.get("total")
    data["percent"] = int(100 * data["done"] / total) if total else None
    return data


def progress_clear(kind: str, pk: int) -> None:
    cache.delete(_key(kind, pk))
