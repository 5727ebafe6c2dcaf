"""The bridge's schema changes (none so far): keeps the migration chain 0001 → 0002 → 0003
that the telephony contract fixes for the parallel bridge and desktop work."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("telephony", "0001_initial")]

    operations: list = []
