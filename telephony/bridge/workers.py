"""Ordered, bounded application of domain events off the event loop.

Events of one call (one *lane*, keyed by call uuid; agents' events by agent name) are
applied one after another in arrival order; different lanes run in parallel on a small
thread pool, each thread keeping its own persistent database connection. The loop only
awaits futures, so the socket reader is never blocked by the database.

Back-pressure is explicit: :meth:`LaneWorkers.wait_for_room` makes the consumer wait while
``max_pending`` events are in flight; the consumer then stops pulling from the ESL client's
buffer (whose reader keeps reading the socket), and only if that buffer overflows are
events dropped — counted and logged by the client, and repaired by a resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("telephony.bridge")


@dataclass
class WorkerStats:
    submitted: int = 0
    applied: int = 0
    failed: int = 0
    send_failures: int = 0
    backpressure_waits: int = 0
    max_pending_seen: int = 0


class LaneWorkers:
    def __init__(
        self,
        apply: Callable[[Any], list],
        send: Callable[[list], Awaitable[int]],
        *,
        workers: int = 4,
        max_pending: int = 2000,
        on_failure: Callable[[Any, BaseException], None] | None = None,
        name: str = "bridge-db",
    ) -> None:
        self._apply = apply
        self._send = send
        self.workers = workers
        self.max_pending = max_pending
        self._on_failure = on_failure
        self._executor = ThreadPoolExecutor(workers, thread_name_prefix=name)
        self._lanes: dict[str, deque] = {}
        self._tasks: set[asyncio.Task] = set()
        self._pending = 0
        self._changed = asyncio.Event()
        self.stats = WorkerStats()

    @property
    def pending(self) -> int:
        return self._pending

    def _notify(self) -> None:
        previous, self._changed = self._changed, asyncio.Event()
        previous.set()

    async def wait_for_room(self) -> None:
        """Return when fewer than ``max_pending`` events are in flight."""
        if self._pending < self.max_pending:
            return
        self.stats.backpressure_waits += 1
        if self.stats.backpressure_waits == 1 or self.stats.backpressure_waits % 100 == 0:
            logger.warning(
                "bridge: %d events waiting for the database; reading from the switch's "
                "buffer pauses (%d times so far)",
                self._pending,
                self.stats.backpressure_waits,
            )
        while self._pending >= self.max_pending:
            await self._changed.wait()

    def submit(self, key: str, item: Any) -> None:
        """Queue ``item`` on lane ``key`` (never blocks; call :meth:`wait_for_room` first)."""
        self.stats.submitted += 1
        self._pending += 1
        self.stats.max_pending_seen = max(self.stats.max_pending_seen, self._pending)
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(item)
            return
        lane = self._lanes[key] = deque([item])
        task = asyncio.create_task(self._drain_lane(key, lane), name=f"lane-{key}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _drain_lane(self, key: str, lane: deque) -> None:
        loop = asyncio.get_running_loop()
        try:
            while lane:
                item = lane[0]
                try:
                    messages = await loop.run_in_executor(self._executor, self._apply, item)
                except Exception as exc:  # counted, logged, repaired by resync
                    self.stats.failed += 1
                    logger.exception("bridge: applying %r failed", item)
                    if self._on_failure is not None:
                        self._on_failure(item, exc)
                else:
                    self.stats.applied += 1
                    if messages:
                        self.stats.send_failures += await self._send(messages)
                finally:
                    lane.popleft()
                    self._pending -= 1
                    self._notify()
        finally:
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending; ``False`` on timeout."""
        try:
            async with asyncio.timeout(timeout):
                while self._pending:
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True

    async def run_sync(self, func: Callable, *args: Any) -> Any:
        """Run ``func`` on one of the database threads."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def close(self, close_connection: Callable[[], None] | None = None) -> None:
        """Stop: cancel what is left, close each thread's database connection, shut down."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if close_connection is not None:
            # One job per thread (a barrier keeps each thread busy until all have one).
            barrier = threading.Barrier(self.workers)

            def close_one() -> None:
                with contextlib.suppress(threading.BrokenBarrierError):
                    barrier.wait(timeout=5)
                close_connection()

            loop = asyncio.get_running_loop()
            jobs = [loop.run_in_executor(self._executor, close_one) for _ in range(self.workers)]
            await asyncio.gather(*jobs, return_exceptions=True)
        self._executor.shutdown(wait=True, cancel_futures=True)


