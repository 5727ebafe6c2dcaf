"""Asyncio client for FreeSWITCH's inbound event socket.

One :class:`ESLClient` keeps one logical connection to one switch alive for as long as it
runs: it connects, authenticates, subscribes, and after any loss (the switch closed the
socket, sent a disconnect notice, stopped sending data, the network broke) it reconnects
with exponential backoff and jitter, subscribes again (events and filters) and calls the
``on_connected`` hook so its owner can resynchronise state (``show channels as json``,
``callcenter_config agent list`` …) before trusting events again.

Design points (see ``telephony/DECISIONS-esl.md``):

* **The socket reader never waits for anyone.** It only splits bytes into frames
  (:mod:`telephony.esl.frames`), resolves reply futures and puts events into a bounded
  :class:`EventBuffer`. A slow consumer makes the buffer overflow, which is handled by an
  explicit :class:`OverflowPolicy`, counted in :attr:`ESLClient.stats`, logged and reported
  to ``on_overflow`` (the bridge resynchronises) — never a silent loss, never a stalled
  reader (which would stall ``api`` replies and heartbeats too).
* **Replies are matched in order.** ESL answers commands strictly in the order they were
  sent, so pending commands wait in a FIFO. A command that gets no reply within its timeout
  leaves the FIFO out of step, so the connection is dropped and rebuilt.
* **bgapi results are matched by Job-UUID,** which the client chooses and sends as a header
  (FreeSWITCH honours it), so a fast job's ``BACKGROUND_JOB`` can never arrive before the
  client knows the job.
* **Liveness** is judged by data: if nothing (normally a ``HEARTBEAT``, every 20 s on a
  real switch) arrives for ``heartbeat_timeout`` seconds, the connection is considered dead.
  To make that work whatever the caller subscribes to, the client always subscribes to
  ``HEARTBEAT`` and ``BACKGROUND_JOB`` itself, and — because FreeSWITCH's filters are an
  allow-list — adds ``filter Event-Name HEARTBEAT|BACKGROUND_JOB`` while the caller has
  filters. Events the caller did not ask for are not put into the buffer.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import uuid as uuid_module
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from telephony.esl.errors import (
    AccessDenied,
    AuthError,
    CommandError,
    ConnectionLost,
    ESLError,
    ProtocolError,
)
from telephony.esl.events import JSON, PLAIN, Event, parse_event
from telephony.esl.frames import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    RUDE_REJECTION,
    Frame,
    FrameParser,
    Header,
    encode_command,
)

logger = logging.getLogger("telephony.esl")

HEARTBEAT = "HEARTBEAT"
BACKGROUND_JOB = "BACKGROUND_JOB"
_ERROR_PREFIXES = ("-ERR", "-USAGE")
_READ_CHUNK = 256 * 1024

OnConnected = Callable[["ESLClient"], Awaitable[None]]
OnOverflow = Callable[[int], None]


def _check_format(fmt: str) -> None:
    if fmt not in (PLAIN, JSON):
        raise ValueError(f"event format must be 'plain' or 'json', not {fmt!r}")


def _merge_names(
    types: Sequence[str], subclasses: Sequence[str], names: Sequence[str]
) -> tuple[list[str], list[str]]:
    """Add ``names`` (as given to ``event``: subclasses follow ``CUSTOM``) to a subscription."""
    merged_types, merged_subclasses = list(types), list(subclasses)
    custom = False
    for token in names:
        target = merged_subclasses if custom else merged_types
        if token not in target:
            target.append(token)
        if token.upper() == "CUSTOM":
            custom = True
    return merged_types, merged_subclasses


class OverflowPolicy(enum.Enum):
    """What the event buffer does when it is full and another event arrives."""

    DROP_OLDEST = "drop_oldest"  # keep the newest events (the current state matters most)
    DROP_NEWEST = "drop_newest"  # keep what is queued, discard the arriving event


@dataclass
class ClientStats:
    """Counters for monitoring; all cumulative over the client's life."""

    connects: int = 0
    disconnects: int = 0
    connect_failures: int = 0
    frames_received: int = 0
    events_received: int = 0
    events_dropped: int = 0
    events_malformed: int = 0
    watchdog_timeouts: int = 0
    last_disconnect_reason: str = ""


