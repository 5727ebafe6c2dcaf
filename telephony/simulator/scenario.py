"""The scenario driver: "station X airs, 800 calls to 4008001234 in 5 minutes" → calls placed
into a running simulator over ESL, each call's outcome read from its
CHANNEL_HANGUP_COMPLETE, as the bridge would read it.

::

    report = await Scenario(hotline="4008001234", calls=800, minutes=5, seed=1).run_at(
        "127.0.0.1", 8021, "ClueCon")
    report.counts  # {"answered": …, "abandoned": …, "overflow": …, "rejected": …, "failed": …}

Calls enter with the simulator-only ``sim_inbound`` api command (a PSTN call arriving on the
trunk, with the caller's patience and talk time); the arrival times, caller numbers,
patience and talk times are drawn from ``random.Random(seed)``, so a scenario is repeatable.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
import uuid as uuid_module
from collections.abc import Sequence
from dataclasses import dataclass, field

from telephony.esl.client import ESLClient
from telephony.esl.errors import ESLError
from telephony.esl.events import Event

OUTCOMES = ("answered", "abandoned", "overflow", "rejected", "failed")


def classify(event: Event) -> str:
    """The outcome of a hotline call from its caller leg's CHANNEL_HANGUP_COMPLETE."""
    cause = event.get("Hangup-Cause") or event.variable("hangup_cause") or ""
    if event.variable("tvshop_blacklisted") == "true" or cause == "CALL_REJECTED":
        return "rejected"
    if event.variable("tvshop_callback") == "true":
        return "overflow"
    if event.variable("cc_agent_bridged") == "true" or event.variable("last_bridge_to"):
        return "answered"
    if event.variable("tvshop_dnis") and cause in ("NORMAL_CLEARING", "ORIGINATOR_CANCEL"):
        return "abandoned"
    return "failed"


@dataclass(frozen=True)
class PlannedCall:
    at: float  # simulated seconds after the start
    uuid: str
    caller: str
    patience: float
    talk_time: float


@dataclass
class ScenarioReport:
    placed: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    unfinished: int = 0
    outcomes: dict[str, str] = field(default_factory=dict)
    wall_seconds: float = 0.0

    @property
    def accounted(self) -> int:
        return sum(self.counts.values())

    def as_dict(self) -> dict[str, object]:
        return {
            "placed": self.placed,
            **self.counts,
            "unfinished": self.unfinished,
            "wall_seconds": round(self.wall_seconds, 3),
        }


#: Mainland mobile prefixes that ``phonenumbers`` accepts as valid (14x, 154, 16x, 19x … are
#: partly unassigned): a callback is only dialled to a valid number, so a scenario drawing
#: "any 1[3-9]…" made callers the dispatcher refused and the backlog never worked off.
MOBILE_PREFIXES = tuple(
    str(p)
    for p in (*range(130, 140), 150, 151, 152, 153, 155, 156, 157, 158, 159, *range(180, 190))
)


@dataclass
class Scenario:
    hotline: str
    calls: int
    minutes: float
    seed: int = 0
    agents: Sequence[str] = ()  # set these agents Available before the first call
    patience: tuple[float, float] = (20.0, 90.0)  # uniform range, simulated seconds
    talk_time: tuple[float, float] = (30.0, 180.0)
    callers: Sequence[str] = ()  # numbers to call from, in turn; default: random mobiles
    arrival: str = "poisson"  # or "uniform"
    drain: float | None = None  # simulated seconds to wait for the last calls to end
    # new call uuids on every run (the seed still fixes arrivals, numbers, patience and
    # talk): a load test run twice on the same database must not land on the calls of
    # the run before (same uuids → the same records: waits of half an hour, lost calls)
    fresh_uuids: bool = False

    def plan(self) -> list[PlannedCall]:
        """The calls, in arrival order (deterministic for a seed)."""
        rng = random.Random(self.seed)
        span = self.minutes * 60.0
        if self.arrival == "uniform":
            times = [span * i / max(1, self.calls) for i in range(self.calls)]
        else:
            times = sorted(rng.uniform(0, span) for _ in range(self.calls))
        planned = []
        fresh = [uuid_module.uuid4() for _ in times] if self.fresh_uuids else []
        for index, at in enumerate(times):
            caller = (
                self.callers[index % len(self.callers)]
                if self.callers
                else f"{rng.choice(MOBILE_PREFIXES)}{rng.randrange(10**8):08d}"
            )
            bits = rng.getrandbits(128)  # drawn either way: the rest of the plan is the same
            planned.append(
                PlannedCall(
                    at=at,
                    uuid=str(fresh.pop() if fresh else uuid_module.UUID(int=bits, version=4)),
                    caller=caller,
                    patience=round(rng.uniform(*self.patience), 3),
                    talk_time=round(rng.uniform(*self.talk_time), 3),
                )
            )
        return planned

    async def run_at(
        self,
        host: str = "127.0.0.1",
        port: int = 8021,
        password: str = "ClueCon",  # noqa: S107 - FreeSWITCH's well-known default
    ) -> ScenarioReport:
        client = ESLClient(
            host,
            port,
            password,
            event_names=["CHANNEL_HANGUP_COMPLETE"],
            heartbeat_timeout=None,
            queue_size=max(10_000, self.calls * 4),
            name="scenario",
        )
        try:
            await client.connect(timeout=10)
            return await self.run(client)
        finally:
            await client.close()

    async def run(self, client: ESLClient) -> ScenarioReport:
        """Place the calls through ``client`` (connected, subscribed to
        CHANNEL_HANGUP_COMPLETE) and wait for every one to end."""
        status = json.loads(await client.api("sim_status"))
        speed = float(status.get("speed", 1.0))
        for agent in self.agents:
            await client.api(f"callcenter_config agent set status {agent} 'Available'")
        plan = self.plan()
        report = ScenarioReport()
        pending = {call.uuid for call in plan}
        done = asyncio.Event()
        if not pending:
            done.set()

        async def collect() -> None:
            async for event in client:
                if event.name != "CHANNEL_HANGUP_COMPLETE" or event.uuid not in pending:
                    continue
                pending.discard(event.uuid)
                outcome = classify(event)
                report.outcomes[event.uuid] = outcome
                report.counts[outcome] += 1
                if not pending:
                    done.set()
                    return

        collector = asyncio.create_task(collect())
        started = time.monotonic()
        try:
            for call in plan:
                delay = started + call.at / speed - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                try:
                    await client.api(
                        f"sim_inbound {self.hotline} {call.caller} uuid={call.uuid} "
                        f"patience={call.patience} talk={call.talk_time}"
                    )
                except ESLError:
                    pending.discard(call.uuid)
                    report.outcomes[call.uuid] = "failed"
                    report.counts["failed"] += 1
                report.placed += 1
            if not pending:
                done.set()
            drain = self.drain
            if drain is None:
                drain = self.patience[1] + self.talk_time[1] + 120.0
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=max(1.0, drain / speed))
        finally:
            collector.cancel()
            with contextlib.suppress(asyncio.CancelledError, ESLError):
                await collector
        report.unfinished = len(pending)
        report.wall_seconds = time.monotonic() - started
        return report
