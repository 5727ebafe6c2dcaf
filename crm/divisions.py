"""The administrative divisions reference table (GB/T 2260), loaded from ``data/divisions.json``.

Loaded by migration ``0002_divisions`` and again after a test flush (``post_migrate``),
like permissions: it is reference data every database must have.
"""

import json
from pathlib import Path

DATA = Path(__file__).resolve().parent / "data" / "divisions.json"
# Cities without districts (Dongguan, Zhongshan, Danzhou…) list towns (9 digits) instead.
LEVEL_BY_CODE_LENGTH = {2: 1, 4: 2, 6: 3, 9: 3}


def divisions_load(division_model) -> int:
    """Insert the divisions that are missing; return how many rows the file has."""
    rows = json.loads(DATA.read_text(encoding="utf-8"))["rows"]
    division_model.objects.bulk_create(
        [
            division_model(
                code=code, name=name, level=LEVEL_BY_CODE_LENGTH[len(code)], parent_id=parent
            )
            for code, name, parent in rows
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )
    return len(rows)


def divisions_ensure_loaded(sender, **kwargs):
    """post_migrate receiver: reload the table when a flush emptied it."""
    if sender.name != "crm":
        return
    from crm.models import Division

    if not Division.objects.exists():
        divisions_load(Division)
