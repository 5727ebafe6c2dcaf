"""An ESL event replayer for the screen-pop benchmark: a switch fast enough to find the
system's saturation point.

The project's simulator (``telephony/simulator``) emulates a switch in one Python process;
it builds every event as it happens and, at 100 calls/s and more (~17 events per call),
falls behind and stops accepting connections before the system under test saturates. The
replayer is a real TCP ESL server all the same — the simulator's own server class
(:class:`~telephony.simulator.server.SimulatorServer`: auth, ``event json``/``event
plain`` subscriptions and filters, ``api``/``bgapi``, HEARTBEAT), whose ``api`` replies
the bridge needs at connect and resync (``show channels as json``, ``callcenter_config
agent list`` / ``queue list`` / ``queue list members``, ``global_getvar`` …) come from an
idle simulated switch with the same configuration — but the calls' events are replayed:

1. **Recorded** once at start-up from the simulator itself (:func:`record`): one call per
   agent, one after the other, through the real ``Switch`` (hotline dialplan,
   mod_callcenter, the agent answering and hanging up), captured as the headers and body
   the switch emits, with each event's time since the call began. So the header sets are
   the simulator's (which a test compares with the captures of a real FreeSWITCH), not a
   copy of them.
2. **Pre-computed** per phase (:meth:`Replayer.prepare`): for call *i*, agent template
   ``i % agents``, the frames already encoded in the subscriber's format, with the
   recording's uuids replaced by the call's own (the caller's uuid chosen by the
   benchmark), the caller number replaced and a fresh ``Event-Sequence`` per event — all
   equal-length substitutions on the encoded bytes, so ``Content-Length`` stays right.
3. **Streamed** at the fixed call rate (:meth:`Replayer.run`): one merged timeline of every
   call's events (call *i* starts at ``i / rate``; within a call the recorded offsets, scaled
   down when the rate gives each agent less time than a recorded call takes; the offer
   :data:`OFFER_DELAY` after the member joined the queue, as a real mod_callcenter does, where
   the simulator offers at once), written to the
   subscribed connections as they fall due; only ``Event-Date-Timestamp`` is filled in at
   send time (same length). The lag behind the timeline is reported.

Control (the benchmark's own ESL connection): ``api replay <calls.json> <rate>`` starts a
phase (the file lists ``[call uuid, caller number]`` pairs; the reply comes once the frames
are pre-computed, the stream runs in the background); ``api replay_status`` answers JSON
(``running``, ``sent``, ``events``, ``lag_max_ms``, ``prepare_s``).

Not replayed: a resync while calls are in flight sees an idle switch (no channels), so a
bridge that resynchronised mid-phase would end those calls' records (``calls_ended_by_resync``
in the bridge's stats shows it; none happened in the runs reported).

``python -m bench.esl_replay <config.json>`` — prints ``ready`` once listening.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import sys
import time
import uuid as uuid_module
from dataclasses import dataclass, field, replace
from pathlib import Path

from telephony.esl.events import event_frame
from telephony.esl.frames import Header
from telephony.simulator.config import SimConfig
from telephony.simulator.server import SimulatorProtocol, SimulatorServer
from telephony.simulator.switch import Switch

UUID_RE = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
#: Placeholders in the recording, replaced per call with values of the same length.
SEQUENCE_BASE = 9_000_000_000  # recorded Event-Sequence values (10 digits)
FIRST_SEQUENCE = 1_000_000_000  # replayed ones: 10 digits too, never a recorded value
CALLER_PREFIX = "199"  # recorded caller numbers: 199 + 8 digits (11, a mobile's length)
TS_PLACEHOLDER = b"1999999999999999"  # Event-Date-Timestamp (16 digits, µs)
#: Seconds between a member joining the queue and its first ``agent-offering``: the
#: simulator offers at once, a real mod_callcenter ~100 ms later (its dispatch loop; the
#: capture ``../shared/esl-captures/stream-plain-ALL.txt``: member-queue-start at 6.940 s,
#: agent-offering at 7.040 s). The offer and everything after it are shifted by this much.
OFFER_DELAY = 0.1


@dataclass
class CallTemplate:
    """One recorded call: its events as (seconds since the call began, headers, body)."""

    caller_uuid: str
    caller: str
    events: list[tuple[float, list[Header], str | None]]
    duration: float = 0.0


@dataclass
class PhaseStats:
    running: bool = False
    calls: int = 0
    events: int = 0
    sent: int = 0
    bytes: int = 0
    lag_max_ms: float = 0.0
    prepare_s: float = 0.0
    scale: float = 1.0
    started: float = 0.0
    finished: float = 0.0
    connections: int = 0
    errors: list[str] = field(default_factory=list)


class _VirtualSelector:
    """A selector that, when nothing is ready, moves the loop's virtual clock to the next
    timer instead of waiting for it (the recording has no sockets to wait for)."""

    def __init__(self, loop: VirtualTimeLoop, selector) -> None:
        self._loop = loop
        self._selector = selector

    def select(self, timeout=None):
        events = self._selector.select(0)
        if not events and timeout:
            self._loop.virtual += timeout
        return events

    def __getattr__(self, name):
        return getattr(self._selector, name)


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    """An event loop whose time only moves when every task waits: timers fire in order and
    at once, so the recording's event times are the switch's logic (answer delay, talk
    time …), not how long a busy machine took to build each event."""

    def __init__(self) -> None:
        super().__init__()
        self.virtual = 0.0
        self._selector = _VirtualSelector(self, self._selector)

    def time(self) -> float:
        return self.virtual


class LoopClock:
    """The simulator's clock interface (``now``, ``wall``, ``sleep``) on the loop's time."""

    speed = 1.0

    def __init__(self, epoch: float) -> None:
        self._epoch = epoch

    def now(self) -> float:
        return self._epoch + asyncio.get_running_loop().time()

    def wall(self, seconds: float) -> float:
        return max(0.0, seconds)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.wall(seconds))


async def _record(config: SimConfig, calls: int) -> list[CallTemplate]:
    switch = Switch(config, clock=LoopClock(time.time()))
    hotline = config.hotlines[0].number
    talk = config.callers.talk_time
    seen: list[tuple[float, list[Header], str | None]] = []
    switch.listeners.append(lambda headers, body: seen.append((switch.now(), headers, body)))
    templates = []
    try:
        await asyncio.sleep(1)
        for k in range(calls):
            seen.clear()
            caller_uuid = str(uuid_module.uuid4())
            caller = f"{CALLER_PREFIX}{k:08d}"
            began = switch.now()
            reply = await switch.api(
                f"sim_inbound {hotline} {caller} uuid={caller_uuid} patience=600 talk={talk}"
            )
            if not reply.startswith("+OK"):
                raise RuntimeError(f"sim_inbound: {reply}")
            for _ in range(100_000):
                if not switch.channels:
                    break
                await asyncio.sleep(0.001)
            await asyncio.sleep(0.05)  # the agent's state after the call
            if switch.channels:
                raise RuntimeError(f"recorded call {k} did not end")
            events = [(at - began, list(h), b) for at, h, b in seen]
            templates.append(
                CallTemplate(caller_uuid, caller, events, duration=max(e[0] for e in events))
            )
            await asyncio.sleep(0.2)  # the next call finds the queue and agents settled
    finally:
        await switch.close()
    return templates


def record(config: SimConfig, *, calls: int) -> list[CallTemplate]:
    """``calls`` inbound calls through a real simulated ``Switch``, one at a time (each to
    the agent idle longest, so with ``calls`` = agents each agent answers one), on a
    virtual-time loop (instant, exact offsets)."""
    loop = VirtualTimeLoop()
    try:
        return loop.run_until_complete(_record(replace(config, speed=1.0), calls))
    finally:
        loop.close()


def _renumber(headers: list[Header], sequence: int) -> list[Header]:
    out = []
    for name, value in headers:
        if name == "Event-Sequence":
            value = str(sequence)
        elif name == "Event-Date-Timestamp":
            value = TS_PLACEHOLDER.decode()
        out.append((name, value))
    return out


class Replayer:
    """The recorded calls, pre-computed per phase and streamed at a fixed rate."""

    def __init__(self, server: SimulatorServer, templates: list[CallTemplate]) -> None:
        self.server = server
        self.stats = PhaseStats()
        self._sequence = itertools.count(FIRST_SEQUENCE)
        self._task: asyncio.Task | None = None
        self._frames: dict[tuple[int, int, str], bytes] = {}  # (template, event, format)
        self._split: dict[tuple[int, int, str], list[bytes]] = {}
        # Per template: the recording's own uuids (except the switch's), and each event with
        # a unique placeholder sequence number.
        self.templates = []
        placeholder = itertools.count(SEQUENCE_BASE)
        core = server.switch.core_uuid.encode()
        for index, template in enumerate(templates):
            events = []
            uuids: set[bytes] = set()
            offered = False
            for offset, headers, body in template.events:
                offered = offered or ("CC-Action", "agent-offering") in headers
                offset += OFFER_DELAY if offered else 0.0
                seq = next(placeholder)  # unique: split() finds only this event's
                renumbered = _renumber(headers, seq)
                encoded = event_frame(renumbered, body, "json").encode()
                self._frames[(index, len(events), "json")] = encoded
                uuids |= set(UUID_RE.findall(encoded))
                events.append((offset, renumbered, body, str(seq).encode()))
            uuids.discard(core)
            uuids.discard(self._recording_core(template))  # swapped for the replayer's
            uuids.discard(template.caller_uuid.encode())
            self.templates.append((template, events, sorted(uuids)))

    def prepare(self, calls: list[tuple[str, str]], rate: float, agents: int) -> list:
        """The phase's timeline: (due seconds, [(connection, frame bytes)])."""
        connections = [
            c for c in self.server.live_connections if c.authed and c.event_format is not None
        ]
        longest = max(max(e[0] for e in events) for _, events, _ in self.templates)
        # each agent takes every ``agents / rate`` seconds a call: keep calls from overlapping
        slot = agents / rate
        scale = min(1.0, 0.8 * slot / longest) if longest else 1.0
        self.stats.scale = scale
        self.stats.connections = len(connections)
        cache: dict[tuple[int, int, int], list[bytes] | None] = {}
        core = self.server.switch.core_uuid.encode()
        timeline = []
        for i, (call_uuid, caller) in enumerate(calls):
            index = i % len(self.templates)
            template, events, uuids = self.templates[index]
            values = {
                template.caller_uuid.encode(): call_uuid.encode(),
                template.caller.encode(): caller.encode(),
                self._recording_core(template): core,
                **{u: str(uuid_module.uuid4()).encode() for u in uuids},
            }
            start = i / rate
            for j, (offset, headers, body, seq) in enumerate(events):
                values[seq] = str(next(self._sequence)).encode()
                for connection in connections:
                    key = (index, j, id(connection))
                    if key not in cache:
                        cache[key] = (
                            self._parts(index, j, headers, body, connection.event_format)
                            if connection.wants(headers)
                            else None
                        )
                    parts = cache[key]
                    if parts is None:
                        continue
                    out = list(parts)
                    out[1::2] = [values[token] for token in parts[1::2]]
                    timeline.append((start + offset * scale, connection, b"".join(out)))
        timeline.sort(key=lambda item: item[0])
        return timeline

    def _parts(self, index: int, j: int, headers, body, fmt: str) -> list[bytes]:
        """The encoded frame split around what each call replaces (literal, token, literal
        …): a call's frame is one join."""
        key = (index, j, fmt)
        if key in self._split:
            return self._split[key]
        if key not in self._frames:
            self._frames[key] = event_frame(headers, body, fmt).encode()
        template, events, uuids = self.templates[index]
        tokens = [
            events[j][3],
            template.caller_uuid.encode(),
            template.caller.encode(),
            self._recording_core(template),
            *uuids,
        ]
        pattern = re.compile(b"(" + b"|".join(re.escape(t) for t in tokens if t) + b")")
        self._split[key] = pattern.split(self._frames[key])
        return self._split[key]

    @staticmethod
    def _recording_core(template: CallTemplate) -> bytes:
        for _, headers, _ in template.events:
            for name, value in headers:
                if name == "Core-UUID":
                    return value.encode()
        return b""

    def start(self, calls: list[tuple[str, str]], rate: float, agents: int) -> None:
        if self._task is not None and not self._task.done():
            raise RuntimeError("a phase is running")
        began = time.perf_counter()
        timeline = self.prepare(calls, rate, agents)
        self.stats = PhaseStats(
            running=True,
            calls=len(calls),
            events=len(timeline),
            prepare_s=round(time.perf_counter() - began, 3),
            scale=self.stats.scale,
            connections=self.stats.connections,
        )
        self._task = asyncio.get_running_loop().create_task(self.run(timeline))

    async def run(self, timeline: list) -> None:
        stats = self.stats
        stats.started = time.time()
        t0 = time.monotonic()
        i, n = 0, len(timeline)
        try:
            while i < n:
                now = time.monotonic() - t0
                due = timeline[i][0]
                if due > now:
                    await asyncio.sleep(due - now)
                    continue
                stamp = str(int(time.time() * 1_000_000)).encode()
                batches: dict[int, tuple[object, list[bytes]]] = {}
                while i < n and timeline[i][0] <= now:
                    _, connection, frame = timeline[i]
                    batches.setdefault(id(connection), (connection, []))[1].append(
                        frame.replace(TS_PLACEHOLDER, stamp)
                    )
                    stats.lag_max_ms = max(stats.lag_max_ms, (now - timeline[i][0]) * 1000)
                    i += 1
                for connection, frames in batches.values():
                    data = b"".join(frames)
                    connection.send_bytes(data)
                    stats.sent += len(frames)
                    stats.bytes += len(data)
                # let the loop breathe (replies, heartbeats) between bursts
                await asyncio.sleep(0)
        except Exception as exc:  # reported by replay_status
            stats.errors.append(repr(exc))
            raise
        finally:
            stats.running = False
            stats.finished = time.time()
            stats.lag_max_ms = round(stats.lag_max_ms, 3)


