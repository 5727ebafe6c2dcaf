"""``manage.py esl_bridge``: the ESL bridge for one FreeSWITCH node (settings.TELEPHONY_ESL,
i.e. ESL_HOST / ESL_PORT / ESL_PASSWORD), until SIGTERM or Ctrl-C.

In the embedded wiring the web process already runs a bridge next to the built-in simulator
(telephony.embedded); this command is for the server wiring, one process per node.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal

from django.conf import settings
from django.core.management.base import BaseCommand

from telephony.bridge import Bridge
from telephony.bridge.service import tune_process


class Command(BaseCommand):
    help = "Run the ESL bridge: switch events → call records → agent desktops."

    def add_arguments(self, parser):
        conf = settings.TELEPHONY_ESL
        parser.add_argument("--host", default=conf["host"])
        parser.add_argument("--port", type=int, default=conf["port"])
        parser.add_argument(
            "--max-pending", type=int, default=20_000, help="Events read but not yet written."
        )
        parser.add_argument("--max-batch", type=int, default=1000, help="Events per transaction.")
        parser.add_argument("--heartbeat-timeout", type=float, default=60.0)

    def handle(self, *args, **options):
        password = settings.TELEPHONY_ESL["password"]
        bridge = Bridge(
            options["host"],
            options["port"],
            password,
            max_pending=options["max_pending"],
            max_batch=options["max_batch"],
            heartbeat_timeout=options["heartbeat_timeout"] or None,
        )
        tune_process()
        self.stdout.write(f"ESL bridge → {options['host']}:{options['port']}")
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(self.serve(bridge))
        self.stdout.write(json.dumps(bridge.snapshot()))

    async def serve(self, bridge: Bridge) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await bridge.start()
        consumer = bridge.consumer
        waiter = asyncio.create_task(stop.wait())
        await asyncio.wait({waiter, consumer}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        await bridge.stop()
        if consumer.done() and not consumer.cancelled() and consumer.exception():
            raise consumer.exception()
