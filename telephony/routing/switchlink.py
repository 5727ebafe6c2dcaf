"""Batches of ESL ``api`` commands over one short-lived connection, and a background pusher
so that a save in a web request or an event in the bridge never waits on the switch.

Every command here is idempotent (``hash insert``, ``hash delete``, ``global_setvar``,
``callcenter_config … add``): a batch lost while the switch was unreachable is repaired by
the next :func:`telephony.routing.services.routing_provision_all` (run after every bridge
reconnect).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from telephony.esl.client import ESLClient
from telephony.esl.errors import CommandError, ESLError
from telephony.switch import COMMAND_TIMEOUT, CONNECT_TIMEOUT, switch_address

logger = logging.getLogger("telephony.routing")

# Replies that mean "already so" for an idempotent command.
_HARMLESS = ("Not found", "already exists", "Tier already exists")


@dataclass
class BatchResult:
    sent: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


async def run_batch(commands: Sequence[str], *, address=None) -> BatchResult:
    """Send ``commands`` in order over one connection; ``-ERR`` replies that only say
    "already so" are not failures. Raises OSError/ESLError if the switch is unreachable."""
    address = address or switch_address()
    client = ESLClient(
        address.host,
        address.port,
        address.password,
        heartbeat_timeout=None,
        connect_timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT,
        reconnect_initial=0.05,
        reconnect_max=0.2,
        name="esl-routing",
    )
    result = BatchResult()
    try:
        await client.connect(timeout=CONNECT_TIMEOUT)
    except BaseException:
        with contextlib.suppress(Exception):
            await client.close()
        raise
    try:
        for cmd in commands:
            try:
                reply = await client.api(cmd, timeout=COMMAND_TIMEOUT)
            except CommandError as exc:
                text = str(getattr(exc, "reply", exc))
                if not any(h in text for h in _HARMLESS):
                    result.failed.append((cmd, text.strip()))
                reply = text
            result.sent += 1
            result.replies.append(reply)
    finally:
        await client.close()
    return result


def send_batch(commands: Sequence[str]) -> BatchResult:
    """Synchronous :func:`run_batch` (on a helper thread when a loop already runs here)."""
    if not commands:
        return BatchResult()
    address = switch_address()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(run_batch(commands, address=address))
    out: dict = {}

    def work() -> None:
        try:
            out["r"] = asyncio.run(run_batch(commands, address=address))
        except BaseException as exc:  # re-raised in the caller's thread
            out["e"] = exc

    t = threading.Thread(target=work, name="esl-routing-batch", daemon=True)
    t.start()
    t.join(CONNECT_TIMEOUT + COMMAND_TIMEOUT * max(1, len(commands)))
    if "e" in out:
        raise out["e"]
    return out["r"]


class Pusher:
    """One daemon thread that sends queued command batches; never touches the database."""

    def __init__(self) -> None:
        self._queue: queue.Queue[list[str] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self.sent = 0
        self.errors = 0

    def push(self, commands: Sequence[str]) -> None:
        if not commands:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="routing-push", daemon=True)
                self._thread.start()
        self._queue.put(list(commands))

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far was sent (tests, commands)."""
        done = threading.Event()
        self._queue.put(["__flush__", done])  # type: ignore[list-item]
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="routing-push", daemon=True)
                self._thread.start()
        return done.wait(timeout)

    def _run(self) -> None:
        while True:
            batch = self._queue.get()
            if batch is None:
                return
            if batch and batch[0] == "__flush__":
                batch[1].set()  # type: ignore[attr-defined]
                continue
            # coalesce what queued up meanwhile into one connection
            pending = [batch]
            flushes = []
            while True:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    break
                if more and more[0] == "__flush__":
                    flushes.append(more[1])
                    continue
                pending.append(more)
            commands = [c for b in pending for c in b]
            try:
                result = send_batch(commands)
                self.sent += result.sent
                for cmd, reply in result.failed:
                    self.errors += 1
                    logger.warning("switch refused %r: %s", cmd, reply)
            except (OSError, ESLError, TimeoutError, Exception) as exc:  # the next resync repairs
                self.errors += 1
                logger.warning("routing push of %d commands failed: %s", len(commands), exc)
            for event in flushes:
                event.set()


pusher = Pusher()
