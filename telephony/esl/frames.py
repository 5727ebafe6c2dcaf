"""Bytes ↔ frames for FreeSWITCH's event socket (ESL). No I/O, no event semantics.

What travels on an ESL socket, in both directions, is a *block*: header lines
(``Name: value\\n``), an empty line, then — only if a ``Content-Length`` header is present —
exactly that many body bytes. The switch sends *frames* (``auth/request``,
``command/reply``, ``api/response``, ``text/event-plain``, ``text/disconnect-notice`` …);
the client sends *commands*, whose first line is the command itself (``api status``) and
which may carry headers (``Job-UUID`` for ``bgapi``) and a body (``sendmsg``).

Facts from ``../shared/esl-captures`` this module relies on:

* line endings are LF; CRLF is accepted as well (people type commands over telnet);
* several frames often arrive in one TCP read and one frame may span many reads, so the
  parsers are incremental: :meth:`FrameParser.feed` takes any chunk and returns the frames
  it completed, keeping the rest;
* outer headers are *not* URL-encoded (only the headers inside a plain event body are,
  see :mod:`telephony.esl.events`), so frames keep them verbatim;
* a header may occur more than once, so headers are an ordered tuple of pairs, never a dict.

Serialisation (:meth:`Frame.encode`, :func:`encode_command`) is the exact inverse, so a
parsed capture re-encodes to the same bytes; the test server relies on that.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from telephony.esl.errors import ProtocolError

Header = tuple[str, str]
"""One header line as ``(name, value)``; values are kept exactly as sent."""

MAX_HEADER_BYTES = 64 * 1024
"""A header block larger than this is garbage, not ESL: the parser raises instead of growing."""

MAX_BODY_BYTES = 64 * 1024 * 1024
"""Upper bound for one body (``show channels as json`` on a busy switch is a few MB)."""

# Content types the switch uses, as constants so callers do not repeat string literals.
AUTH_REQUEST = "auth/request"
COMMAND_REPLY = "command/reply"
API_RESPONSE = "api/response"
EVENT_PLAIN = "text/event-plain"
EVENT_JSON = "text/event-json"
EVENT_XML = "text/event-xml"
DISCONNECT_NOTICE = "text/disconnect-notice"
RUDE_REJECTION = "text/rude-rejection"
LOG_DATA = "log/data"

_ENCODING = "utf-8"
_ERRORS = "surrogateescape"  # lossless: undecodable bytes survive a decode/encode round trip
_BLOCK_END = re.compile(rb"\n\r?\n")


def _lookup(headers: Sequence[Header], name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame sent by the switch: ordered (possibly repeated) headers and the raw body.

    Header lookups are case-insensitive, as in FreeSWITCH itself.
    """

    headers: tuple[Header, ...]
    body: bytes = b""

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name``, or ``default``."""
        values = _lookup(self.headers, name)
        return values[0] if values else default

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name`` in the order sent (empty list if absent)."""
        return _lookup(self.headers, name)

    @property
    def content_type(self) -> str:
        return self.get("Content-Type", "") or ""

    @property
    def reply_text(self) -> str:
        """``Reply-Text`` of a ``command/reply`` (``"+OK accepted"``, ``"-ERR invalid"``)."""
        return self.get("Reply-Text", "") or ""

    @property
    def body_text(self) -> str:
        """The body decoded as UTF-8 (undecodable bytes are replaced, never raised on)."""
        return self.body.decode(_ENCODING, errors="replace")

    @property
    def is_event(self) -> bool:
        return self.content_type in (EVENT_PLAIN, EVENT_JSON, EVENT_XML)

    @property
    def is_reply(self) -> bool:
        """A reply to a command (socket command or ``api``), in the order commands were sent."""
        return self.content_type in (COMMAND_REPLY, API_RESPONSE)

    @property
    def is_disconnect_notice(self) -> bool:
        return self.content_type == DISCONNECT_NOTICE

    def encode(self) -> bytes:
        """The frame's bytes, headers exactly as stored (no ``Content-Length`` is added)."""
        return _encode_block(None, self.headers, self.body)

    @classmethod
    def build(
        cls,
        content_type: str,
        body: bytes | str = b"",
        headers: Iterable[Header] = (),
        *,
        length_first: bool = False,
    ) -> Frame:
        """A frame as FreeSWITCH writes it: ``Content-Type``, extra headers, then
        ``Content-Length`` when there is a body.

        ``length_first=True`` puts ``Content-Length`` before ``Content-Type``, the order the
        switch uses for event frames.
        """
        raw = body.encode(_ENCODING) if isinstance(body, str) else body
        extra = list(headers)
        length = [("Content-Length", str(len(raw)))] if raw else []
        if length_first:
            ordered = [*length, ("Content-Type", content_type), *extra]
        else:
            ordered = [("Content-Type", content_type), *extra, *length]
        return cls(tuple(ordered), raw)


