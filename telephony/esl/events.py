"""ESL event bodies → :class:`Event`, and back. Pure functions, no I/O.

An event frame (``Content-Type: text/event-plain`` or ``text/event-json``) carries the event
in its body. Facts from ``../shared/esl-captures`` this module is built on:

* **plain**: one ``Name: value`` line per header, values URL-encoded
  (``sofia/external/13800138000%40127.0.0.1``, ``callcenter%3A%3Ainfo``, ``On%20Break``),
  then an empty line. An event with a body of its own (``BACKGROUND_JOB``: the job output)
  ends its headers with an inner ``Content-Length: N``, an empty line and N bytes.
* **json**: one object; every value is a string, except multi-valued channel variables,
  which are lists (plain writes those as ``ARRAY::a|:b``). The event body is ``"_body"``.
* Both encodings repeat some headers (``Hangup-Cause`` twice in ``CHANNEL_HANGUP_COMPLETE``,
  the codec headers in ``CODEC``), so headers are an ordered tuple of pairs: nothing is
  lost, :meth:`Event.get` returns the first value and :meth:`Event.get_all` every one.

Both parsers produce the same :class:`Event` for the same switch event: json lists are
normalised to the plain ``ARRAY::`` string, so consumers never care which format the
connection uses (the tests compare every plain/json capture pair header by header).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote

from telephony.esl.errors import ProtocolError
from telephony.esl.frames import EVENT_JSON, EVENT_PLAIN, Frame, Header

PLAIN = "plain"
JSON = "json"
ARRAY_PREFIX = "ARRAY::"
ARRAY_SEPARATOR = "|:"
JSON_BODY_KEY = "_body"

# FreeSWITCH's switch_url_encode(): these, control characters and non-ASCII bytes are
# written as %XX (upper-case hex); everything else is written as is. Checked against the
# captures (":" "@" " " "=" "{" "|" encoded; "/" "," "(" ")" "$" "~" not).
_URL_UNSAFE = frozenset(b'\r\n "#%&+:;<=>?@[\\]^`{|}')


def url_encode(value: str) -> str:
    """Encode a header value the way FreeSWITCH does for plain events."""
    out = []
    for byte in value.encode("utf-8"):
        if byte < 0x20 or byte > 0x7E or byte in _URL_UNSAFE:
            out.append(f"%{byte:02X}")
        else:
            out.append(chr(byte))
    return "".join(out)


def url_decode(value: str) -> str:
    """Decode a plain-event header value. ``+`` stays ``+`` (``+OK`` is not ``" OK"``)."""
    return unquote(value, encoding="utf-8", errors="replace")


@dataclass(frozen=True, slots=True)
class Event:
    """One switch event, decoded, with its headers in order and duplicates kept.

    ``body`` is the event's own body (the job output of ``BACKGROUND_JOB``), or ``None``.
    ``format`` says which encoding it came in (``"plain"`` or ``"json"``); nothing else
    about the event depends on it.
    """

    headers: tuple[Header, ...]
    body: str | None = None
    format: str = PLAIN

    # -- generic access -------------------------------------------------------------------

    def get(self, name: str, default: str | None = None) -> str | None:
        """The first value of header ``name`` (exact name first, then case-insensitive)."""
        for key, value in self.headers:
            if key == name:
                return value
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        """Every value of header ``name``, in order (``Hangup-Cause`` has two)."""
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]

    def get_array(self, name: str) -> list[str]:
        """A multi-valued header as a list: ``ARRAY::a|:b`` → ``["a", "b"]``.

        A single (non-array) value gives a one-element list, a missing header ``[]``.
        """
        value = self.get(name)
        if value is None:
            return []
        return split_array(value)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[Header]:
        return iter(self.headers)

    # -- typed accessors for the headers the bridge uses ----------------------------------

    @property
    def name(self) -> str:
        """``Event-Name`` (``CHANNEL_ANSWER``, ``CUSTOM``, ``BACKGROUND_JOB`` …)."""
        return self.get("Event-Name", "") or ""

    @property
    def subclass(self) -> str | None:
        """``Event-Subclass`` of ``CUSTOM`` events (``callcenter::info``)."""
        return self.get("Event-Subclass")

    @property
    def uuid(self) -> str | None:
        """``Unique-ID``: the channel this event is about, if any."""
        return self.get("Unique-ID")

    @property
    def job_uuid(self) -> str | None:
        """``Job-UUID`` of a ``BACKGROUND_JOB``."""
        return self.get("Job-UUID")

    @property
    def core_uuid(self) -> str | None:
        """``Core-UUID``: changes when the switch restarts (a resync trigger)."""
        return self.get("Core-UUID")

    @property
    def sequence(self) -> int | None:
        """``Event-Sequence``, the switch's event counter, or ``None``."""
        return _int_or_none(self.get("Event-Sequence"))

    @property
    def timestamp_us(self) -> int | None:
        """``Event-Date-Timestamp``: microseconds since the epoch, or ``None``."""
        return _int_or_none(self.get("Event-Date-Timestamp"))

    @property
    def variables(self) -> dict[str, str]:
        """Channel variables (``variable_cc_queue`` → ``{"cc_queue": …}``); first value wins."""
        out: dict[str, str] = {}
        for key, value in self.headers:
            if key.startswith("variable_"):
                out.setdefault(key[len("variable_") :], value)
        return out

    def variable(self, name: str, default: str | None = None) -> str | None:
        """One channel variable: ``event.variable("cc_queue")``."""
        return self.get(f"variable_{name}", default)


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def split_array(value: str) -> list[str]:
    """``ARRAY::a|:b`` → ``["a", "b"]``; a plain value → ``[value]``."""
    if value.startswith(ARRAY_PREFIX):
        return value[len(ARRAY_PREFIX) :].split(ARRAY_SEPARATOR)
    return [value]