def backoff_delay(
    attempt: int,
    *,
    initial: float,
    maximum: float,
    jitter: float,
    rng: random.Random | None = None,
) -> float:
    """Delay before reconnect attempt ``attempt`` (0-based): exponential, capped, jittered.

    The delay is ``min(maximum, initial * 2**attempt)`` reduced by up to ``jitter`` (0…1) of
    itself, so many clients restarted together do not reconnect in lockstep.
    """
    base = min(maximum, initial * (2 ** min(attempt, 32)))
    return base * (1.0 - jitter * (rng or random).random())


class EventBuffer:
    """A bounded FIFO whose :meth:`put_nowait` never blocks and never fails.

    When full, the :class:`OverflowPolicy` decides which event is discarded; every discard
    calls ``on_drop`` (the client counts and logs it).
    """

    def __init__(
        self,
        maxsize: int,
        policy: OverflowPolicy = OverflowPolicy.DROP_OLDEST,
        on_drop: Callable[[Event], None] | None = None,
    ) -> None:
        if maxsize < 1:
            raise ValueError("EventBuffer maxsize must be at least 1")
        self.maxsize = maxsize
        self.policy = policy
        self._items: deque[Event] = deque()
        self._on_drop = on_drop
        self._waiter: asyncio.Future[None] | None = None
        self._closed: BaseException | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put_nowait(self, event: Event) -> bool:
        """Add ``event``; return ``False`` if an event had to be discarded to do so."""
        if self._closed is not None:
            return False
        dropped: Event | None = None
        if len(self._items) >= self.maxsize:
            drop_newest = self.policy is OverflowPolicy.DROP_NEWEST
            dropped = event if drop_newest else self._items.popleft()
        if dropped is not event:
            self._items.append(event)
        if dropped is not None and self._on_drop is not None:
            self._on_drop(dropped)
        self._wake()
        return dropped is None

    async def get(self) -> Event:
        """The next event; raises the close reason once closed and drained."""
        while not self._items:
            if self._closed is not None:
                raise self._closed
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._items.popleft()

    def close(self, reason: BaseException | None = None) -> None:
        """Stop accepting events; waiting readers get ``reason`` (default: end of iteration)
        once the remaining events are consumed."""
        if self._closed is None:
            self._closed = reason or StopAsyncIteration()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