@dataclass(frozen=True, slots=True)
class Command:
    """One command sent by a client: the command line, optional headers and body."""

    line: str
    headers: tuple[Header, ...] = ()
    body: bytes = b""

    @property
    def name(self) -> str:
        """The first word (``api``, ``bgapi``, ``event``, ``auth`` …), lower-cased."""
        return self.line.split(" ", 1)[0].lower()

    @property
    def args(self) -> str:
        """Everything after the first word (``"status"`` for ``api status``)."""
        parts = self.line.split(" ", 1)
        return parts[1].strip() if len(parts) > 1 else ""

    def get(self, name: str, default: str | None = None) -> str | None:
        values = _lookup(self.headers, name)
        return values[0] if values else default

    def encode(self) -> bytes:
        return encode_command(self.line, self.headers, self.body)


def _check_line(text: str, what: str) -> None:
    # A newline inside a command or header would let the text smuggle a second command
    # onto the socket (``api status\n\nexit``): refuse it outright.
    if "\n" in text or "\r" in text:
        raise ValueError(f"ESL {what} must not contain a line break: {text!r}")


def _encode_block(first_line: str | None, headers: Iterable[Header], body: bytes) -> bytes:
    lines = [] if first_line is None else [first_line]
    lines.extend(f"{name}: {value}" for name, value in headers)
    head = "".join(f"{line}\n" for line in lines) + "\n"
    return head.encode(_ENCODING, errors=_ERRORS) + body


def encode_command(line: str, headers: Iterable[Header] = (), body: bytes = b"") -> bytes:
    """Serialise a client command: ``line``, headers, blank line, body.

    A ``Content-Length`` header is added when ``body`` is not empty. Raises ``ValueError``
    if the command or a header contains a line break (command injection).
    """
    _check_line(line, "command")
    if not line.strip():
        raise ValueError("ESL command must not be empty")
    items = list(headers)
    for name, value in items:
        _check_line(name, "header name")
        _check_line(value, "header value")
    if body and not _lookup(items, "Content-Length"):
        items.append(("Content-Length", str(len(body))))
    return _encode_block(line, items, body)


