"""Run benchmarks: ``make bench`` (all) or ``make bench BENCH=customer_lookup``.

Each benchmark is a module ``bench/<name>.py`` with a ``main()`` that writes
``bench/results/<name>.json``.
"""

import importlib
import os
import sys
from pathlib import Path

import django

BENCHMARKS = [
    "customer_lookup",
    "faq_search",
    "screen_pop",
    "stats_rollups",
    "shipping_export",
    "shipping_import",
    "surge_load",
    "review_queue",
    "order_entry",
]


def main(argv: list[str]) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvshop.settings")
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    django.setup()
    names = argv or BENCHMARKS
    for name in names:
        if name not in BENCHMARKS:
            raise SystemExit(f"unknown benchmark {name!r}; known: {', '.join(BENCHMARKS)}")
        importlib.import_module(f"bench.{name}").main()


if __name__ == "__main__":
    main(sys.argv[1:])
