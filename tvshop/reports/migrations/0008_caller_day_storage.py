"""Day sketches stored uncompressed: a page reads ~1,500 of them for a month of 50
stations, and decompressing them cost more than the bit_or (4 KB each, 6 MB a month)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("reports", "0007_curve_indexes")]

    operations = [
        migrations.RunSQL(
            "ALTER TABLE reports_callerday ALTER COLUMN sketch SET STORAGE EXTERNAL",
            "ALTER TABLE reports_callerday ALTER COLUMN sketch SET STORAGE EXTENDED",
        )
    ]