@dataclass(eq=False)
class _Session:
    """State of one TCP connection; discarded when it ends."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    loop: asyncio.AbstractEventLoop
    parser: FrameParser = field(default_factory=FrameParser)
    pending: deque[tuple[str, asyncio.Future[Frame]]] = field(default_factory=deque)
    auth_request: asyncio.Future[Frame] | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    last_data: float = 0.0
    ready: bool = False  # authenticated and subscribed: open to the caller's commands
    lingering: bool = False
    rejected: bool = False
    reason: str = ""
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def close(self, reason: str) -> None:
        """End this connection (idempotent): fail waiting commands, drop the socket."""
        if self.closed.is_set():
            return
        self.reason = reason
        self.ready = False
        self.closed.set()
        while self.pending:
            line, future = self.pending.popleft()
            if not future.done():
                future.set_exception(
                    ConnectionLost(f"connection lost ({reason}) before the reply to {line!r}")
                )
                future.exception()  # the awaiting command raises it; do not log it again
        if self.auth_request is not None and not self.auth_request.done():
            self.auth_request.set_exception(ConnectionLost(f"connection lost ({reason})"))
            self.auth_request.exception()
        with contextlib.suppress(Exception):
            self.writer.transport.abort()


class ESLClient:
    """Inbound ESL client with reconnect, re-subscription, heartbeat watchdog and resync hook.

    Typical use::

        async def resync(client: ESLClient) -> None:
            channels = parse_show_json(await client.api("show channels as json"))
            ...

        client = ESLClient("127.0.0.1", 8021, "ClueCon", on_connected=resync)
        await client.connect()
        await client.events("plain", ["CHANNEL_CREATE", "CUSTOM", "callcenter::info"])
        async for event in client:
            ...

    ``connect()`` raises :class:`AuthError` / :class:`AccessDenied` (never retried) and
    keeps retrying while the switch is unreachable. Subscriptions and filters made through
    :meth:`events` and :meth:`filter` are remembered and replayed after every reconnect.
    """

    def __init__(
        self,
        host: str,
        port: int,
        password: str,
        *,
        on_connected: OnConnected | None = None,
        on_overflow: OnOverflow | None = None,
        event_format: str = PLAIN,
        event_names: Sequence[str] = (),
        filters: Sequence[tuple[str, str]] = (),
        heartbeat_timeout: float | None = 60.0,
        connect_timeout: float = 5.0,
        command_timeout: float = 30.0,
        reconnect_initial: float = 0.5,
        reconnect_max: float = 30.0,
        reconnect_jitter: float = 0.5,
        queue_size: int = 10_000,
        overflow: OverflowPolicy = OverflowPolicy.DROP_OLDEST,
        rng: random.Random | None = None,
        name: str = "esl",
    ) -> None:
        """
        :param event_format, event_names, filters: the subscription made at every login,
            *before* ``on_connected`` runs, so a resync never misses events that happen
            while it runs. Same meaning as :meth:`events` and :meth:`filter`.
        :param heartbeat_timeout: seconds without any data after which the connection is
            treated as dead (a real switch sends ``HEARTBEAT`` every 20 s; keep this at least
            twice that). ``None`` disables the watchdog. Note that a blocking ``api`` command
            (e.g. ``api originate``) stops the switch from sending anything on this socket
            until it finishes: use :meth:`bgapi` for slow commands.
        :param command_timeout: default seconds to wait for a reply. A command that times out
            takes the connection down (replies would be mismatched afterwards).
        :param queue_size: capacity of the event buffer; see ``overflow``.
        :param on_overflow: called (synchronously, from the reader) with the total number
            of dropped events each time one is dropped; schedule a resync from it.
        """
        self.host = host
        self.port = port
        self._password = password
        self.name = name
        self.on_connected = on_connected
        self.on_overflow = on_overflow
        self.heartbeat_timeout = heartbeat_timeout
        self.connect_timeout = connect_timeout
        self.command_timeout = command_timeout
        self.reconnect_initial = reconnect_initial
        self.reconnect_max = reconnect_max
        self.reconnect_jitter = reconnect_jitter
        self._rng = rng or random.Random()
        self.stats = ClientStats()
        self._buffer = EventBuffer(queue_size, overflow, self._on_drop)
        self._session: _Session | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._closing = False
        self._fatal: ESLError | None = None
        self._state_changed = asyncio.Event()
        self._jobs: dict[str, tuple[str, asyncio.Future[str]]] = {}
        # What the caller subscribed to, replayed after reconnects.
        _check_format(event_format)
        self._event_format = event_format
        self._event_types, self._custom_subclasses = _merge_names([], [], event_names)
        self._filters: list[tuple[str, str]] = list(dict.fromkeys(filters))
        self._implicit_filters_on = bool(self._filters)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Authenticated, subscribed and open to commands right now."""
        return self._session is not None and self._session.ready

    async def start(self) -> None:
        """Start the background connection loop (idempotent); returns at once."""
        if self._closing:
            raise ConnectionLost("client is closed")
        if self._supervisor is None:
            self._supervisor = asyncio.create_task(self._run(), name=f"{self.name}-supervisor")

    async def wait_connected(self, timeout: float | None = None) -> None:
        """Wait until connected. Raises the fatal error (``AuthError``, ``AccessDenied``)
        if the client gave up, ``ConnectionLost`` if it was closed, ``TimeoutError``."""
        async with asyncio.timeout(timeout):
            while True:
                if self._fatal is not None:
                    raise self._fatal
                if self._closing:
                    raise ConnectionLost("client is closed")
                if self.connected:
                    return
                changed = self._state_changed
                await changed.wait()

    async def connect(self, timeout: float | None = None) -> None:
        """:meth:`start` and :meth:`wait_connected`."""
        await self.start()
        await self.wait_connected(timeout)

    async def close(self) -> None:
        """Say ``exit`` if connected, stop reconnecting, end the event iteration."""
        if self._closing:
            return
        self._closing = True
        session = self._session
        if session is not None and session.ready:
            with contextlib.suppress(ESLError, TimeoutError, OSError):
                await self._command("exit", session=session, timeout=1.0)
        if session is not None:
            session.close("client closed")
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        self._fail_jobs("client closed")
        self._buffer.close(self._fatal)
        self._notify()

    async def exit(self) -> None:
        """Send ``exit`` (the switch answers ``+OK bye`` and a disconnect notice) and close."""
        await self.close()

    async def __aenter__(self) -> ESLClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- events ---------------------------------------------------------------------------

    def __aiter__(self) -> AsyncIterator[Event]:
        return self

    async def __anext__(self) -> Event:
        return await self._buffer.get()

    async def next_event(self, timeout: float | None = None) -> Event:
        """The next event, waiting at most ``timeout`` seconds (``TimeoutError``)."""
        async with asyncio.timeout(timeout):
            return await self._buffer.get()

    @property
    def queued_events(self) -> int:
        """Events waiting in the buffer."""
        return len(self._buffer)

    # -- socket commands ------------------------------------------------------------------

    async def events(self, fmt: str = PLAIN, names: Sequence[str] = ("ALL",)) -> str:
        """Subscribe (``event plain|json NAMES``); remembered and replayed on reconnect.

        ``names`` as FreeSWITCH takes them: event names, and after ``CUSTOM`` the custom
        subclasses (``["CHANNEL_ANSWER", "CUSTOM", "callcenter::info"]``). Subscriptions add
        up, as on the switch; the format is the last one given.
        """
        _check_format(fmt)
        if not names:
            raise ValueError("events() needs at least one event name")
        types, subclasses = _merge_names(self._event_types, self._custom_subclasses, names)
        line = self._subscription_line(fmt, types, subclasses)
        reply = await self._checked(line)
        self._event_format, self._event_types, self._custom_subclasses = fmt, types, subclasses
        return reply.reply_text

    async def filter(self, header: str, value: str) -> str:
        """``filter HEADER VALUE``: only events matching one of the filters are sent.

        Remembered and replayed on reconnect. While filters exist the client keeps
        ``HEARTBEAT`` and ``BACKGROUND_JOB`` passing (watchdog and :meth:`bgapi` need them).
        """
        if not self._implicit_filters_on:
            for implicit in (HEARTBEAT, BACKGROUND_JOB):
                await self._checked(f"filter Event-Name {implicit}")
            self._implicit_filters_on = True
        reply = await self._checked(f"filter {header} {value}")
        if (header, value) not in self._filters:
            self._filters.append((header, value))
        return reply.reply_text

    async def filter_delete(self, header: str, value: str | None = None) -> str:
        """``filter delete HEADER [VALUE]``; without a value every filter on HEADER goes."""
        line = f"filter delete {header}" + (f" {value}" if value is not None else "")
        reply = await self._checked(line)
        self._filters = [
            (h, v) for h, v in self._filters if not (h == header and value in (None, v))
        ]
        if not self._filters and self._implicit_filters_on:
            for implicit in (HEARTBEAT, BACKGROUND_JOB):
                await self._checked(f"filter delete Event-Name {implicit}")
            self._implicit_filters_on = False
        return reply.reply_text

    async def myevents(self, uuid: str, fmt: str | None = None) -> str:
        """``myevents [plain|json] UUID``: receive that channel's events (not replayed on
        reconnect: the channel is usually gone by then)."""
        line = f"myevents {fmt} {uuid}" if fmt else f"myevents {uuid}"
        return (await self._checked(line)).reply_text

    async def linger(self, seconds: int | None = None) -> str:
        """``linger [SECONDS]``: keep the socket open after the channel of :meth:`myevents`
        hangs up, to receive its last events. ``-ERR`` without ``myevents``."""
        line = "linger" if seconds is None else f"linger {int(seconds)}"
        return (await self._checked(line)).reply_text

    async def command(self, line: str, headers: Sequence[Header] = ()) -> Frame:
        """Send any socket command; return the reply frame, raise ``CommandError`` on -ERR."""
        return await self._checked(line, headers)

    async def api(self, cmd: str, *, timeout: float | None = None) -> str:
        """``api CMD``: the response body (exactly as sent, trailing newline included).

        Raises :class:`CommandError` naming the command if the response is ``-ERR …``.
        Blocks this socket's whole stream until the switch answers; prefer :meth:`bgapi`
        for slow commands such as ``originate``.
        """
        line = f"api {cmd}"
        frame = await self._command(line, timeout=timeout)
        text = frame.body_text
        if text.startswith(_ERROR_PREFIXES) or frame.reply_text.startswith(_ERROR_PREFIXES):
            raise CommandError(line, text or frame.reply_text)
        return text

    async def bgapi(self, cmd: str, *, timeout: float | None = None) -> asyncio.Future[str]:
        """``bgapi CMD``: returns once the switch accepted the job; the returned future
        resolves to the job's output from the matching ``BACKGROUND_JOB`` (by Job-UUID).

        The future raises :class:`CommandError` if the output is ``-ERR …`` and
        :class:`ConnectionLost` if the connection ends first (the result is then unknown:
        resynchronise).
        """
        line = f"bgapi {cmd}"
        job_uuid = str(uuid_module.uuid4())
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._jobs[job_uuid] = (line, future)
        future.add_done_callback(lambda _f: self._jobs.pop(job_uuid, None))
        try:
            reply = await self._checked(line, [("Job-UUID", job_uuid)], timeout=timeout)
        except BaseException:
            future.cancel()
            raise
        confirmed = reply.get("Job-UUID")
        if confirmed and confirmed != job_uuid:
            # A server that ignores our header: re-key (its job cannot have finished yet
            # without us seeing it, because replies precede job events on one socket).
            self._jobs.pop(job_uuid, None)
            self._jobs[confirmed] = (line, future)
        return future

    # -- internals: commands --------------------------------------------------------------

    async def _command(
        self,
        line: str,
        headers: Sequence[Header] = (),
        *,
        session: _Session | None = None,
        timeout: float | None = None,
    ) -> Frame:
        data = encode_command(line, headers)  # ValueError on injected line breaks
        shown = "auth ****" if line.startswith("auth ") else line  # never log the password
        target = session or self._session
        if target is None or target.closed.is_set() or (session is None and not target.ready):
            raise ConnectionLost(f"not connected to {self.host}:{self.port}; {shown!r} not sent")
        future: asyncio.Future[Frame] = target.loop.create_future()
        target.pending.append((shown, future))
        wait = self.command_timeout if timeout is None else timeout
        try:
            target.writer.write(data)
            async with asyncio.timeout(wait):
                await target.writer.drain()
                return await asyncio.shield(future)
        except TimeoutError:
            target.close(f"no reply to {shown!r} within {wait}s")
            raise ConnectionLost(f"no reply to {shown!r} within {wait}s") from None
        except (ConnectionError, OSError) as exc:
            target.close(f"write failed: {exc}")
            raise ConnectionLost(f"write of {shown!r} failed: {exc}") from exc

    async def _checked(
        self,
        line: str,
        headers: Sequence[Header] = (),
        *,
        session: _Session | None = None,
        timeout: float | None = None,
    ) -> Frame:
        frame = await self._command(line, headers, session=session, timeout=timeout)
        text = frame.reply_text or (frame.body_text if frame.content_type == API_RESPONSE else "")
        if text.startswith(_ERROR_PREFIXES):
            raise CommandError(line, text)
        return frame

    def _subscription_line(self, fmt: str, types: list[str], subclasses: list[str]) -> str:
        upper = [name.upper() for name in types]
        implicit = [] if "ALL" in upper else [BACKGROUND_JOB]
        if self.heartbeat_timeout is not None and "ALL" not in upper:
            implicit.insert(0, HEARTBEAT)
        # FreeSWITCH reads every token after CUSTOM as a subclass, so CUSTOM goes last.
        plain_types = [t for t in types if t.upper() not in (*implicit, "CUSTOM")]
        tokens = [*implicit, *plain_types]
        if "CUSTOM" in upper or subclasses:
            tokens += ["CUSTOM", *subclasses]
        return f"event {fmt} {' '.join(tokens)}"

    def _wanted(self, event: Event) -> bool:
        """Did the caller subscribe to this event (rather than only the client itself)?"""
        if event.name not in (HEARTBEAT, BACKGROUND_JOB):
            return True
        upper = [name.upper() for name in self._event_types]
        return "ALL" in upper or event.name in upper

    # -- internals: connection loop -------------------------------------------------------

    def _notify(self) -> None:
        previous, self._state_changed = self._state_changed, asyncio.Event()
        previous.set()

    async def _run(self) -> None:
        attempt = 0
        while not self._closing:
            try:
                session = await self._open_session()
            except (AuthError, AccessDenied) as exc:
                logger.error("%s: %s:%s refused us: %s", self.name, self.host, self.port, exc)
                self._fatal = exc
                self._buffer.close(exc)
                self._notify()
                return
            except (OSError, TimeoutError, ESLError) as exc:
                self.stats.connect_failures += 1
                logger.warning(
                    "%s: connecting to %s:%s failed: %s", self.name, self.host, self.port, exc
                )
            else:
                attempt = 0
                await self._serve(session)
            if self._closing:
                return
            delay = backoff_delay(
                attempt,
                initial=self.reconnect_initial,
                maximum=self.reconnect_max,
                jitter=self.reconnect_jitter,
                rng=self._rng,
            )
            attempt += 1
            logger.info("%s: reconnecting in %.2fs", self.name, delay)
            await asyncio.sleep(delay)

    async def _serve(self, session: _Session) -> None:
        """Run one established connection until it ends."""
        self._session = session
        session.ready = not session.closed.is_set()
        self.stats.connects += 1
        logger.info("%s: connected to %s:%s", self.name, self.host, self.port)
        self._notify()
        hook: asyncio.Task[None] | None = None
        if self.on_connected is not None:
            hook = asyncio.create_task(self._run_hook(), name=f"{self.name}-on-connected")
        await session.closed.wait()
        if hook is not None and not hook.done():
            hook.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hook
        self._session = None
        self.stats.disconnects += 1
        self.stats.last_disconnect_reason = session.reason
        for task in session.tasks:
            task.cancel()
        self._fail_jobs(session.reason)
        self._notify()
        if not self._closing:
            logger.warning("%s: connection lost: %s", self.name, session.reason)

    async def _run_hook(self) -> None:
        assert self.on_connected is not None
        try:
            await self.on_connected(self)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A failed resync must be visible, but it is no reason to drop a working link.
            logger.exception("%s: on_connected hook failed", self.name)

    async def _open_session(self) -> _Session:
        loop = asyncio.get_running_loop()
        async with asyncio.timeout(self.connect_timeout):
            reader, writer = await asyncio.open_connection(self.host, self.port, limit=_READ_CHUNK)
        session = _Session(reader=reader, writer=writer, loop=loop, last_data=loop.time())
        session.auth_request = loop.create_future()
        session.tasks.append(
            asyncio.create_task(self._read_loop(session), name=f"{self.name}-reader")
        )
        try:
            async with asyncio.timeout(self.connect_timeout):
                await session.auth_request
            reply = await self._command(
                f"auth {self._password}", session=session, timeout=self.connect_timeout
            )
            if not reply.reply_text.startswith("+OK"):
                raise AuthError(f"password refused: {reply.reply_text}")
            await self._resubscribe(session)
        except ConnectionLost:
            session.close(session.reason or "closed during login")
            if session.rejected:
                raise AccessDenied(f"{self.host}:{self.port}: {session.reason}") from None
            raise
        except BaseException:
            session.close("login failed")
            raise
        if self.heartbeat_timeout is not None:
            session.tasks.append(
                asyncio.create_task(self._watchdog(session), name=f"{self.name}-watchdog")
            )
        return session

    async def _resubscribe(self, session: _Session) -> None:
        await self._checked(
            self._subscription_line(self._event_format, self._event_types, self._custom_subclasses),
            session=session,
        )
        if self._filters:
            for implicit in (HEARTBEAT, BACKGROUND_JOB):
                await self._checked(f"filter Event-Name {implicit}", session=session)
            for header, value in self._filters:
                await self._checked(f"filter {header} {value}", session=session)

    async def _read_loop(self, session: _Session) -> None:
        reason = "connection closed by the switch"
        try:
            while True:
                data = await session.reader.read(_READ_CHUNK)
                if not data:
                    break
                session.last_data = session.loop.time()
                for frame in session.parser.feed(data):
                    self._dispatch(session, frame)
                if session.closed.is_set():
                    return
        except ProtocolError as exc:
            reason = f"protocol error: {exc}"
            logger.error("%s: %s", self.name, reason)
        except (ConnectionError, OSError) as exc:
            reason = f"socket error: {exc}"
        except asyncio.CancelledError:
            reason = "reader cancelled"
            raise
        finally:
            session.close(session.reason or reason)

    async def _watchdog(self, session: _Session) -> None:
        assert self.heartbeat_timeout is not None
        while not session.closed.is_set():
            silent_for = session.loop.time() - session.last_data
            if silent_for >= self.heartbeat_timeout:
                self.stats.watchdog_timeouts += 1
                reason = f"no HEARTBEAT or other data for {silent_for:.1f}s"
                logger.warning("%s: %s; treating the connection as dead", self.name, reason)
                session.close(reason)
                return
            await asyncio.sleep(self.heartbeat_timeout - silent_for)

    def _dispatch(self, session: _Session, frame: Frame) -> None:
        """Route one frame. Runs in the reader: must never block."""
        self.stats.frames_received += 1
        kind = frame.content_type
        if frame.is_event:
            self._handle_event(frame)
        elif kind in (COMMAND_REPLY, API_RESPONSE):
            if session.pending:
                _line, future = session.pending.popleft()
                if not future.done():
                    future.set_result(frame)
            else:
                logger.warning("%s: reply with no command waiting: %r", self.name, frame)
        elif kind == AUTH_REQUEST:
            if session.auth_request is not None and not session.auth_request.done():
                session.auth_request.set_result(frame)
        elif kind == DISCONNECT_NOTICE:
            self._handle_disconnect_notice(session, frame)
        elif kind == RUDE_REJECTION:
            session.rejected = True
            session.close(f"access denied: {frame.body_text.strip()}")
        else:
            logger.debug("%s: ignoring frame of type %r", self.name, kind)

    def _handle_disconnect_notice(self, session: _Session, frame: Frame) -> None:
        if (frame.get("Content-Disposition") or "").lower() == "linger":
            # The myevents channel hung up; the socket stays for Linger-Time seconds more.
            session.lingering = True
            logger.info(
                "%s: lingering %ss after %s hung up",
                self.name,
                frame.get("Linger-Time"),
                frame.get("Controlled-Session-UUID"),
            )
            return
        text = frame.body_text.strip().replace("\n", " ") or "no text"
        session.close(f"disconnect notice: {text}")

    def _handle_event(self, frame: Frame) -> None:
        try:
            event = parse_event(frame)
        except ProtocolError as exc:
            self.stats.events_malformed += 1
            logger.error("%s: dropping malformed event: %s", self.name, exc)
            return
        self.stats.events_received += 1
        if event.name == BACKGROUND_JOB and event.job_uuid:
            job = self._jobs.pop(event.job_uuid, None)
            if job is not None:
                line, future = job
                output = event.body or ""
                if not future.done():
                    if output.startswith(_ERROR_PREFIXES):
                        future.set_exception(CommandError(line, output))
                    else:
                        future.set_result(output)
        if self._wanted(event):
            self._buffer.put_nowait(event)

    def _on_drop(self, event: Event) -> None:
        self.stats.events_dropped += 1
        dropped = self.stats.events_dropped
        if dropped == 1 or dropped % 1000 == 0:
            logger.warning(
                "%s: event buffer full (%d), %s: %d event(s) dropped so far (last: %s)",
                self.name,
                self._buffer.maxsize,
                self._buffer.policy.value,
                dropped,
                event.name,
            )
        if self.on_overflow is not None:
            try:
                self.on_overflow(dropped)
            except Exception:
                logger.exception("%s: on_overflow callback failed", self.name)

    def _fail_jobs(self, reason: str) -> None:
        jobs, self._jobs = self._jobs, {}
        for line, future in jobs.values():
            if not future.done():
                future.set_exception(
                    ConnectionLost(f"connection lost ({reason}) before the result of {line!r}")
                )
