"""A deleted call also marks the hours of the orders that named it (their station falls
back to the customer's first call, found only when those hours are recomputed)."""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION reports_mark_dirty_hours() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO reports_dirtyhour (hour, source)
      SELECT DISTINCT date_trunc('hour', n.created_at, 'UTC'), TG_ARGV[0] FROM new_rows n;
  ELSIF TG_OP = 'UPDATE' THEN
    INSERT INTO reports_dirtyhour (hour, source)
      SELECT date_trunc('hour', n.created_at, 'UTC'), TG_ARGV[0] FROM new_rows n
      UNION SELECT date_trunc('hour', o.created_at, 'UTC'), TG_ARGV[0] FROM old_rows o;
  ELSE
    INSERT INTO reports_dirtyhour (hour, source)
      SELECT DISTINCT date_trunc('hour', o.created_at, 'UTC'), TG_ARGV[0] FROM old_rows o;
    IF TG_ARGV[0] = 'call' THEN
      INSERT INTO reports_dirtyhour (hour, source)
        SELECT DISTINCT date_trunc('hour', r.created_at, 'UTC'), 'order'
        FROM old_rows o JOIN orders_order r ON r.call_uuid = o.uuid WHERE o.uuid <> '';
    END IF;
  END IF;
  RETURN NULL;
END $$;
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(FUNCTION)


class Migration(migrations.Migration):
    dependencies = [("reports", "0004_order_grain")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
