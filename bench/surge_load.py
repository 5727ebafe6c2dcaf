"""Surge load test (issue #6): a simulated airing — 1,500 calls in 5 minutes on 90 trunks
with 60 simulated agents — then quiet. ``make bench BENCH=surge_load`` or
``python -m bench.surge_load [--calls N --minutes M --agents A --trunks T --quiet S]``.

Processes: the simulator (``manage.py run_simulator``) and the bridge (``manage.py
esl_bridge``) as subprocesses; in this process the overflow controller (every second,
``telephony.routing.controller.Controller``) and the callback dispatcher (auto mode) as
threads, and the scenario driver (``telephony.simulator.scenario``) placing the calls.

Reported (``bench/results/surge_load.json``): calls by outcome from the database (their sum
must equal the calls placed; ``unaccounted`` = placed − calls with a final outcome must be
0), the simulator's own count by outcome, queue wait p50/p99, callbacks captured and
duplicates, time to work the callbacks off after the surge, the bridge's CPU and memory,
and ``os.getloadavg()`` (the machine is shared).

Definitions (``../shared/docs/domain.md``, KPI definitions): the **queue wait** of the
p50/p99 rows is "time from entering the queue to an agent answering", over the answered
calls only, from each call's own ``answered_at − queued_at``; abandoned callers' waits and
the longest wait (answered or abandoned) are reported beside it, and any wait longer than
the whole run is counted as ``implausible`` (the earlier 647 s p50 mixed every call that
had a ``wait_seconds``). **Captured** means a ``CallbackCapture`` row for an overflow call
of this run (every one must have one; ``missing`` lists the difference); requests are fewer
than captures only when a number called twice. **Worked off**: no request is pending
(never dialled) nor in flight — every captured caller has been called back at least once;
requests waiting for a retry after no answer/busy are reported as ``retrying``.
**Screen-pop p99 during the surge**: a listener joined to every agent's channel-layer group
(``agent.<id>``, what the desktop socket subscribes to) takes each ``call.offered`` at its
arrival minus the offer's switch time (``offered_at``, the simulator's wall clock at
speed 1): switch → bridge → Redis, without the last websocket hop (``bench/screen_pop.py``
measures that path on real sockets).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "surge_load"
HOTLINE = "4008009999"
QUEUE = "surge"
PASSWORD = "ClueCon"
FINAL = ("answered", "abandoned", "overflow", "rejected", "failed")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"nothing listens on {port}")


def _wait_log(path: Path, text: str, proc: subprocess.Popen, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        if path.exists() and text in path.read_text(errors="replace"):
            return
        time.sleep(0.5)
    raise TimeoutError(f"{text!r} not in {path}")


def _stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


class ProcSampler:
    """CPU seconds and RSS of one process from /proc, sampled every second."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.tick = os.sysconf("SC_CLK_TCK")
        self.samples: list[tuple[float, float, int]] = []  # (wall, cpu s, rss bytes)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _read(self) -> tuple[float, int] | None:
        try:
            stat = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            cpu = (int(stat[11]) + int(stat[12])) / self.tick
            rss = 0
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1]) * 1024
            return cpu, rss
        except (OSError, IndexError, ValueError):
            return None

    def _run(self) -> None:
        while not self.stop.is_set():
            got = self._read()
            if got:
                self.samples.append((time.monotonic(), *got))
            self.stop.wait(1.0)

    def summary(self, start: float, end: float) -> dict:
        window = [s for s in self.samples if start <= s[0] <= end]
        if len(window) < 2:
            return {}
        cpu = (window[-1][1] - window[0][1]) / (window[-1][0] - window[0][0]) * 100
        peak = 0.0
        for a, b in itertools.pairwise(window):
            if b[0] > a[0]:
                peak = max(peak, (b[1] - a[1]) / (b[0] - a[0]) * 100)
        return {
            "cpu_avg_pct": round(cpu, 1),
            "cpu_peak_pct": round(peak, 1),
            "rss_max_mb": round(max(s[2] for s in window) / 2**20, 1),
        }


