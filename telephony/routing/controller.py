"""The overflow controller: every second it measures each hotline's load on the switch and
turns the hotline queue's overflow branch on or off (``global_setvar
tvshop_overflow_<queue>``), with hysteresis, and tells the callback dispatcher about the
surge (``surge_set``). It is the **only writer** of both: provisioning
(``routing_provision_all``) pushes blacklist, VIP, last agents and tiers but not the live
switch, and the bridge no longer re-reads it after a reconnect — two writers had raced
after every reconnect. The controller pushes every queue's variable again whenever its
connection is new (a restarted switch has empty globals) and every ``REASSERT_SECONDS``.

**What it measures, and why from the switch.** Channels in use per hotline are the
inbound trunk legs (``show channels as json``: ``direction=inbound``, a ``sofia/`` leg whose
``initial_dest`` is the hotline's number — the overflow branch's callers included, as they
hold a trunk channel too); queued callers and the longest wait come from ``callcenter_config
queue list members <queue>``. The database's live ``Call`` rows were the alternative, but
they lag the switch by the bridge's write-behind exactly when it matters (a surge), are
stale while the bridge reconnects, and miss calls the bridge has not seen; the switch is the
ground truth, and reading it costs two or three commands a second on one connection.

**Decision per hotline** (:func:`decide`): on when forced, after hours/holiday, channels
≥ threshold, queued ≥ max queued, or longest wait ≥ max wait. A load-driven overflow goes
off only when *all* measures are below their limits minus the hysteresis (channels <
threshold − hysteresis points; queued < max × (1 − h); wait < max × (1 − h)) for
``OFF_CONFIRM_TICKS`` consecutive readings, so the branch does not flap around the
threshold nor on one odd reading. Every change is saved on the policy row and audited.

Where it runs: :func:`embedded_loop_start` (the embedded default and ``manage.py
routing_controller``), and the Celery beat task ``routing.overflow_tick`` as the fallback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from telephony.routing.choices import OverflowReason
from telephony.routing.models import RoutingPolicy
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot

logger = logging.getLogger("telephony.routing")

STATE_FIELDS = ["overflow_active", "overflow_reason", "overflow_changed_at"]
LOAD_REASONS = {OverflowReason.CHANNELS, OverflowReason.QUEUED, OverflowReason.WAIT}
REASSERT_SECONDS = 30.0
OFF_CONFIRM_TICKS = 3
_BEAT_STREAKS: dict[int, int] = {}  # the beat fallback's streaks (one per worker process)


@dataclass
class Load:
    channels: int = 0
    queued: int = 0
    longest_wait: float = 0.0


@dataclass
class Measurement:
    by_number: dict[str, Load] = field(default_factory=dict)
    ok: bool = True


def decide(policy: RoutingPolicy, load: Load, *, open_now: bool) -> str:
    """The overflow reason for ``policy`` under ``load`` ('' = off), given its current state."""
    if policy.force_overflow:
        return OverflowReason.MANUAL
    if not open_now:
        return OverflowReason.AFTER_HOURS
    h = policy.hysteresis_pct / 100
    pct = load.channels * 100 / max(1, policy.trunk_capacity)
    if pct >= policy.overflow_threshold_pct:
        return OverflowReason.CHANNELS
    if policy.max_queued and load.queued >= policy.max_queued:
        return OverflowReason.QUEUED
    if policy.max_wait_seconds and load.longest_wait >= policy.max_wait_seconds:
        return OverflowReason.WAIT
    if policy.overflow_active and policy.overflow_reason in LOAD_REASONS:
        # hysteresis: stay on until every measure is clearly below its limit
        still = pct >= policy.overflow_threshold_pct - policy.hysteresis_pct
        if policy.max_queued:
            still = still or load.queued >= policy.max_queued * (1 - h)
        if policy.max_wait_seconds:
            still = still or load.longest_wait >= policy.max_wait_seconds * (1 - h)
        if still:
            return policy.overflow_reason
    return OverflowReason.NONE


def parse_channels(text: str) -> dict[str, int]:
    """``show channels as json`` → inbound trunk channels per dialled number."""
    counts: dict[str, int] = {}
    data = json.loads(text or "{}")  # a garbled reply is a failed reading, never "0 channels"
    if not isinstance(data, dict):
        raise ValueError("show channels: not a JSON object")
    for row in data.get("rows") or []:
        if row.get("direction") != "inbound" or not str(row.get("name", "")).startswith("sofia/"):
            continue
        number = row.get("initial_dest") or row.get("dest") or ""
        counts[number] = counts.get(number, 0) + 1
    return counts


def parse_members(text: str, now: float) -> tuple[int, float]:
    """``callcenter_config queue list members <q>`` → (callers waiting, longest wait s)."""
    lines = [line for line in (text or "").splitlines() if line and not line.startswith("+OK")]
    if not lines:
        return 0, 0.0
    header = lines[0].split("|")
    waiting, longest = 0, 0.0
    for line in lines[1:]:
        row = dict(zip(header, line.split("|"), strict=False))
        if row.get("state") not in ("Waiting", "Trying"):
            continue
        waiting += 1
        try:
            joined = float(row.get("joined_epoch") or 0)
        except ValueError:
            joined = 0
        if joined:
            longest = max(longest, now - joined)
    return waiting, longest


async def measure(client, policies: list[RoutingPolicy], now: float) -> Measurement:
    """Read the load of every active hotline from the switch over ``client``."""
    out = Measurement()
    channels = parse_channels(await client.api("show channels as json"))
    queues: dict[str, tuple[int, float]] = {}
    for policy in policies:
        name = policy.hotline.queue_name
        if name not in queues:
            try:
                text = await client.api(f"callcenter_config queue list members {name}")
            except Exception:  # an unknown queue: nobody waits in it
                text = ""
            queues[name] = parse_members(text, now)
        queued, longest = queues[name]
        out.by_number[policy.hotline.number] = Load(
            channels=channels.get(policy.hotline.number, 0), queued=queued, longest_wait=longest
        )
    return out


def _active_policies() -> list[RoutingPolicy]:
    from telephony.routing.services import policies_ensure

    return [p for p in policies_ensure() if p.hotline.active]


def off_confirm_ticks() -> int:
    """Consecutive readings below the limits needed to switch a load overflow off."""
    from django.conf import settings

    return int(getattr(settings, "ROUTING_OFF_CONFIRM_TICKS", OFF_CONFIRM_TICKS))


def apply_decisions(
    policies: list[RoutingPolicy],
    measurement: Measurement | None,
    *,
    when=None,
    off_streaks: dict[int, int] | None = None,
) -> list[RoutingPolicy]:
    """Save and audit the policies whose overflow state changes; returns the changed ones.
    Without a measurement (switch unreachable), only hours/forcing are re-evaluated and
    load-driven states are kept."""
    from telephony.routing.services import is_open

    when = when or timezone.now()
    changed = []
    for policy in policies:
        load = measurement.by_number.get(policy.hotline.number) if measurement else None
        if load is None:
            if policy.overflow_reason in LOAD_REASONS:
                continue
            load = Load()
        reason = decide(policy, load, open_now=is_open(policy, when))
        active = bool(reason)
        if off_streaks is not None:
            # one low reading (a switch's snapshot taken mid-change) never switches off
            if policy.overflow_active and policy.overflow_reason in LOAD_REASONS and not active:
                off_streaks[policy.pk] = off_streaks.get(policy.pk, 0) + 1
                if off_streaks[policy.pk] < off_confirm_ticks():
                    continue
            off_streaks.pop(policy.pk, None)
        if active == policy.overflow_active and reason == policy.overflow_reason:
            continue
        with transaction.atomic():
            row = RoutingPolicy.objects.select_for_update().get(pk=policy.pk)
            before = snapshot(row, fields=STATE_FIELDS)
            row.overflow_active = active
            row.overflow_reason = reason
            if active != policy.overflow_active:
                row.overflow_changed_at = when
            row.save(update_fields=STATE_FIELDS)
            audit_record(
                actor=None,
                action=AuditAction.STATUS,
                obj=row,
                before=before,
                after=snapshot(row, fields=STATE_FIELDS),
                note=(
                    f"overflow {'on' if active else 'off'} ({reason or policy.overflow_reason}):"
                    f" channels {load.channels}/{policy.trunk_capacity}, queued {load.queued},"
                    f" longest wait {load.longest_wait:.0f}s"
                )[:500],
            )
        policy.overflow_active, policy.overflow_reason = active, reason
        policy.overflow_changed_at = row.overflow_changed_at
        changed.append(policy)
    return changed


def _surge_sync(policies: list[RoutingPolicy]) -> None:
    from telephony.callbacks import surge_active
    from telephony.callbacks.services import surge_set

    surging = [p for p in policies if p.overflow_active and p.overflow_reason in LOAD_REASONS]
    if bool(surging) != surge_active():
        reason = ", ".join(f"{p.hotline.number}:{p.overflow_reason}" for p in surging)
        surge_set(active=bool(surging), reason=reason or "load below thresholds")


def overflow_evaluate(*, push: bool = True, measurement: Measurement | None = None) -> list:
    """One step without a switch reading (hours, forcing; the beat fallback's first part
    and what a policy change triggers); pushes the global vars of changed queues."""
    from telephony.routing.services import overflow_commands
    from telephony.routing.switchlink import pusher

    policies = _active_policies()
    changed = apply_decisions(policies, measurement)
    _surge_sync(policies)
    if push and changed:
        pusher.push(overflow_commands(policies))
    return changed


class Controller:
    """Measure → decide → switch, once per :meth:`tick`, over one persistent connection.

    Synchronous (the database work runs in the caller's thread); the ESL part runs on the
    controller's private event loop, so call it from a thread without a running loop."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self.loop = asyncio.new_event_loop()
        self.client = None
        self.last_push: dict[str, str] = {}
        self.last_assert = 0.0
        self.last_measurement: Measurement | None = None
        self.off_streaks: dict[int, int] = {}
        self.ticks = 0
        self.errors = 0

    async def _connect(self):
        from telephony.esl.client import ESLClient
        from telephony.switch import CONNECT_TIMEOUT, switch_address

        if self.client is None:
            address = switch_address()
            client = ESLClient(
                address.host,
                address.port,
                address.password,
                heartbeat_timeout=None,
                connect_timeout=CONNECT_TIMEOUT,
                command_timeout=5.0,
                name="esl-overflow",
            )
            try:
                await client.connect(timeout=CONNECT_TIMEOUT)
            except BaseException:
                with contextlib.suppress(Exception):
                    await client.close()
                raise
            self.client = client
            # a new connection may be to a restarted switch (empty globals): push all again
            self.last_push.clear()
        return self.client

    async def _drop(self) -> None:
        if self.client is not None:
            client, self.client = self.client, None
            with contextlib.suppress(Exception):
                await client.close()

    async def _measure(self, policies: list[RoutingPolicy]) -> Measurement:
        client = await self._connect()
        return await measure(client, policies, self.clock())

    async def _push(self, commands: list[str], reassert: bool) -> None:
        if self.client is None:
            return
        for cmd in commands:
            name = cmd.split(" ", 1)[1].split("=", 1)[0]
            if reassert or self.last_push.get(name) != cmd:
                await self.client.api(cmd)
                self.last_push[name] = cmd

    def tick(self) -> list[RoutingPolicy]:
        from telephony.routing.services import overflow_commands

        self.ticks += 1
        policies = _active_policies()
        measurement = None
        try:
            measurement = self.loop.run_until_complete(self._measure(policies))
        except Exception as exc:
            self.errors += 1
            logger.warning("overflow controller cannot read the switch: %s", exc)
            self.loop.run_until_complete(self._drop())
        self.last_measurement = measurement
        changed = apply_decisions(policies, measurement, off_streaks=self.off_streaks)
        _surge_sync(policies)
        now = time.monotonic()
        reassert = now - self.last_assert >= REASSERT_SECONDS
        try:
            self.loop.run_until_complete(self._push(overflow_commands(policies), reassert))
            if reassert and self.client is not None:
                self.last_assert = now
        except Exception as exc:
            self.errors += 1
            logger.warning("overflow controller cannot set the switch: %s", exc)
            self.last_push.clear()
            self.loop.run_until_complete(self._drop())
        return changed

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self._drop())
            self.loop.close()


