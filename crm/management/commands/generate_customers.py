"""``manage.py generate_customers N``: add N customers with unique mobiles (benchmarks)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.utils.translation import gettext as _

from crm.demo import customers_generate


class Command(BaseCommand):
    help = (
        "Add N generated customers, each with a unique mobile number. PostgreSQL: COPY in "
        "batches; other databases: bulk_create."
    )

    def add_arguments(self, parser):
        parser.add_argument("count", type=int, help="How many customers to add.")
        parser.add_argument("--batch-size", type=int, default=50_000, help="Rows per transaction.")

    def handle(self, *args, count: int, batch_size: int, **opts):
        if count < 1:
            raise CommandError(_("Give a positive number of customers."))
        if batch_size < 1:
            raise CommandError(_("Give a positive batch size."))
        verbose = opts.get("verbosity", 1) >= 1
        result = customers_generate(
            count=count,
            batch_size=batch_size,
            out=self.stdout.write if verbose else None,
        )
        self.stdout.write(
            _(
                "%(customers)d customers and %(phones)d phone numbers added in %(seconds).1f s "
                "(%(vendor)s)."
            )
            % {
                "customers": result["customers"],
                "phones": result["phones"],
                "seconds": result["seconds"],
                "vendor": connection.vendor,
            }
        )
