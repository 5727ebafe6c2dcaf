from django.db import migrations


def load(apps, schema_editor):
    from crm.divisions import divisions_load

    divisions_load(apps.get_model("crm", "Division"))


class Migration(migrations.Migration):
    dependencies = [("crm", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
