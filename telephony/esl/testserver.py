"""A small asyncio ESL *server*: the switch's side of the inbound event socket.

Used by the tests of :mod:`telephony.esl.client`, and the base the FreeSWITCH simulator
builds on (subclass :class:`ESLServerProtocol`, override :meth:`~ESLServerProtocol.handle_api`
and friends). It speaks the protocol as the captures in ``../shared/esl-captures`` show it:

* on connect ``auth/request`` (or, when told to reject, ``text/rude-rejection`` plus a
  disconnect notice and close);
* ``auth`` → ``+OK accepted``, or ``-ERR invalid`` plus a disconnect notice and close;
* socket commands → ``command/reply`` with the switch's ``Reply-Text`` wording;
* ``api`` → ``api/response``; ``bgapi`` → ``+OK Job-UUID: …`` (honouring a ``Job-UUID``
  header) and later a ``BACKGROUND_JOB`` event carrying the output;
* event streaming in plain or json, honouring ``event`` subscriptions (tokens after
  ``CUSTOM`` are subclasses) and ``filter`` allow-lists as FreeSWITCH does;
* a ``HEARTBEAT`` timer; ``exit`` → ``+OK bye`` plus a disconnect notice and close.

Commands of one connection are handled one at a time, in order, like the switch does, so
a slow ``handle_api`` delays that connection's later replies (and nothing else).
Tests can make a connection drop (:meth:`ESLServerProtocol.drop`), go silent
(:meth:`~ESLServerProtocol.go_silent`) or disconnect politely.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import itertools
import re
import time
import uuid as uuid_module
from collections.abc import Callable, Iterable, Sequence

from telephony.esl.events import JSON, PLAIN, event_frame
from telephony.esl.frames import (
    API_RESPONSE,
    AUTH_REQUEST,
    COMMAND_REPLY,
    DISCONNECT_NOTICE,
    RUDE_REJECTION,
    Command,
    CommandParser,
    Frame,
    Header,
)

GOODBYE = "Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n"
SHUTDOWN = "The system is being shut down.\n"
ACCESS_DENIED = "Access Denied, go away.\n"

ApiResponder = str | Callable[[str], str]


class ESLServerProtocol(asyncio.Protocol):
    """The server side of one ESL connection.

    Override :meth:`handle_api` (and :meth:`handle_bgapi` if background jobs differ) to
    answer ``api`` commands; override :meth:`handle_command` for extra socket commands.
    """

    def __init__(self, server: ESLTestServer) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.parser = CommandParser()
        self.commands: list[Command] = []
        self.authed = False
        self.event_format: str | None = None
        self.event_types: set[str] = set()
        self.custom_subclasses: set[str] = set()
        self.filters: list[tuple[str, str]] = []
        self.myevents_uuid: str | None = None
        self.linger_seconds: int | None = None
        self.silent = False
        self.closed = False
        self._inbox: asyncio.Queue[Command] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    # -- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.server.connections.append(self)
        if self.server.reject_connections:
            self.send_frame(Frame.build(RUDE_REJECTION, ACCESS_DENIED))
            self.disconnect(GOODBYE)
            return
        self.send_frame(Frame.build(AUTH_REQUEST))
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._work()))
        if self.server.heartbeat_interval:
            self._tasks.append(loop.create_task(self._heartbeats(self.server.heartbeat_interval)))

    def data_received(self, data: bytes) -> None:
        for command in self.parser.feed(data):
            self.commands.append(command)
            self.server.command_log.append((self, command))
            self._inbox.put_nowait(command)
        self.server._changed()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for task in self._tasks:
            task.cancel()
        self.server._changed()

    # -- test controls --------------------------------------------------------------------

    def drop(self) -> None:
        """Cut the TCP connection without any notice (a crash, a cable pulled)."""
        self.closed = True
        if self.transport is not None:
            self.transport.abort()

    def go_silent(self) -> None:
        """Keep the socket open but send nothing more: no replies, events or heartbeats."""
        self.silent = True

    def disconnect(self, text: str = SHUTDOWN, headers: Sequence[Header] = ()) -> None:
        """Send a disconnect notice with ``text`` and close (``fsctl shutdown``, ``exit``)."""
        self.send_frame(Frame.build(DISCONNECT_NOTICE, text, headers))
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def send_linger_notice(self, uuid: str, channel_name: str) -> None:
        """The notice a ``myevents`` + ``linger`` socket gets when its channel hangs up."""
        headers = [
            ("Content-Type", DISCONNECT_NOTICE),
            ("Controlled-Session-UUID", uuid),
            ("Content-Disposition", "linger"),
            ("Channel-Name", channel_name),
            ("Linger-Time", str(self.linger_seconds or 0)),
            ("Content-Length", "0"),
        ]
        self.send_frame(Frame(tuple(headers)))

    # -- output ---------------------------------------------------------------------------

    def send_bytes(self, data: bytes) -> None:
        """Write raw bytes (e.g. frames from a capture), unless silent or closed."""
        if self.silent or self.closed or self.transport is None:
            return
        self.transport.write(data)

    def send_frame(self, frame: Frame) -> None:
        self.send_bytes(frame.encode())

    def reply(self, text: str, headers: Sequence[Header] = ()) -> None:
        """A ``command/reply`` with ``Reply-Text: text``."""
        self.send_frame(Frame((("Content-Type", COMMAND_REPLY), ("Reply-Text", text), *headers)))

    def wants(self, headers: Sequence[Header]) -> bool:
        """Would FreeSWITCH send this event to this connection (subscription + filters)?"""
        if not self.authed or self.event_format is None:
            return False
        values = dict(reversed(headers))  # first value wins, like switch_event_get_header
        name = values.get("Event-Name", "")
        subscribed = "ALL" in self.event_types or (
            name in self.event_types
            and (
                name != "CUSTOM"
                or not values.get("Event-Subclass")
                or values["Event-Subclass"] in self.custom_subclasses
            )
        )
        if not subscribed:
            return False
        if not self.filters:
            return True
        send = False
        lower = {key.lower(): value for key, value in reversed(headers)}
        for header, wanted in self.filters:
            actual = lower.get(header.lower())
            if actual is None:
                continue
            negative = wanted.startswith("-")
            pattern = wanted.lstrip("+-")
            if pattern.startswith("/") and pattern.endswith("/") and len(pattern) > 1:
                match = re.search(pattern[1:-1], actual) is not None
            else:
                match = actual.lower() == pattern.lower()
            if match:
                if negative:
                    return False
                send = True
        return send

    def send_event(self, headers: Sequence[Header], body: str | None = None) -> bool:
        """Send an event if this connection subscribed to it; return whether it was sent."""
        if not self.wants(headers):
            return False
        self.send_frame(event_frame(headers, body, self.event_format or PLAIN))
        return True

    # -- command handling -----------------------------------------------------------------

    async def _work(self) -> None:
        while True:
            command = await self._inbox.get()
            if self.silent or self.closed:
                continue
            await self.handle_command(command)

    async def handle_command(self, command: Command) -> None:
        """Answer one command. Override to add commands; call ``super()`` for the rest."""
        name, args = command.name, command.args
        if not self.authed:
            if name == "auth" and args == self.server.password:
                self.authed = True
                self.reply("+OK accepted")
            elif name == "auth":
                self.reply("-ERR invalid")
                self.disconnect(GOODBYE)
            else:
                self.reply("-ERR command not found")
            return
        if name == "api":
            body = await self.handle_api(args)
            self.send_frame(Frame.build(API_RESPONSE, body))
        elif name == "bgapi":
            job_uuid = command.get("Job-UUID") or str(uuid_module.uuid4())
            self.reply(f"+OK Job-UUID: {job_uuid}", [("Job-UUID", job_uuid)])
            self._tasks.append(asyncio.create_task(self._background_job(args, job_uuid)))
        elif name == "event":
            self._subscribe(args)
        elif name == "nixevent":
            for token in args.split():
                self.event_types.discard(token)
                self.custom_subclasses.discard(token)
            self.reply("+OK events nixed")
        elif name == "noevents":
            self.event_format = None
            self.event_types.clear()
            self.custom_subclasses.clear()
            self.reply("+OK no longer listening for events")
        elif name == "filter":
            self._filter(args)
        elif name == "myevents":
            parts = args.split()
            self.myevents_uuid = parts[-1] if parts else None
            self.event_format = parts[0] if len(parts) > 1 else PLAIN
            self.reply("+OK Events Enabled")
        elif name == "linger":
            if self.myevents_uuid is None:
                self.reply("-ERR not controlling a session")
            else:
                self.linger_seconds = int(args) if args.isdigit() else 600
                self.reply(f"+OK will linger {self.linger_seconds} seconds")
        elif name == "nolinger":
            self.linger_seconds = None
            self.reply("+OK will not linger")
        elif name == "exit":
            self.reply("+OK bye")
            self.disconnect(GOODBYE)
        else:
            self.reply("-ERR command not found")

    async def handle_api(self, command: str) -> str:
        """The body of the ``api/response`` to ``api command``. Default: look the command
        up in the server's ``api_responses`` (text, or a callable taking the arguments),
        by the whole command first, then by its first word."""
        responses = self.server.api_responses
        word, _, rest = command.partition(" ")
        responder = responses.get(command)
        if responder is None:
            responder = responses.get(word)
        if responder is None:
            return f"-ERR {word} Command not found!\n"
        return responder(rest) if callable(responder) else responder

    async def handle_bgapi(self, command: str) -> str:
        """The output of ``bgapi command``. Default: the same as :meth:`handle_api`."""
        return await self.handle_api(command)

    async def _background_job(self, command: str, job_uuid: str) -> None:
        output = await self.handle_bgapi(command)
        word, _, rest = command.partition(" ")
        headers = [
            *self.server.event_headers("BACKGROUND_JOB", "mod_event_socket.c", "api_exec", 1569),
            ("Job-UUID", job_uuid),
            ("Job-Command", word),
        ]
        if rest:
            headers.append(("Job-Command-Arg", rest))
        self.send_event(headers, output)

    def _subscribe(self, args: str) -> None:
        fmt, _, names = args.partition(" ")
        if fmt not in (PLAIN, JSON) or not names.split():
            self.reply("-ERR no keywords supplied")
            return
        custom = False
        for token in names.split():
            if custom:
                self.custom_subclasses.add(token)
                continue
            self.event_types.add(token.upper())
            custom = token.upper() == "CUSTOM"
        self.event_format = fmt
        self.reply(f"+OK event listener enabled {fmt}")

    def _filter(self, args: str) -> None:
        parts = args.split(" ", 2)
        if parts[0] == "delete" and len(parts) >= 2:
            header = parts[1]
            value = parts[2] if len(parts) > 2 else None
            if header == "all":
                self.filters.clear()
            else:
                self.filters = [
                    (h, v) for h, v in self.filters if not (h == header and value in (None, v))
                ]
            self.reply(f"+OK filter deleted. [{header}][{value or ''}]")
        elif len(parts) >= 2:
            header, value = parts[0], " ".join(parts[1:])
            self.filters.append((header, value))
            self.reply(f"+OK filter added. [{header}]=[{value}]")
        else:
            self.reply("-ERR invalid syntax")

    async def _heartbeats(self, interval: float) -> None:
        while not self.closed:
            await asyncio.sleep(interval)
            self.send_event(self.server.heartbeat_headers())


class ESLTestServer:
    """A listening ESL server on ``host`` (an ephemeral port by default).

    ::

        async with ESLTestServer(password="ClueCon", heartbeat_interval=0.1) as server:
            client = ESLClient("127.0.0.1", server.port, "ClueCon")
    """

    def __init__(
        self,
        *,
        password: str = "ClueCon",  # noqa: S107 - FreeSWITCH's well-known default, for tests
        host: str = "127.0.0.1",
        port: int = 0,
        heartbeat_interval: float | None = 20.0,
        protocol_class: type[ESLServerProtocol] = ESLServerProtocol,
        api_responses: dict[str, ApiResponder] | None = None,
        core_uuid: str | None = None,
        hostname: str = "sim",
    ) -> None:
        self.password = password
        self.host = host
        self.port = port
        self.heartbeat_interval = heartbeat_interval
        self.protocol_class = protocol_class
        self.api_responses: dict[str, ApiResponder] = dict(api_responses or {})
        self.core_uuid = core_uuid or str(uuid_module.uuid4())
        self.hostname = hostname
        self.reject_connections = False
        self.connections: list[ESLServerProtocol] = []
        self.command_log: list[tuple[ESLServerProtocol, Command]] = []
        self._server: asyncio.Server | None = None
        self._sequence = itertools.count(1)
        self._started = time.monotonic()
        self._change = asyncio.Event()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: self.protocol_class(self), self.host, self.port
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for connection in self.connections:
            connection.drop()
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def __aenter__(self) -> ESLTestServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    # -- observing ------------------------------------------------------------------------

    @property
    def live_connections(self) -> list[ESLServerProtocol]:
        """Authenticated connections that are still open."""
        return [c for c in self.connections if c.authed and not c.closed]

    def commands(self, name: str) -> list[Command]:
        """Every command with that first word received so far, on any connection."""
        return [command for _, command in self.command_log if command.name == name]

    def _changed(self) -> None:
        previous, self._change = self._change, asyncio.Event()
        previous.set()

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 3.0) -> None:
        """Wait until ``predicate()`` holds (checked whenever a connection changes)."""
        async with asyncio.timeout(timeout):
            while not predicate():
                change = self._change
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await change.wait()

    # -- emitting -------------------------------------------------------------------------

    def event_headers(
        self, name: str, calling_file: str, calling_function: str, calling_line: int
    ) -> list[Header]:
        """The headers every FreeSWITCH event starts with, in the switch's order."""
        now = dt.datetime.now(dt.UTC)
        local = now.astimezone()
        return [
            ("Event-Name", name),
            ("Core-UUID", self.core_uuid),
            ("FreeSWITCH-Hostname", self.hostname),
            ("FreeSWITCH-Switchname", self.hostname),
            ("FreeSWITCH-IPv4", "127.0.0.1"),
            ("FreeSWITCH-IPv6", "::1"),
            ("Event-Date-Local", local.strftime("%Y-%m-%d %H:%M:%S")),
            ("Event-Date-GMT", now.strftime("%a, %d %b %Y %H:%M:%S GMT")),
            ("Event-Date-Timestamp", str(int(now.timestamp() * 1_000_000))),
            ("Event-Calling-File", calling_file),
            ("Event-Calling-Function", calling_function),
            ("Event-Calling-Line-Number", str(calling_line)),
            ("Event-Sequence", str(next(self._sequence))),
        ]

    def heartbeat_headers(self) -> list[Header]:
        """A ``HEARTBEAT`` event with the headers a real switch sends."""
        up_ms = int((time.monotonic() - self._started) * 1000)
        seconds, ms = divmod(up_ms, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        days, hours = divmod(hours, 24)
        sessions = str(self.session_count())
        return [
            *self.event_headers("HEARTBEAT", "switch_core.c", "send_heartbeat", 95),
            ("Event-Info", "System Ready"),
            (
                "Up-Time",
                f"0 years, {days} days, {hours} hours, {minutes} minutes, {seconds} seconds, "
                f"{ms} milliseconds, 0 microseconds",
            ),
            ("FreeSWITCH-Version", "1.11.1-release+sim~64bit"),
            ("Uptime-msec", str(up_ms)),
            ("Session-Count", sessions),
            ("Max-Sessions", "1000"),
            ("Session-Per-Sec", "30"),
            ("Session-Per-Sec-Last", "0"),
            ("Session-Per-Sec-Max", "0"),
            ("Session-Per-Sec-FiveMin", "0"),
            ("Session-Since-Startup", "0"),
            ("Session-Peak-Max", sessions),
            ("Session-Peak-FiveMin", sessions),
            ("Idle-CPU", "99.000000"),
        ]

    def session_count(self) -> int:
        """Live calls, for ``HEARTBEAT``; the simulator overrides this."""
        return 0

    def broadcast(self, headers: Sequence[Header], body: str | None = None) -> int:
        """Send an event to every connection that subscribed to it; return how many."""
        return sum(c.send_event(headers, body) for c in self.live_connections)

    def broadcast_raw(self, frames: Iterable[Frame]) -> None:
        """Send captured frames verbatim to every authenticated connection."""
        data = b"".join(frame.encode() for frame in frames)
        for connection in self.live_connections:
            connection.send_bytes(data)
