import json
from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data" / "divisions.json"


def load(apps, schema_editor):
    Division = apps.get_model("crm", "Division")
    rows = json.loads(DATA.read_text(encoding="utf-8"))["rows"]
    # Cities without districts (Dongguan, Zhongshan, Danzhou…) list towns (9 digits) instead.
    level = {2: 1, 4: 2, 6: 3, 9: 3}
    Division.objects.bulk_create(
        [
            Division(code=code, name=name, level=level[len(code)], parent_id=parent)
            for code, name, parent in rows
        ],
        batch_size=1000,
        ignore_conflicts=True,
    )


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