@dataclass
class WriterStats:
    submitted: int = 0
    applied: int = 0
    failed: int = 0
    send_failures: int = 0
    backpressure_waits: int = 0
    max_pending_seen: int = 0
    batches: int = 0
    max_batch_seen: int = 0
    batch_failures: int = 0  # batches that failed as a whole, then applied one by one


class BatchWriter:
    """Write-behind: everything read so far, applied in arrival order, many events per
    transaction, on one database thread with a persistent connection.

    The writer takes all that is queued (up to ``max_batch``) and hands it to ``apply`` (on
    its thread; one transaction for the lot), then ``publish(items, result)`` on the loop
    (after the commit). One writer keeps every call's events in order and never waits for
    another writer's row locks; batching makes the cost per event a share of a few
    statements instead of a transaction each. If a batch fails as a whole, its events are
    applied one by one (``apply([item])``), so one bad event costs only itself: counted,
    logged, and reported to ``on_failure`` (the bridge then resynchronises).

    Back-pressure as in :class:`LaneWorkers`: :meth:`wait_for_room` holds the consumer while
    ``max_pending`` events are queued.
    """

    def __init__(
        self,
        apply: Callable[[list], Any],
        publish: Callable[[list, Any], Awaitable[int]],
        *,
        max_pending: int = 20_000,
        max_batch: int = 1000,
        on_failure: Callable[[Any, BaseException], None] | None = None,
        name: str = "bridge-db",
    ) -> None:
        self._apply = apply
        self._publish = publish
        self.max_pending = max_pending
        self.max_batch = max_batch
        self._on_failure = on_failure
        self.workers = 1
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=name)
        self._queue: deque = deque()
        self._pending = 0
        self._changed = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self.stats = WriterStats()

    @property
    def pending(self) -> int:
        return self._pending

    def _notify(self) -> None:
        previous, self._changed = self._changed, asyncio.Event()
        previous.set()

    async def wait_for_room(self) -> None:
        if self._pending < self.max_pending:
            return
        self.stats.backpressure_waits += 1
        if self.stats.backpressure_waits == 1 or self.stats.backpressure_waits % 100 == 0:
            logger.warning(
                "bridge: %d events waiting for the database; reading from the switch's "
                "buffer pauses (%d times so far)",
                self._pending,
                self.stats.backpressure_waits,
            )
        while self._pending >= self.max_pending:
            await self._changed.wait()

    def submit(self, item: Any) -> None:
        """Queue ``item`` (never blocks; call :meth:`wait_for_room` first)."""
        self.stats.submitted += 1
        self._pending += 1
        self.stats.max_pending_seen = max(self.stats.max_pending_seen, self._pending)
        self._queue.append(item)
        self._wake.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="bridge-writer")

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            n = min(len(self._queue), self.max_batch)
            items = [self._queue.popleft() for _ in range(n)]
            self.stats.batches += 1
            self.stats.max_batch_seen = max(self.stats.max_batch_seen, n)
            try:
                try:
                    result = await loop.run_in_executor(self._executor, self._apply, items)
                except Exception:
                    if n == 1:
                        raise
                    self.stats.batch_failures += 1
                    logger.warning("bridge: a batch of %d failed; applying one by one", n)
                    for item in items:
                        await self._apply_one(loop, item)
                else:
                    self.stats.applied += n
                    self.stats.send_failures += await self._publish(items, result)
            except Exception as exc:  # one event (n == 1) failed
                self._failed(items[0], exc)
            finally:
                self._pending -= n
                self._notify()

    async def _apply_one(self, loop, item: Any) -> None:
        try:
            result = await loop.run_in_executor(self._executor, self._apply, [item])
        except Exception as exc:
            self._failed(item, exc)
        else:
            self.stats.applied += 1
            self.stats.send_failures += await self._publish([item], result)

    def _failed(self, item: Any, exc: BaseException) -> None:
        self.stats.failed += 1
        logger.error("bridge: applying %r failed", item, exc_info=exc)
        if self._on_failure is not None:
            self._on_failure(item, exc)

    async def drain(self, timeout: float | None = None) -> bool:
        """Wait until nothing is pending; ``False`` on timeout."""
        try:
            async with asyncio.timeout(timeout):
                while self._pending:
                    await self._changed.wait()
        except TimeoutError:
            return False
        return True

    async def run_sync(self, func: Callable, *args: Any) -> Any:
        """Run ``func`` on the writer's thread (between batches)."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    async def close(self, close_connection: Callable[[], None] | None = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if close_connection is not None:
            with contextlib.suppress(Exception):
                await self.run_sync(close_connection)
        self._executor.shutdown(wait=True, cancel_futures=True)
