"""Triggers that log the hours whose roll-ups must be recomputed (see DirtyHour).

Statement-level triggers with transition tables: one INSERT per statement whatever its row
count (a bulk load marks each hour once), no lock on the hot path.
"""

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
  END IF;
  RETURN NULL;
END $$;
"""

SLOT_FUNCTION = """
CREATE OR REPLACE FUNCTION reports_mark_dirty_slots() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    INSERT INTO reports_dirtyhour (hour, source)
      SELECT DISTINCT date_trunc('hour', n.start, 'UTC'), 'slot' FROM new_rows n;
  END IF;
  IF TG_OP IN ('DELETE', 'UPDATE') THEN
    INSERT INTO reports_dirtyhour (hour, source)
      SELECT DISTINCT date_trunc('hour', o.start, 'UTC'), 'slot' FROM old_rows o;
  END IF;
  RETURN NULL;
END $$;
"""


def triggers(table: str, function: str, arg: str) -> str:
    name = table.replace("_", "")
    call = f"EXECUTE FUNCTION {function}({arg})"
    return f"""
CREATE TRIGGER rep_{name}_ins AFTER INSERT ON {table}
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT {call};
CREATE TRIGGER rep_{name}_upd AFTER UPDATE ON {table}
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT {call};
CREATE TRIGGER rep_{name}_del AFTER DELETE ON {table}
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT {call};
"""


def drop(table: str) -> str:
    name = table.replace("_", "")
    return "".join(f"DROP TRIGGER IF EXISTS rep_{name}_{op} ON {table};" for op in ("ins", "upd", "del"))


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return  # embedded SQLite: roll-ups are rebuilt from scratch on demand
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FUNCTION)
        cursor.execute(SLOT_FUNCTION)
        cursor.execute(triggers("telephony_call", "reports_mark_dirty_hours", "'call'"))
        cursor.execute(triggers("orders_order", "reports_mark_dirty_hours", "'order'"))
        cursor.execute(triggers("media_airingslot", "reports_mark_dirty_slots", ""))


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    with schema_editor.connection.cursor() as cursor:
        for table in ("telephony_call", "orders_order", "media_airingslot"):
            cursor.execute(drop(table))
        cursor.execute("DROP FUNCTION IF EXISTS reports_mark_dirty_hours();")
        cursor.execute("DROP FUNCTION IF EXISTS reports_mark_dirty_slots();")


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_rollups"),
        ("telephony", "0002_bridge"),
        ("orders", "0001_initial"),
        ("media", "0001_initial"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]


