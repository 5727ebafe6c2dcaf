"""``manage.py cdr_replay``: CDRs that did not make it the normal way.

* ``cdr_replay FILE …`` — load CDR files (mod_json_cdr's ``err-log-dir`` spool when the app
  was unreachable, or any saved JSON CDR); each goes through the same ingest as a POST, so a
  file loaded twice, or a CDR the switch did post after all, changes nothing.
* ``cdr_replay --failed`` — reconcile again the stored CDRs whose reconcile failed.
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from telephony.cdr.models import CallDetailRecord, CdrResult
from telephony.cdr.services import cdr_decode, cdr_ingest, cdr_replay
from tvshop.errors import DomainError


class Command(BaseCommand):
    help = "Load spooled CDR files, or re-apply stored CDRs whose reconcile failed."

    def add_arguments(self, parser):
        parser.add_argument("files", nargs="*", help="JSON CDR files (e.g. *.cdr.json)")
        parser.add_argument("--failed", action="store_true", help="Re-apply failed CDRs.")

    def handle(self, *args, **options):
        if not options["files"] and not options["failed"]:
            raise CommandError("Give CDR files, or --failed.")
        counts: dict[str, int] = {}
        for name in options["files"]:
            path = Path(name)
            try:
                result = cdr_ingest(data=cdr_decode(path.read_bytes()))
            except (OSError, DomainError) as exc:
                self.stderr.write(f"{path}: {exc}")
                counts["refused"] = counts.get("refused", 0) + 1
                continue
            kind = "duplicate" if result.duplicate else result.result
            counts[kind] = counts.get(kind, 0) + 1
        if options["failed"]:
            for record in CallDetailRecord.objects.filter(result=CdrResult.FAILED).order_by("pk"):
                kind = f"replayed {cdr_replay(record=record).result}"
                counts[kind] = counts.get(kind, 0) + 1
        summary = ", ".join(f"{kind}: {n}" for kind, n in sorted(counts.items())) or "nothing"
        self.stdout.write(summary)