class ReplayProtocol(SimulatorProtocol):
    server: ReplayServer

    async def handle_api(self, command: str) -> str:
        name, _, args = command.strip().partition(" ")
        if name == "replay":
            path, rate = args.split()
            calls = [tuple(pair) for pair in json.loads(Path(path).read_text())]
            try:
                self.server.replayer.start(calls, float(rate), len(self.server.config.agents))
            except RuntimeError as exc:
                return f"-ERR {exc}\n"
            return "+OK " + json.dumps(self.server.replayer.stats.__dict__) + "\n"
        if name == "replay_status":
            return "+OK " + json.dumps(self.server.replayer.stats.__dict__) + "\n"
        return await super().handle_api(command)


class ReplayServer(SimulatorServer):
    def __init__(self, config: SimConfig, templates: list[CallTemplate]) -> None:
        super().__init__(config)
        self.protocol_class = ReplayProtocol
        self.replayer = Replayer(self, templates)


async def serve(config: SimConfig, templates: list[CallTemplate]) -> None:
    import signal

    config = replace(config, core_uuid=str(uuid_module.uuid4()))
    server = ReplayServer(config, templates)
    await server.start()
    print("ready", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    with contextlib.suppress(Exception):
        await server.close()


def main(argv: list[str]) -> None:
    config = SimConfig.from_dict(json.loads(Path(argv[0]).read_text()))
    # plain asyncio: the simulator's protocol expects asyncio's own transports
    templates = record(config, calls=len(config.agents))
    asyncio.run(serve(config, templates))


if __name__ == "__main__":
    main(sys.argv[1:])
