"""``manage.py simulate_airing --hotline 4008001234 --calls 800 --minutes 5``: the calls a TV
spot brings, placed into a running simulator (see telephony.simulator.scenario)."""

from __future__ import annotations

import asyncio
import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from telephony.esl.errors import ESLError
from telephony.simulator import Scenario
from tvshop.media.models import Hotline


class Command(BaseCommand):
    help = "Place N calls to a hotline over M minutes into the running FreeSWITCH simulator."

    def add_arguments(self, parser):
        env = getattr(settings, "ENV", None)
        parser.add_argument("--hotline", required=True)
        parser.add_argument("--calls", type=int, default=100)
        parser.add_argument("--minutes", type=float, default=5.0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--host", default=(env and env.esl_host) or "127.0.0.1")
        parser.add_argument("--port", type=int, default=(env and env.esl_port) or 8021)
        parser.add_argument("--password", default=(env and env.esl_password) or "ClueCon")
        parser.add_argument("--patience", type=float, nargs=2, default=(20.0, 90.0))
        parser.add_argument("--talk", type=float, nargs=2, default=(30.0, 180.0))
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **options):
        hotline = Hotline.objects.filter(number=options["hotline"]).first()
        if hotline is None:
            raise CommandError(_("No hotline %(number)s.") % {"number": options["hotline"]})
        if options["calls"] < 1 or options["minutes"] <= 0:
            raise CommandError(_("Give at least one call and a positive number of minutes."))
        scenario = Scenario(
            hotline=hotline.number,
            calls=options["calls"],
            minutes=options["minutes"],
            seed=options["seed"],
            patience=tuple(options["patience"]),
            talk_time=tuple(options["talk"]),
        )
        try:
            report = asyncio.run(
                scenario.run_at(options["host"], options["port"], options["password"])
            )
        except (ESLError, OSError, TimeoutError) as exc:
            raise CommandError(
                _("Cannot reach the simulator at %(host)s:%(port)s: %(error)s")
                % {"host": options["host"], "port": options["port"], "error": exc}
            ) from exc
        data = {"hotline": hotline.number, "queue": hotline.queue_name, **report.as_dict()}
        if options["json"]:
            self.stdout.write(json.dumps(data))
        else:
            self.stdout.write(" ".join(f"{key}={value}" for key, value in data.items()))
