"""``manage.py routing_controller`` — run the overflow controller every second (next to
``esl_bridge``); ``--provision`` pushes the routing state to the switch first;
``--once`` runs one step and exits."""

import time

from django.core.management.base import BaseCommand

from telephony.routing.controller import embedded_loop_start, embedded_loop_stop, overflow_tick
from telephony.routing.services import routing_provision_all


class Command(BaseCommand):
    help = "Run the overflow controller (and optionally provision the switch)."

    def add_arguments(self, parser):
        parser.add_argument("--provision", action="store_true")
        parser.add_argument("--once", action="store_true")
        parser.add_argument("--interval", type=float, default=1.0)

    def handle(self, *args, provision=False, once=False, interval=1.0, **options):
        if provision:
            result = routing_provision_all()
            self.stdout.write(f"provisioned: {result.sent} commands, {len(result.failed)} refused")
        if once:
            changed = overflow_tick()
            self.stdout.write(f"overflow changes: {len(changed)}")
            return
        embedded_loop_start(interval=interval)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            embedded_loop_stop()