class PopListener:
    """``call.offered`` latency on the agents' channel-layer groups, in a thread of its own."""

    def __init__(self, user_ids: list[int]) -> None:
        self.user_ids = user_ids
        self.samples: list[tuple[float, float]] = []  # (monotonic arrival, latency s)
        self.errors = 0
        self.ready = threading.Event()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        from channels.layers import get_channel_layer
        from django.utils.dateparse import parse_datetime

        from telephony.groups import agent_group

        layer = get_channel_layer()
        channel = await layer.new_channel()
        for uid in self.user_ids:
            await layer.group_add(agent_group(uid), channel)
        self.ready.set()
        try:
            while not self.stop.is_set():
                try:
                    message = await asyncio.wait_for(layer.receive(channel), 1.0)
                except TimeoutError:
                    continue
                except Exception:
                    self.errors += 1
                    await asyncio.sleep(0.1)
                    continue
                if message.get("type") != "call.offered" or message.get("replay"):
                    continue
                offered = parse_datetime(str((message.get("call") or {}).get("offered_at")))
                if offered is not None:
                    self.samples.append((time.monotonic(), time.time() - offered.timestamp()))
        finally:
            for uid in self.user_ids:
                with contextlib.suppress(Exception):  # shutting down
                    await layer.group_discard(agent_group(uid), channel)

    def latencies(self, start: float, end: float) -> list[float]:
        return [lat for at, lat in self.samples if start <= at <= end]


class OutcomeDesk:
    """The simulated agents' after-call work on callbacks: a connected callback waits for its
    agent's outcome (the callbacks page), so ``after`` seconds after its call ended the
    assigned agent records one — mostly "not interested", some "wrong number" (an order
    would need an order entry, which the orders benchmarks measure). Without it every agent
    ends up holding a connected callback and the backlog never works off."""

    def __init__(self, after: float = 5.0, seed: int = 6) -> None:
        self.after = after
        self.rng = random.Random(seed)
        self.recorded = 0
        self.errors = 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        from django.db import close_old_connections

        while not self.stop.wait(1.0):
            try:
                self._step()
            except Exception as exc:  # keep working
                self.errors += 1
                print("outcome desk:", exc, flush=True)
            finally:
                close_old_connections()

    def _step(self) -> None:
        import datetime as dt

        from django.utils import timezone

        from telephony.callbacks.choices import CallbackOutcome, CallbackStatus
        from telephony.callbacks.models import CallbackRequest
        from telephony.callbacks.services import callback_record_outcome
        from tvshop.errors import DomainError

        due = CallbackRequest.objects.filter(
            status=CallbackStatus.CONNECTED,
            updated_at__lte=timezone.now() - dt.timedelta(seconds=self.after),
            assigned_agent__isnull=False,
        ).select_related("assigned_agent")[:200]
        for request in due:
            outcome = (
                CallbackOutcome.WRONG_NUMBER
                if self.rng.random() < 0.1
                else CallbackOutcome.NOT_INTERESTED
            )
            try:
                callback_record_outcome(
                    actor=request.assigned_agent,
                    callback_id=request.pk,
                    outcome=outcome,
                    note="simulated agent (bench)",
                )
                self.recorded += 1
            except DomainError:
                self.errors += 1