class _BlockParser:
    """Incremental splitter of ``headers \\n\\n [body]`` blocks, shared by both directions."""

    def __init__(self, *, first_line_is_command: bool) -> None:
        self._buf = bytearray()
        self._scan_from = 0  # where to resume looking for the end of the header block
        self._first_line_is_command = first_line_is_command
        # While a body is awaited: (first line, headers, body length).
        self._pending: tuple[str | None, tuple[Header, ...], int] | None = None

    @property
    def buffered(self) -> int:
        """Bytes received but not yet part of a complete block."""
        return len(self._buf)

    def _blocks(self, data: bytes) -> list[tuple[str | None, tuple[Header, ...], bytes]]:
        self._buf += data
        out: list[tuple[str | None, tuple[Header, ...], bytes]] = []
        start = 0
        buf = self._buf
        while True:
            if self._pending is None:
                # Blank lines between blocks carry nothing (telnet users send extra ones).
                while start < len(buf) and buf[start] in (0x0A, 0x0D):
                    if buf[start] == 0x0D and start + 1 >= len(buf):
                        break  # a lone CR might start "\r\n": wait for more bytes
                    start += 1
                match = _BLOCK_END.search(buf, max(start, self._scan_from))
                if match is None:
                    if len(buf) - start > MAX_HEADER_BYTES:
                        raise ProtocolError(
                            f"ESL header block longer than {MAX_HEADER_BYTES} bytes"
                        )
                    self._scan_from = max(start, len(buf) - 2)
                    break
                head = bytes(buf[start : match.start()])
                start = match.end()
                self._scan_from = start
                first, headers = self._parse_head(head)
                length = self._content_length(headers)
                if length == 0:
                    out.append((first, headers, b""))
                    continue
                self._pending = (first, headers, length)
            first, headers, length = self._pending
            if len(buf) - start < length:
                break
            out.append((first, headers, bytes(buf[start : start + length])))
            start += length
            self._scan_from = start
            self._pending = None
        if start:
            del buf[:start]
            self._scan_from = max(0, self._scan_from - start)
        return out

    def _parse_head(self, head: bytes) -> tuple[str | None, tuple[Header, ...]]:
        lines = head.decode(_ENCODING, errors=_ERRORS).split("\n")
        lines = [line.removesuffix("\r") for line in lines]
        first: str | None = None
        if self._first_line_is_command:
            first, lines = lines[0], lines[1:]
        headers = []
        for line in lines:
            name, sep, value = line.partition(":")
            if not sep or not name.strip():
                raise ProtocolError(f"malformed ESL header line: {line[:200]!r}")
            headers.append((name.strip(), value.removeprefix(" ")))
        return first, tuple(headers)

    @staticmethod
    def _content_length(headers: tuple[Header, ...]) -> int:
        values = _lookup(headers, "Content-Length")
        if not values:
            return 0
        raw = values[0].strip()
        if not raw.isdigit():
            raise ProtocolError(f"invalid Content-Length {raw!r}")
        length = int(raw)
        if length > MAX_BODY_BYTES:
            raise ProtocolError(f"Content-Length {length} exceeds {MAX_BODY_BYTES}")
        return length


class FrameParser:
    """Incremental parser for what the switch sends. Feed it any chunks, in order.

    >>> p = FrameParser()
    >>> p.feed(b"Content-Type: auth/") + p.feed(b"request\\n\\n")
    [Frame(headers=(('Content-Type', 'auth/request'),), body=b'')]
    """

    def __init__(self) -> None:
        self._blocks = _BlockParser(first_line_is_command=False)

    @property
    def buffered(self) -> int:
        """Bytes held back because they do not complete a frame yet."""
        return self._blocks.buffered

    def feed(self, data: bytes) -> list[Frame]:
        """Add ``data``; return every frame it completed (possibly none, possibly many)."""
        return [Frame(headers, body) for _, headers, body in self._blocks._blocks(data)]


class CommandParser:
    """Incremental parser for what a client sends (used by the test server / simulator)."""

    def __init__(self) -> None:
        self._blocks = _BlockParser(first_line_is_command=True)

    @property
    def buffered(self) -> int:
        return self._blocks.buffered

    def feed(self, data: bytes) -> list[Command]:
        return [
            Command((first or "").strip(), headers, body)
            for first, headers, body in self._blocks._blocks(data)
        ]


def split_frames(data: bytes) -> list[Frame]:
    """Split a complete byte stream into frames; raise if bytes are left over."""
    parser = FrameParser()
    frames = parser.feed(data)
    if parser.buffered:
        raise ProtocolError(f"{parser.buffered} bytes left over after the last complete frame")
    return frames
