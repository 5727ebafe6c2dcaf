"""The ESL bridge: switch events → domain events → screen pops, call records, pushes.

One :class:`Bridge` per FreeSWITCH node. It owns an :class:`~telephony.esl.ESLClient`
(``event json`` for the events the records need), and:

1. a consumer task takes events from the client's buffer (the client's own reader only
   frames bytes and never waits) and runs the pure :func:`~telephony.normalize.normalize`;
   each domain event goes
   a. to the :class:`~telephony.bridge.pops.PopDesk`, which looks the caller up when the
      call appears and sends ``call.offered`` the moment the offer is read — the pop never
      waits for records;
   b. to the :class:`~telephony.bridge.workers.BatchWriter`, which writes the records behind
      it: everything read so far, in arrival order, in one transaction per batch
      (:func:`telephony.services.calls.calls_apply_batch`), then ``group_send``s the messages
      the batch produced (after the commit) — and an offer's pop only if the PopDesk could
      not send it;
2. on every (re)connect, and whenever something was lost (the client's buffer overflowed,
   an event failed to apply), a resync: ``show channels as json``, ``callcenter_config
   agent list``, ``callcenter_config queue list`` and each queue's members → calls whose
   channel is gone are ended, every seat takes the switch's status and state
   (:func:`telephony.services.calls.calls_resync`), ``agent.status`` is pushed.

Nothing is dropped silently: :attr:`Bridge.stats` counts events, applied, failed, sends
failed, back-pressure waits, events the client dropped, and resyncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from django.db import InterfaceError, OperationalError, connection

from telephony import normalize as d
from telephony.bridge.pops import PopDesk, pop_sender
from telephony.bridge.workers import BatchWriter
from telephony.esl.client import ESLClient
from telephony.esl.errors import ESLError, ProtocolError
from telephony.esl.parse_callcenter import (
    parse_agent_list,
    parse_member_list,
    parse_queue_list,
    parse_show_json,
)
from telephony.services.calls import (
    Message,
    call_apply_event,
    calls_apply_batch,
    calls_max_id,
    calls_resync,
    send_messages,
)

logger = logging.getLogger("telephony.bridge")

#: What the call records need (the client adds HEARTBEAT and BACKGROUND_JOB itself).
EVENT_NAMES = (
    "CHANNEL_CREATE",
    "CHANNEL_PROGRESS",
    "CHANNEL_PROGRESS_MEDIA",
    "CHANNEL_ANSWER",
    "CHANNEL_BRIDGE",
    "CHANNEL_UNBRIDGE",
    "CHANNEL_HOLD",
    "CHANNEL_UNHOLD",
    "CHANNEL_HANGUP_COMPLETE",
    "CUSTOM",
    "callcenter::info",
)

#: Domain events that change records (others — heartbeats, queue counts, job results —
#: are not sent to the database threads at all).
APPLIED = (*d.CALL_EVENTS, d.AgentStatusChanged, d.AgentStateChanged)


#: Messages that carry the whole current state of one thing: of several for the same thing
#: in one batch only the last is sent.
SNAPSHOT_TYPES = ("agent.status", "seat.update", "call.update")

#: The interpreter's thread switch interval for a bridge process (seconds; Python's default
#: is 0.005): the event loop that reads the switch and sends the pops gets the GIL back from
#: the writer's thread sooner.
SWITCH_INTERVAL = 0.001


def tune_process() -> None:
    """Settings for a process that runs a bridge (``manage.py esl_bridge``)."""
    sys.setswitchinterval(SWITCH_INTERVAL)


def _snapshot_id(group: str, message: dict):
    kind = message.get("type")
    if kind not in SNAPSHOT_TYPES:
        return None
    if kind == "call.update":
        return group, kind, (message.get("call") or {}).get("uuid")
    if kind == "seat.update":
        return group, kind, (message.get("seat") or {}).get("seat_id")
    return group, kind


def coalesce(messages: list[Message]) -> list[Message]:
    """``messages`` without the snapshots a later one in the list replaces (same group,
    type and call or seat); order otherwise kept."""
    last: dict = {}
    for index, (group, message) in enumerate(messages):
        ident = _snapshot_id(group, message)
        if ident is not None:
            last[ident] = index
    return [
        (group, message)
        for index, (group, message) in enumerate(messages)
        if (ident := _snapshot_id(group, message)) is None or last[ident] == index
    ]


def lane_key(event: d.DomainEvent) -> str:
    """Events with the same key apply in arrival order."""
    call_uuid = getattr(event, "call_uuid", None)
    if call_uuid:
        return call_uuid
    return f"agent:{getattr(event, 'agent', '')}"


def apply_in_thread(event: d.DomainEvent) -> list[Message]:
    """:func:`call_apply_event` on a database thread; a connection the server dropped is
    replaced once (persistent connections outlive database restarts that way)."""
    try:
        return call_apply_event(event, publish=False)
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return call_apply_event(event, publish=False)


def apply_batch_in_thread(events: list[d.DomainEvent], customers=None):
    """:func:`calls_apply_batch` (offers held back) on the writer's thread, with the same
    one retry after a dropped connection."""
    try:
        return calls_apply_batch(events, customers=customers, hold_offers=True)
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return calls_apply_batch(events, customers=customers, hold_offers=True)


def after_reconnect() -> None:
    """Routing provisioning after every resync (runs on its own thread; never raises)."""
    try:
        from telephony.routing.services import routing_after_reconnect
    except ImportError:  # pragma: no cover - routing not installed
        return
    try:
        routing_after_reconnect()
    except Exception:
        logger.exception("routing_after_reconnect failed")


def _close_connection() -> None:
    connection.close()


@dataclass
class BridgeStats:
    events: int = 0
    domain_events: int = 0
    resyncs: int = 0
    resync_failures: int = 0
    calls_ended_by_resync: int = 0
    seats_fixed_by_resync: int = 0
    events_lost: int = 0  # dropped by the ESL client's buffer (then resynchronised)


class Bridge:
    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        workers: int | None = None,  # accepted for old callers: one writer thread now
        max_pending: int = 20_000,
        max_batch: int = 1000,
        queue_size: int = 50_000,
        heartbeat_timeout: float | None = 60.0,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 10.0,
        send: Callable[[list[Message]], Awaitable[int]] | None = None,
        name: str = "bridge",
        provision_routing: bool = True,
    ) -> None:
        self.name = name
        # after every resync: push the routing rules (blacklist, VIP, last agent, overflow
        # switch, tiers) to the switch again — it may have restarted empty
        self.provision_routing = provision_routing
        self.stats = BridgeStats()
        self._send = send or send_messages
        self.client = ESLClient(
            host,
            port,
            password,
            on_connected=self._on_connected,
            on_overflow=self._on_overflow,
            event_format="json",
            event_names=EVENT_NAMES,
            heartbeat_timeout=heartbeat_timeout,
            reconnect_initial=reconnect_initial,
            reconnect_max=reconnect_max,
            queue_size=queue_size,
            name=name,
        )
        # the pops on a layer connection of their own, unless the caller routes sends itself
        self.pops = PopDesk(send or pop_sender(), name=name)
        self.workers = BatchWriter(
            self._apply_batch,
            self._publish,
            max_pending=max_pending,
            max_batch=max_batch,
            on_failure=self._on_apply_failure,
            name=f"{name}-db",
        )
        self._consumer: asyncio.Task | None = None
        self._resync_task: asyncio.Task | None = None
        self._resync_again = False
        self._resynced = asyncio.Event()
        self._stopped = False

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        await self.client.start()
        self._consumer = asyncio.create_task(self._consume(), name=f"{self.name}-consumer")

    async def wait_ready(self, timeout: float | None = None) -> None:
        """Connected and the first resync done (tests, embedded start-up)."""
        async with asyncio.timeout(timeout):
            await self.client.wait_connected()
            await self._resynced.wait()

    @property
    def consumer(self) -> asyncio.Task | None:
        """The task reading events (ends when the client is closed or gives up)."""
        return self._consumer

    async def run_forever(self) -> None:
        await self.start()
        assert self._consumer is not None
        await self._consumer

    async def stop(self, drain_timeout: float = 5.0) -> None:
        """Stop reading, apply everything read (waiting as long as the writer makes
        progress; giving up only after ``drain_timeout`` without any), close."""
        if self._stopped:
            return
        self._stopped = True
        await self.client.close()
        if self._consumer is not None:
            with contextlib.suppress(asyncio.CancelledError, ESLError):
                await asyncio.wait_for(self._consumer, drain_timeout)
        if self._resync_task is not None:
            self._resync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._resync_task
        if not await self._drain_all(drain_timeout):
            logger.error(
                "%s: the database made no progress for %.1f s; stopped with %d events "
                "unapplied (the CDRs and the next resync repair them)",
                self.name,
                drain_timeout,
                self.workers.pending,
            )
        await self.workers.close(_close_connection)
        self.pops.close()

    async def _drain_all(self, step: float) -> bool:
        """Wait until every event read is applied, as long as the writer makes progress:
        a slow database (a surge's backlog) delays the stop, it never drops call records.
        ``False`` only when a whole ``step`` passed without one batch applied or failed
        (the database is gone)."""
        last = None
        while self.workers.pending:
            if await self.workers.drain(step):
                return True
            progress = (self.workers.stats.applied, self.workers.stats.failed)
            if progress == last:
                return False
            last = progress
            logger.info("%s: stopping; %d events still to write", self.name, self.workers.pending)
        return True

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until everything read so far is applied and pushed (tests)."""
        return await self.workers.drain(timeout)

    def snapshot(self) -> dict:
        return {
            **asdict(self.stats),
            "writer": asdict(self.workers.stats),
            "pops": asdict(self.pops.stats),
            "pending": self.workers.pending,
            "esl": asdict(self.client.stats),
            "buffered": self.client.queued_events,
        }

    # -- events -----------------------------------------------------------------------------

    async def _consume(self) -> None:
        try:
            async for event in self.client:
                self.stats.events += 1
                for domain_event in d.normalize(event):
                    if not isinstance(domain_event, APPLIED):
                        continue
                    self.stats.domain_events += 1
                    self.pops.observe(domain_event)  # the pop goes out now, records follow
                    await self.workers.wait_for_room()
                    self.workers.submit(domain_event)
        except ESLError as exc:  # the client gave up (wrong password, access denied)
            logger.error("%s: stopped: %s", self.name, exc)
            raise

    def _apply_batch(self, events: list[d.DomainEvent]):
        return apply_batch_in_thread(events, self.pops.customers)

    async def _publish(self, events: list[d.DomainEvent], result) -> int:
        """After a batch committed: its messages, and the pop of each offer the PopDesk did
        not send (so a failure there costs latency, never the pop)."""
        messages, held = result
        failed = await self._send(coalesce(messages)) if messages else 0
        for event in events:
            if isinstance(event, d.CallOffered):
                popped = await self.pops.settle(event.key)
                if not popped and held.get(event.key):
                    failed += await self._send(held[event.key])
        return failed

    # -- resync -----------------------------------------------------------------------------

    async def _on_connected(self, client: ESLClient) -> None:
        await self._resync_now("connected")

    def _on_overflow(self, dropped: int) -> None:
        self.stats.events_lost = dropped
        self.request_resync("events dropped by the ESL buffer")

    def _on_apply_failure(self, item: object, exc: BaseException) -> None:
        self.request_resync(f"an event failed to apply ({type(exc).__name__})")

    def request_resync(self, reason: str) -> None:
        """Schedule a resync (coalesced: at most one runs, one more follows if asked)."""
        if self._stopped:
            return
        if self._resync_task is not None and not self._resync_task.done():
            self._resync_again = True
            return
        self._resync_task = asyncio.get_running_loop().create_task(self._resync_loop(reason))

    async def _resync_loop(self, reason: str) -> None:
        while True:
            self._resync_again = False
            if self.client.connected:
                await self._resync_now(reason)
            if not self._resync_again:
                return
            reason = "asked again while resynchronising"

    async def resync(self) -> None:
        """Resynchronise now (public for tests and operators)."""
        await self._resync_now("requested")

    async def _resync_now(self, reason: str) -> None:
        logger.info("%s: resynchronising (%s)", self.name, reason)
        try:
            # Events read before the snapshot are applied first, so none of them can
            # overwrite the snapshot with something older.
            await self.workers.drain(timeout=10)
            max_call_id = await self.workers.run_sync(calls_max_id)
            client = self.client
            channels = parse_show_json(await client.api("show channels as json"))
            live = {row.get("uuid", "") for row in channels}
            live |= {row.get("call_uuid", "") for row in channels}
            agents = {
                agent.name: (agent.status, agent.state)
                for agent in parse_agent_list(await client.api("callcenter_config agent list"))
            }
            queues = parse_queue_list(await client.api("callcenter_config queue list"))
            for queue in queues:
                members = parse_member_list(
                    await client.api(f"callcenter_config queue list members {queue['name']}")
                )
                live |= {m.session_uuid for m in members if m.session_uuid}
            live.discard("")
            result = await self.workers.run_sync(
                lambda: calls_resync(
                    live_uuids=live, agents=agents, max_call_id=max_call_id, publish=False
                )
            )
        except (ESLError, ProtocolError, OSError, TimeoutError, KeyError):
            self.stats.resync_failures += 1
            logger.exception("%s: resync failed", self.name)
            return
        except Exception:
            self.stats.resync_failures += 1
            logger.exception("%s: resync failed", self.name)
            return
        self.stats.resyncs += 1
        self.stats.calls_ended_by_resync += result.calls_ended
        self.stats.seats_fixed_by_resync += result.seats_fixed
        if result.calls_ended or result.seats_fixed:
            logger.warning(
                "%s: resync ended %d stale call(s), corrected %d seat(s)",
                self.name,
                result.calls_ended,
                result.seats_fixed,
            )
        self.pops.forget_seats()
        await self._send(result.messages)
        # the surge flag is the overflow controller's alone (telephony.routing.controller)
        if self.provision_routing:
            after_reconnect()
        self._resynced.set()
