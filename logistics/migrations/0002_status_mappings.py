from django.db import migrations


def load(apps, schema_editor):
    from logistics.defaults import status_mappings_load

    status_mappings_load(apps)


class Migration(migrations.Migration):
    dependencies = [("logistics", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
