# Scripts and FAQ search (owned by the knowledge work). Edit by hand; keep the chain.
#
# FAQ search on PostgreSQL uses a GIN index over the FAQ's search terms (character
# unigrams and bigrams, see crm/chinese_search.py and docs/decisions.md "FAQ search").
# The index is an expression index that only PostgreSQL has, so it is created here with
# raw SQL guarded by the database vendor and is not part of the model state; SQLite (the
# embedded default) searches with a plain icontains scan instead. fastupdate is off:
# entries change rarely and are searched on every call, and a pending list would make
# each search scan it (and the planner avoid the index) until the next vacuum.
import django.db.models.deletion
from django.db import migrations, models

FAQ_TERMS_INDEX = "crm_faq_search_terms_gin"


def fill_search_terms(apps, schema_editor):
    from crm.chinese_search import text_terms

    FAQ = apps.get_model("crm", "FAQ")
    batch = []
    for faq in FAQ.objects.using(schema_editor.connection.alias).iterator(chunk_size=1000):
        faq.search_terms = text_terms(faq.question, faq.keywords, faq.answer)
        batch.append(faq)
        if len(batch) == 1000:
            FAQ.objects.bulk_update(batch, ["search_terms"])
            batch = []
    if batch:
        FAQ.objects.bulk_update(batch, ["search_terms"])


def create_terms_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {FAQ_TERMS_INDEX} ON crm_faq "
        "USING gin (string_to_array(search_terms, ' ')) WITH (fastupdate = off)"
    )


def drop_terms_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {FAQ_TERMS_INDEX}")


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_customer_search")]

    operations = [
        migrations.AlterField(
            model_name="script",
            name="product",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="catalog.product",
                verbose_name="product",
            ),
        ),
        migrations.AddIndex(
            model_name="script",
            index=models.Index(fields=["stage", "product"], name="script_stage_product_idx"),
        ),
        migrations.AlterField(
            model_name="faq",
            name="product",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                to="catalog.product",
                verbose_name="product",
            ),
        ),
        migrations.AddField(
            model_name="faq",
            name="search_terms",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="search terms"
            ),
        ),
        migrations.AlterModelOptions(
            name="faq",
            options={
                "ordering": ["-updated_at", "-id"],
                "verbose_name": "FAQ entry",
                "verbose_name_plural": "FAQ",
            },
        ),
        migrations.AddIndex(
            model_name="faq",
            index=models.Index(fields=["category"], name="faq_category_idx"),
        ),
        migrations.AddIndex(
            model_name="faq",
            index=models.Index(fields=["-updated_at", "-id"], name="faq_updated_idx"),
        ),
        migrations.RunPython(fill_search_terms, migrations.RunPython.noop, elidable=True),
        migrations.RunPython(create_terms_index, drop_terms_index),
    ]
