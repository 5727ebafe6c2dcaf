"""Bounded, ordered application of domain events off the event loop (write-behind).

One database thread with a persistent connection applies everything read so far, in
arrival order, many events per transaction (:class:`BatchWriter`). The loop only awaits
futures, so the socket reader is never blocked by the database. (Per-call lanes on a
thread pool, one transaction per event, were measured too slow for surges:
``docs/benchmarks.md``, screen_pop.)

Back-pressure is explicit: :meth:`BatchWriter.wait_for_room` makes the consumer wait while
``max_pending`` events are in flight; the consumer then stops pulling from the ESL client's
buffer (whose reader keeps reading the socket), and only if that buffer overflows are
events dropped — counted and logged by the client, and repaired by a resync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

logger = logging.getLogger("telephony.bridge")


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

    Back-pressure: :meth:`wait_for_room` holds the consumer while
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