def overflow_tick() -> list[RoutingPolicy]:
    """One controller step on a fresh connection (the Celery beat fallback)."""
    controller = Controller()
    controller.off_streaks = _BEAT_STREAKS
    try:
        return controller.tick()
    finally:
        controller.close()


class _Loop:
    thread: threading.Thread | None = None
    stop: threading.Event | None = None
    controller: Controller | None = None


_loop = _Loop()
_loop_lock = threading.Lock()


def embedded_loop_start(*, interval: float = 1.0) -> bool:
    """Run the controller every ``interval`` seconds in a daemon thread (once per process)."""
    import atexit

    from django.db import close_old_connections

    with _loop_lock:
        if _loop.thread is not None:
            return False
        stop = threading.Event()
        controller = Controller()

        def run() -> None:
            try:
                while not stop.wait(interval):
                    try:
                        controller.tick()
                    except Exception:
                        logger.exception("overflow controller tick failed")
                    finally:
                        close_old_connections()
            finally:
                controller.close()

        _loop.stop, _loop.controller = stop, controller
        _loop.thread = threading.Thread(target=run, name="routing-overflow", daemon=True)
        _loop.thread.start()
    atexit.register(embedded_loop_stop)
    return True


def embedded_loop_stop(timeout: float = 5.0) -> None:
    with _loop_lock:
        thread, stop = _loop.thread, _loop.stop
        _loop.thread = _loop.stop = _loop.controller = None
    if stop is not None:
        stop.set()
    if thread is not None:
        thread.join(timeout)
