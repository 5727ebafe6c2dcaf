"""``manage.py load_courier_templates``: the common couriers, SF Express's bulk-order
template and the usual courier status texts (idempotent)."""

from django.core.management.base import BaseCommand

from logistics.defaults import courier_templates_load


class Command(BaseCommand):
    help = "Create the common couriers, SF Express's template and courier status mappings."

    def handle(self, *args, **options):
        created = courier_templates_load()
        self.stdout.write(f"courier templates: {created} rows created")