def join_array(items: Iterable[str]) -> str:
    """``["a", "b"]`` → ``ARRAY::a|:b`` (how FreeSWITCH writes arrays in plain events)."""
    return ARRAY_PREFIX + ARRAY_SEPARATOR.join(items)


# -- parsing ---------------------------------------------------------------------------------


def parse_plain_event(body: bytes) -> Event:
    """Parse the body of a ``text/event-plain`` frame.

    Values are URL-decoded; names are kept as sent. An inner ``Content-Length`` header (kept
    among the headers, as json keeps its ``Content-Length`` key) gives the event's own body.
    """
    head, sep, rest = body.partition(b"\n\n")
    if not sep and head.endswith(b"\n"):
        head = head[:-1]
    headers: list[Header] = []
    inner_length: int | None = None
    for raw_line in head.decode("utf-8", errors="replace").split("\n"):
        line = raw_line.removesuffix("\r")
        if not line:
            continue
        name, colon, value = line.partition(":")
        if not colon or not name:
            raise ProtocolError(f"malformed plain event header: {line[:200]!r}")
        decoded = url_decode(value.removeprefix(" "))
        headers.append((name, decoded))
        if name == "Content-Length" and inner_length is None:
            if not decoded.strip().isdigit():
                raise ProtocolError(f"invalid inner Content-Length {decoded!r}")
            inner_length = int(decoded)
    event_body: str | None = None
    if inner_length is not None:
        if len(rest) < inner_length:
            raise ProtocolError(
                f"plain event body shorter ({len(rest)}) than its Content-Length ({inner_length})"
            )
        event_body = rest[:inner_length].decode("utf-8", errors="replace")
    return Event(tuple(headers), event_body, PLAIN)


def _keep_pairs(pairs: list[tuple[str, object]]) -> list[tuple[str, object]]:
    return pairs


def _json_value(key: str, value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return join_array(_json_value(key, item) for item in value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise ProtocolError(f"unexpected json value for {key!r}: {value!r}"[:300])


def parse_json_event(body: bytes) -> Event:
    """Parse the body of a ``text/event-json`` frame, keeping duplicate keys in order."""
    try:
        pairs = json.loads(body.decode("utf-8", errors="replace"), object_pairs_hook=_keep_pairs)
    except ValueError as exc:
        raise ProtocolError(f"invalid json event: {exc}") from exc
    if not isinstance(pairs, list):
        raise ProtocolError("json event is not an object")
    headers: list[Header] = []
    event_body: str | None = None
    for key, value in pairs:
        if key == JSON_BODY_KEY:
            event_body = _json_value(key, value)
        else:
            headers.append((key, _json_value(key, value)))
    return Event(tuple(headers), event_body, JSON)


def parse_event(frame: Frame) -> Event:
    """The :class:`Event` carried by an event frame (plain or json).

    Raises :class:`ProtocolError` for other frames (``text/event-xml`` is not supported:
    the client never subscribes to it).
    """
    if frame.content_type == EVENT_PLAIN:
        return parse_plain_event(frame.body)
    if frame.content_type == EVENT_JSON:
        return parse_json_event(frame.body)
    raise ProtocolError(f"not a plain or json event frame: {frame.content_type!r}")


# -- serialisation (used by the test server and the simulator) -------------------------------


def encode_plain_event(headers: Iterable[Header], body: str | None = None) -> bytes:
    """The body of a ``text/event-plain`` frame, byte for byte as FreeSWITCH writes it.

    Any ``Content-Length`` in ``headers`` is dropped and, if ``body`` is given, written
    again last with the right value, as the switch does.
    """
    lines = [
        f"{name}: {url_encode(value)}\n" for name, value in headers if name != "Content-Length"
    ]
    text = "".join(lines).encode("utf-8")
    if body is None:
        return text + b"\n"
    raw = body.encode("utf-8")
    return text + f"Content-Length: {len(raw)}\n\n".encode() + raw


def encode_json_event(headers: Iterable[Header], body: str | None = None) -> bytes:
    """The body of a ``text/event-json`` frame as FreeSWITCH writes it (duplicate keys kept,
    ``ARRAY::`` values as lists, ``Content-Length`` and ``_body`` last when there is a body).
    """

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    parts = []
    for name, value in headers:
        if name == "Content-Length":
            continue
        item: object = split_array(value) if value.startswith(ARRAY_PREFIX) else value
        parts.append(f"{dump(name)}:{dump(item)}")
    if body is not None:
        parts.append(f'"Content-Length":{dump(str(len(body.encode("utf-8"))))}')
        parts.append(f"{dump(JSON_BODY_KEY)}:{dump(body)}")
    return ("{" + ",".join(parts) + "}").encode("utf-8")


def event_frame(headers: Iterable[Header], body: str | None = None, fmt: str = PLAIN) -> Frame:
    """A complete event frame (``Content-Length`` first, as the switch writes it)."""
    if fmt == PLAIN:
        return Frame.build(EVENT_PLAIN, encode_plain_event(headers, body), length_first=True)
    if fmt == JSON:
        return Frame.build(EVENT_JSON, encode_json_event(headers, body), length_first=True)
    raise ValueError(f"unsupported event format {fmt!r}")
