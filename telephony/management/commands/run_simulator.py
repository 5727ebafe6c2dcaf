"""``manage.py run_simulator``: a simulated FreeSWITCH on 127.0.0.1:8021 (thin wrapper; the
simulator is telephony.simulator, which knows nothing of Django)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from telephony.simulator import SimConfig, SimulatorServer


def hotline_pairs(values: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for value in values:
        number, sep, queue = value.partition(":")
        if not sep or not number.isdigit() or not queue:
            raise CommandError(_("Give hotlines as NUMBER:QUEUE, e.g. 4008001234:orders."))
        pairs.append((number, queue))
    return pairs


class Command(BaseCommand):
    help = "Run the FreeSWITCH simulator (ESL server) until interrupted."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8021)
        parser.add_argument("--password", default="ClueCon")
        parser.add_argument(
            "--hotline",
            action="append",
            default=[],
            metavar="NUMBER:QUEUE",
            help="A hotline and its queue (repeatable). Default: the active hotlines in the "
            "database, else 4008001234:orders.",
        )
        parser.add_argument(
            "--agent",
            action="append",
            default=[],
            metavar="NAME",
            help="An agent, e.g. 1001@default (repeatable). Default: --agents N.",
        )
        parser.add_argument("--agents", type=int, default=10, help="Agents 1001… (default 10).")
        parser.add_argument("--strategy", default="longest-idle-agent")
        parser.add_argument("--max-wait", type=int, default=0, help="Queue max-wait-time (s).")
        parser.add_argument("--speed", type=float, default=1.0)
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--heartbeat", type=float, default=20.0)
        parser.add_argument(
            "--config", type=Path, help="A JSON file with the full simulator configuration."
        )

    def handle(self, *args, **options):
        config = self.build_config(options)
        self.stdout.write(
            f"FreeSWITCH simulator on {config.host}:{config.port} — hotlines "
            + ", ".join(f"{h.number}→{h.queue}" for h in config.hotlines)
            + f"; {len(config.agents)} agents; speed {config.speed}"
        )
        try:
            with contextlib.suppress(KeyboardInterrupt):
                asyncio.run(self.serve(config))
        except OSError as exc:
            raise CommandError(
                _("Cannot listen on %(host)s:%(port)s: %(error)s")
                % {"host": config.host, "port": config.port, "error": exc}
            ) from exc

    def build_config(self, options) -> SimConfig:
        if options["config"]:
            data = json.loads(options["config"].read_text(encoding="utf-8"))
            data.setdefault("host", options["host"])
            data.setdefault("port", options["port"])
            return SimConfig.from_dict(data)
        pairs = hotline_pairs(options["hotline"]) or self.hotlines_from_db()
        config = SimConfig.simple(
            hotlines=pairs or [("4008001234", "orders")],
            agents=options["agent"] or options["agents"],
            strategy=options["strategy"],
            speed=options["speed"],
            seed=options["seed"],
            heartbeat_interval=options["heartbeat"],
            password=options["password"],
            host=options["host"],
            port=options["port"],
        )
        for queue in config.queues:
            queue.max_wait_time = options["max_wait"]
        return config

    @staticmethod
    def hotlines_from_db() -> list[tuple[str, str]]:
        from tvshop.media.models import Hotline

        with contextlib.suppress(Exception):  # no database yet: use the default hotline
            return list(Hotline.objects.filter(active=True).values_list("number", "queue_name"))
        return []

    async def serve(self, config: SimConfig) -> None:
        async with SimulatorServer(config):
            await asyncio.Event().wait()
