"""Shared helpers for benchmarks: timing, percentiles and the JSON result rows.

Every benchmark writes ``bench/results/<name>.json``: a list of rows
``{"benchmark", "metric", "value", "unit", "floor", "ratio", "goal", "met", "params", "at"}``.
A timing is reported against a floor measured in the same run (these machines are noisy).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def percentile(samples: list[float], p: float) -> float:
    """Nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(samples)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def time_calls(fn: Callable[[], object], *, n: int, warmup: int = 50) -> list[float]:
    """Run ``fn`` n times after a warm-up; return each call's duration in milliseconds."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def row(
    benchmark: str,
    metric: str,
    value: float,
    unit: str,
    *,
    floor: float | None = None,
    goal: str,
    met: bool,
    params: dict,
) -> dict:
    return {
        "benchmark": benchmark,
        "metric": metric,
        "value": round(value, 4),
        "unit": unit,
        "floor": None if floor is None else round(floor, 4),
        "ratio": None if not floor else round(value / floor, 3),
        "goal": goal,
        "met": bool(met),
        "params": params,
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_results(name: str, rows: list[dict]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(rows, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    for r in rows:
        ratio = f" ratio {r['ratio']}" if r["ratio"] is not None else ""
        print(
            f"{r['benchmark']:>24} {r['metric']:<28} {r['value']:>10} {r['unit']}{ratio}"
            f"  goal: {r['goal']}  met: {r['met']}"
        )
    return path
