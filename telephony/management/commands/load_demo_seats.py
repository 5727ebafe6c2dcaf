"""Demo seats 1001…1060 (one per demo agent), for `make run`. Idempotent."""

from django.core.management.base import BaseCommand
from django.db import transaction

from telephony.models import Seat

DEMO_SEATS = 60


class Command(BaseCommand):
    help = "Create the demo seats (extensions 1001…1060) if they do not exist."

    def handle(self, *args, **options):
        with transaction.atomic():
            existing = set(Seat.objects.values_list("extension", flat=True))
            new = [
                Seat(extension=str(1000 + n), label=f"A{n:02d}")
                for n in range(1, DEMO_SEATS + 1)
                if str(1000 + n) not in existing
            ]
            Seat.objects.bulk_create(new)
        self.stdout.write(f"{len(new)} seats created, {len(existing)} existed")