def _world(agents: int, trunks: int, max_wait: int) -> tuple[list[str], list[int]]:
    """Hotline, policy, seats with logged-in users; the agents' cc names and user ids."""
    from django.contrib.auth.models import Group
    from django.utils import timezone

    from telephony.callbacks.models import CallbackControl
    from telephony.callbacks.services import control_get
    from telephony.choices import AgentState, AgentStatus
    from telephony.models import Seat, SeatSession
    from telephony.routing.models import RoutingPolicy
    from tvshop.accounts.models import User
    from tvshop.media.models import Hotline, Station

    station, _ = Station.objects.get_or_create(code="surge", defaults={"name": "压测台"})
    hotline, _ = Hotline.objects.update_or_create(
        number=HOTLINE, defaults={"station": station, "queue_name": QUEUE, "active": True}
    )
    RoutingPolicy.objects.update_or_create(
        hotline=hotline,
        defaults={
            "trunk_capacity": trunks,
            "overflow_threshold_pct": 90,
            "hysteresis_pct": 10,
            "max_wait_seconds": max_wait,
            "max_queued": 0,
            "hours_enabled": False,
            "force_overflow": False,
            "overflow_active": False,
            "overflow_reason": "",
        },
    )
    RoutingPolicy.objects.exclude(hotline=hotline).update(force_overflow=False)
    Hotline.objects.exclude(pk=hotline.pk).update(active=False)
    group = Group.objects.filter(name="agent").first()
    now = timezone.now()
    SeatSession.objects.filter(ended_at=None).update(ended_at=now)
    names, user_ids = [], []
    for i in range(agents):
        ext = str(7001 + i)
        seat, _ = Seat.objects.update_or_create(
            extension=ext,
            defaults={
                "active": True,
                "status": AgentStatus.AVAILABLE,
                "state": AgentState.WAITING,
                "status_at": now,
                "state_at": now,
            },
        )
        user, created = User.objects.get_or_create(username=f"surge{ext}")
        if created and group is not None:
            user.groups.add(group)
        SeatSession.objects.create(seat=seat, user=user, started_at=now)
        names.append(seat.cc_agent)
        user_ids.append(user.pk)
    Seat.objects.exclude(extension__in=[n.split("@")[0] for n in names]).update(active=False)
    # callbacks left open by an earlier run would compete for the agents and blur the
    # work-off time: the bench database starts every run with none open
    from telephony.callbacks.choices import OPEN_STATUSES
    from telephony.callbacks.models import CallbackRequest

    CallbackRequest.objects.filter(status__in=list(OPEN_STATUSES)).update(status="expired")
    control_get()
    CallbackControl.objects.filter(pk=1).update(
        mode="auto", dispatcher_paused=False, surge_active=False
    )
    return names, user_ids


def _db_outcomes(uuids: list[str]) -> dict:
    from django.db.models import Count, Q

    from telephony.models import Call

    counts = dict(
        Call.objects.filter(uuid__in=uuids).values_list("outcome").annotate(n=Count("id"))
    )
    answered, abandoned = [], []
    rows = Call.objects.filter(uuid__in=uuids, queued_at__isnull=False).values_list(
        "outcome", "queued_at", "answered_at", "ended_at", "wait_seconds"
    )
    for outcome, queued, answered_at, ended, wait in rows:
        if outcome == "answered" and answered_at is not None and answered_at >= queued:
            answered.append((answered_at - queued).total_seconds())
        elif outcome == "abandoned":
            if wait is not None:
                abandoned.append(float(wait))
            elif ended is not None and ended >= queued:
                abandoned.append((ended - queued).total_seconds())
    from django.db.models import Sum

    from telephony.models import CallEvent

    holds = Call.objects.filter(uuid__in=uuids).aggregate(
        held_calls=Count("id", filter=Q(hold_count__gt=0)),
        holds=Sum("hold_count"),
        hold_seconds=Sum("hold_seconds"),
    )
    holds["held_events"] = CallEvent.objects.filter(call__uuid__in=uuids, kind="CallHeld").count()
    holds["still_held"] = Call.objects.filter(uuid__in=uuids, held_at__isnull=False).count()
    return {
        "holds": holds,
        "counts": counts,
        "waits": answered,
        "abandoned_waits": abandoned,
        "records": sum(counts.values()),
    }


def _callbacks(since, uuids: list[str]) -> dict:
    from django.db.models import Count

    from telephony.callbacks.choices import IN_FLIGHT_STATUSES, CallbackStatus
    from telephony.callbacks.models import CallbackCapture, CallbackRequest
    from telephony.models import Call

    rows = CallbackRequest.objects.filter(created_at__gte=since)
    per_number = rows.values("number").annotate(n=Count("id")).filter(n__gt=1)
    overflow = set(
        Call.objects.filter(uuid__in=uuids, outcome="overflow").values_list("uuid", flat=True)
    )
    captured = set(
        CallbackCapture.objects.filter(call_uuid__in=uuids).values_list("call_uuid", flat=True)
    )
    return {
        "captures": len(captured),
        "overflow_calls": len(overflow),
        "overflow_without_capture": len(overflow - captured),
        "requests": rows.count(),
        "numbers": rows.values("number").distinct().count(),
        "duplicates": sum(r["n"] - 1 for r in per_number),
        "pending": rows.filter(status=CallbackStatus.PENDING).count(),
        "in_flight": rows.filter(status__in=list(IN_FLIGHT_STATUSES)).count(),
        "retrying": rows.filter(status__in=[CallbackStatus.NO_ANSWER, CallbackStatus.BUSY]).count(),
        "done": rows.filter(status=CallbackStatus.DONE).count(),
        "expired": rows.filter(status=CallbackStatus.EXPIRED).count(),
    }


