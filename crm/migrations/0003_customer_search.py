# Customer search indexes (owned by the customers work). Edit by hand; keep the chain.
#
# Partial phone numbers ("8000", "0013 8") and partial names are LIKE '%…%' searches,
# which a btree cannot serve. pg_trgm GIN indexes can (for 3+ characters). The full-number
# lookup of the screen pop uses the unique btree on crm_customerphone.number instead.
# PostgreSQL only: the embedded SQLite default scans (small data, no extension).
from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS crm_customerphone_number_trgm "
    "ON crm_customerphone USING gin (number gin_trgm_ops)",
    # Django's icontains emits UPPER("name"::text) LIKE UPPER(%s): index that expression.
    "CREATE INDEX IF NOT EXISTS crm_customer_name_upper_trgm "
    "ON crm_customer USING gin ((UPPER(name::text)) gin_trgm_ops)",
    # Lists show live (not merged) customers newest first.
    "CREATE INDEX IF NOT EXISTS crm_customer_live_id "
    "ON crm_customer (id DESC) WHERE merged_into_id IS NULL",
]
BACKWARD = [
    "DROP INDEX IF EXISTS crm_customer_live_id",
    "DROP INDEX IF EXISTS crm_customer_name_upper_trgm",
    "DROP INDEX IF EXISTS crm_customerphone_number_trgm",
    # The extension stays: other apps (FAQ search) may use it.
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("crm", "0002_divisions")]
    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