def _pct(values: list[float], p: float) -> float:
    from bench.common import percentile

    return percentile(values, p) if values else 0.0


def run(args) -> list[dict]:
    from django.conf import settings
    from django.db import close_old_connections
    from django.utils import timezone

    from bench.common import row
    from bench.database import ensure_bench_database
    from telephony.callbacks.dispatcher import embedded_loop_start, embedded_loop_stop
    from telephony.routing.controller import Controller
    from telephony.routing.models import RoutingPolicy
    from telephony.routing.services import routing_provision_all
    from telephony.simulator.scenario import Scenario

    ensure_bench_database(benchmark=NAME, destructive=True)
    agents, user_ids = _world(args.agents, args.trunks, args.max_wait)
    pops = PopListener(user_ids)
    desk = OutcomeDesk()
    port = _free_port()
    settings.TELEPHONY_ESL = {
        "host": "127.0.0.1",
        "port": port,
        "password": PASSWORD,
        "simulated": False,
    }
    tmp = Path(tempfile.mkdtemp(prefix="surge-"))
    config = {
        "hotlines": [{"number": HOTLINE, "queue": QUEUE}],
        "queues": [
            {"name": QUEUE, "strategy": "longest-idle-agent", "max_wait_time": args.max_wait}
        ],
        # a fifth of the answered calls are put on hold for 20 s (CHANNEL_HOLD/UNHOLD load)
        "agents": [
            {
                "name": n,
                "answer_delay": 1.0,
                "wrap_up_time": 3,
                "hold_probability": 0.2,
                "hold_after": 15.0,
                "hold_seconds": 20.0,
            }
            for n in agents
        ],
        "speed": 1.0,
        "seed": int.from_bytes(os.urandom(4), "big"),
        "heartbeat_interval": 20,
        "password": PASSWORD,
        "port": port,
    }
    (tmp / "sim.json").write_text(json.dumps(config))
    env = {
        **os.environ,
        "ESL_HOST": "127.0.0.1",
        "ESL_PORT": str(port),
        "ESL_PASSWORD": PASSWORD,
        "DEBUG": "0",
        # with ESL_HOST the settings want the CDR endpoint's credentials
        "CDR_USERNAME": os.environ.get("CDR_USERNAME", "bench"),
        "CDR_PASSWORD": os.environ.get("CDR_PASSWORD", "bench-only-cdr-password"),
    }
    py = sys.executable
    procs: list[subprocess.Popen] = []
    stop_controller = threading.Event()
    flips: list[tuple[float, str]] = []
    readings: list[tuple[float, int | None, int | None]] = []
    results: dict = {}
    try:
        sim = subprocess.Popen(
            [py, "manage.py", "run_simulator", "--config", str(tmp / "sim.json")],
            cwd=ROOT,
            env=env,
            stdout=open(tmp / "sim.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        procs.append(sim)
        _wait_port(port, sim)
        bridge = subprocess.Popen(
            [py, "manage.py", "esl_bridge"],
            cwd=ROOT,
            env=env,
            stdout=open(tmp / "bridge.log", "w"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        procs.append(bridge)
        sampler = ProcSampler(bridge.pid)
        sampler.thread.start()
        _wait_log(tmp / "bridge.log", "resynchronising", bridge)  # connected
        time.sleep(3)  # … and resynced
        provision = routing_provision_all()
        results["provision"] = {"commands": provision.sent, "refused": len(provision.failed)}

        def control() -> None:
            controller = Controller()
            try:
                while not stop_controller.wait(1.0):
                    try:
                        for p in controller.tick():
                            flips.append(
                                (time.monotonic(), f"{p.overflow_active}:{p.overflow_reason}")
                            )
                        m = controller.last_measurement
                        load = m.by_number.get(HOTLINE) if m else None
                        readings.append(
                            (time.monotonic(), load.channels, load.queued)
                            if load
                            else (time.monotonic(), None, None)
                        )
                    except Exception as exc:  # keep measuring
                        print("controller:", exc, flush=True)
                    finally:
                        close_old_connections()
            finally:
                controller.close()

        threading.Thread(target=control, daemon=True).start()
        embedded_loop_start(interval=2.0)
        pops.thread.start()
        pops.ready.wait(30)
        desk.thread.start()

        since = timezone.now()
        load0 = os.getloadavg()
        t0 = time.monotonic()
        scenario = Scenario(
            hotline=HOTLINE,
            calls=args.calls,
            minutes=args.minutes,
            seed=args.seed,
            drain=args.drain,
            fresh_uuids=True,  # never the calls of an earlier run on this database
        )
        report = asyncio.run(scenario.run_at("127.0.0.1", port, PASSWORD))
        t_surge_end = time.monotonic()
        load1 = os.getloadavg()
        uuids = list(report.outcomes)
        # quiet: the write-behind catches up, the callbacks are worked off
        worked_off = None
        deadline = time.monotonic() + args.quiet
        while time.monotonic() < deadline:
            cb = _callbacks(since, uuids)
            if cb["requests"] and cb["pending"] == 0 and cb["in_flight"] == 0:
                worked_off = time.monotonic() - t_surge_end
                break
            time.sleep(2)
        time.sleep(3)
        t_end = time.monotonic()
        db = _db_outcomes(uuids)
        cb = _callbacks(since, uuids)
        results.update(
            scenario=report.as_dict(),
            db=db,
            callbacks=cb,
            worked_off=worked_off,
            bridge_surge=sampler.summary(t0, t_surge_end),
            bridge_quiet=sampler.summary(t_surge_end, t_end),
            flips=[(round(t - t0, 1), s) for t, s in flips],
            readings=readings,
            t0=t0,
            load=(load0, load1),
            surge_seconds=round(t_surge_end - t0, 1),
            overflow_state=list(
                RoutingPolicy.objects.filter(hotline__number=HOTLINE).values_list(
                    "overflow_active", "overflow_reason"
                )
            ),
        )
        results["outcomes_recorded"] = (desk.recorded, desk.errors)
        results["pops"] = pops.latencies(t0, t0 + args.minutes * 60)
        results["pops_all"] = len(pops.samples)
        results["pop_errors"] = pops.errors
        sampler.stop.set()
    finally:
        pops.stop.set()
        desk.stop.set()
        stop_controller.set()
        embedded_loop_stop()
        for proc in reversed(procs):
            _stop(proc)

    placed = results["scenario"]["placed"]
    counts = {k: results["db"]["counts"].get(k, 0) for k in FINAL}
    accounted = sum(counts.values())
    unaccounted = placed - accounted
    waits = [float(w) for w in results["db"]["waits"]]
    cb = results["callbacks"]
    params = {
        "calls": args.calls,
        "minutes": args.minutes,
        "agents": args.agents,
        "trunks": args.trunks,
        "threshold_pct": 90,
        "hysteresis_pct": 10,
        "max_wait_s": args.max_wait,
        "scaled_down": args.calls != 1500 or args.minutes != 5,
        "switch": "simulator (speed 1), patience 20–90 s, talk 30–180 s (scenario defaults)",
        "trunk_note": "the simulator does not refuse calls beyond the trunks; overflow is "
        "what keeps channels in use near capacity",
        "loadavg_before": [round(x, 2) for x in results["load"][0]],
        "loadavg_after_surge": [round(x, 2) for x in results["load"][1]],
        "surge_wall_s": results["surge_seconds"],
        "overflow_flips_s": results["flips"],
        "controller_readings": {
            "ticks": len(results["readings"]),
            "failed": sum(1 for r in results["readings"] if r[1] is None),
            "max_channels": max((r[1] for r in results["readings"] if r[1] is not None), default=0),
            "channels_every_10s": [
                (round(t - results["t0"]), c, q)
                for i, (t, c, q) in enumerate(results["readings"])
                if i % 10 == 0
            ],
        },
        "sim_counts": results["scenario"],
        "db_counts": results["db"]["counts"],
        "callbacks": cb,
        "provision": results["provision"],
    }
    pop_lat = results["pops"]
    ab_waits = results["db"]["abandoned_waits"]
    longest = max(waits + ab_waits, default=0.0)
    implausible = sum(1 for w in waits + ab_waits if w > results["surge_seconds"] + 1)
    bridge = results["bridge_surge"]
    rows = [
        row(
            NAME,
            "calls_placed",
            placed,
            "calls",
            goal="= calls",
            met=placed == args.calls,
            params=params,
        ),
        *[
            row(
                NAME,
                f"calls_{k}",
                counts[k],
                "calls",
                goal="report",
                met=True,
                params={"holds": results["db"]["holds"]} if k == "answered" else {},
            )
            for k in FINAL
        ],
        row(
            NAME,
            "calls_unaccounted",
            unaccounted,
            "calls",
            goal="0",
            met=unaccounted == 0,
            params={
                "in_progress": results["db"]["counts"].get("in_progress", 0),
                "no_record": placed - results["db"]["records"],
            },
        ),
        row(
            NAME,
            "queue_wait_p50",
            _pct(waits, 50),
            "s",
            goal="report (entering the queue → an agent answering, answered calls)",
            met=implausible == 0,
            params={
                "n": len(waits),
                "abandoned_n": len(ab_waits),
                "abandoned_wait_p50": round(_pct(ab_waits, 50), 1),
                "longest_wait": round(longest, 1),
                "implausible": implausible,
            },
        ),
        row(
            NAME,
            "queue_wait_p99",
            _pct(waits, 99),
            "s",
            goal="report",
            met=implausible == 0,
            params={"n": len(waits)},
        ),
        row(
            NAME,
            "callbacks_captured",
            cb["captures"],
            "captures",
            goal="every overflow call captured",
            met=cb["overflow_without_capture"] == 0,
            params={
                "overflow_calls": counts["overflow"],
                "overflow_without_capture": cb["overflow_without_capture"],
                "requests": cb["requests"],
                "numbers": cb["numbers"],
            },
        ),
        row(
            NAME,
            "screen_pop_p99_surge",
            round(_pct(pop_lat, 99) * 1000, 1),
            "ms",
            goal="report (switch event → agent's channel-layer group)",
            met=bool(pop_lat),
            params={
                "n": len(pop_lat),
                "p50_ms": round(_pct(pop_lat, 50) * 1000, 1),
                "all_pops": results["pops_all"],
                "listener_errors": results["pop_errors"],
            },
        ),
        row(
            NAME,
            "callback_duplicates",
            cb["duplicates"],
            "requests",
            goal="0",
            met=cb["duplicates"] == 0,
            params={},
        ),
        row(
            NAME,
            "callbacks_worked_off_after_surge",
            results["worked_off"] if results["worked_off"] is not None else args.quiet,
            "s",
            goal="all pending worked off",
            met=results["worked_off"] is not None,
            params={
                "quiet_cap_s": args.quiet,
                "left": cb,
                "outcomes_recorded_by_simulated_agents": results["outcomes_recorded"][0],
                "outcome_refusals": results["outcomes_recorded"][1],
            },
        ),
        row(
            NAME,
            "bridge_cpu_avg_surge",
            bridge.get("cpu_avg_pct", 0.0),
            "% of one core",
            goal="report",
            met=True,
            params={**bridge, "quiet": results["bridge_quiet"]},
        ),
        row(
            NAME,
            "bridge_rss_max",
            bridge.get("rss_max_mb", 0.0),
            "MiB",
            goal="report",
            met=True,
            params={},
        ),
    ]
    return rows


def main(argv: list[str] | None = None) -> None:
    from bench.common import write_results

    parser = argparse.ArgumentParser(prog="surge_load")
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--agents", type=int, default=60)
    parser.add_argument("--trunks", type=int, default=90)
    parser.add_argument("--max-wait", type=int, default=60)
    parser.add_argument("--quiet", type=float, default=3600.0, help="cap on the quiet phase (s)")
    parser.add_argument("--drain", type=float, default=None)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args(argv if argv is not None else [])
    write_results(NAME, run(args))


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tvshop.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    main(sys.argv[1:])
