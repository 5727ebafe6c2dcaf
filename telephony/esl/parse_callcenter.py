"""Parsers for the ``api`` replies the bridge uses to resynchronise. Pure functions.

* ``callcenter_config agent list`` / ``tier list`` / ``queue list`` /
  ``queue list members <queue>``: pipe-separated text, a header row first, one row per
  item, and a last line ``+OK``. Values are not escaped, so a ``|`` inside a free-text
  column (a caller's name, a contact dial string) would split it; such rows are repaired by
  joining the surplus fields back into that one free-text column.
* ``show channels as json`` (and ``show calls as json``): ``{"row_count":3,"rows":[…]}``,
  or ``{"row_count": 0}`` — with a space and without ``rows`` — when idle.

Every value stays a string, as the switch sent it; typed views convert the few numbers the
bridge needs (epochs are seconds, ``0`` meaning "never").
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from telephony.esl.errors import ProtocolError

OK_TRAILER = "+OK"


def parse_pipe_table(text: str, *, free_column: str | None = None) -> list[dict[str, str]]:
    """Rows of a pipe-separated ``callcenter_config … list`` reply, as dicts keyed by header.

    ``free_column`` names the column that may itself contain ``|``; a row with too many
    fields has its surplus joined back into that column. Any other mismatch, a missing
    ``+OK`` trailer or an ``-ERR`` reply raises :class:`ProtocolError`.
    """
    lines = [line.rstrip("\r") for line in text.strip("\n").split("\n")]
    if not lines or not lines[0]:
        raise ProtocolError("empty callcenter_config reply")
    if lines[0].startswith("-"):
        raise ProtocolError(f"callcenter_config error reply: {lines[0]}")
    if lines[-1].strip() != OK_TRAILER:
        raise ProtocolError(f"callcenter_config reply does not end in +OK: {lines[-1][:200]!r}")
    columns = lines[0].split("|")
    free_index = columns.index(free_column) if free_column in columns else None
    rows = []
    for line in lines[1:-1]:
        if not line:
            continue
        fields = line.split("|")
        surplus = len(fields) - len(columns)
        if surplus > 0 and free_index is not None:
            joined = "|".join(fields[free_index : free_index + surplus + 1])
            fields = [*fields[:free_index], joined, *fields[free_index + surplus + 1 :]]
        if len(fields) != len(columns):
            raise ProtocolError(
                f"callcenter_config row has {len(fields)} fields, expected {len(columns)}: "
                f"{line[:200]!r}"
            )
        rows.append(dict(zip(columns, fields, strict=True)))
    return rows


def _epoch(value: str) -> int | None:
    """Epoch seconds, ``None`` for ``0``/empty ("never happened")."""
    try:
        number = int(value)
    except ValueError:
        return None
    return number or None


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0


@dataclass(frozen=True, slots=True)
class CallcenterAgent:
    """One row of ``callcenter_config agent list``."""

    name: str  # "1001@default" (the domain suffix is part of the name)
    status: str  # "Available", "On Break", "Logged Out", "Available (On Demand)"
    state: str  # "Waiting", "Receiving", "In a queue call", "Idle", …
    contact: str
    uuid: str  # the agent leg while on a call, else ""
    type: str
    max_no_answer: int
    wrap_up_time: int
    last_bridge_start: int | None
    last_bridge_end: int | None
    last_offered_call: int | None
    last_status_change: int | None
    no_answer_count: int
    calls_answered: int
    talk_time: int
    raw: dict[str, str]


@dataclass(frozen=True, slots=True)
class CallcenterMember:
    """One row of ``callcenter_config queue list members <queue>``."""

    queue: str
    uuid: str  # member uuid (CC-Member-UUID)
    session_uuid: str  # the caller's channel (Unique-ID)
    cid_number: str
    cid_name: str
    state: str  # "Waiting", "Trying", "Answered", "Abandoned"
    serving_agent: str
    joined_epoch: int | None
    bridge_epoch: int | None
    abandoned_epoch: int | None
    raw: dict[str, str]


@dataclass(frozen=True, slots=True)
class CallcenterTier:
    """One row of ``callcenter_config tier list``."""

    queue: str
    agent: str
    state: str
    level: int
    position: int


def parse_agent_list(text: str) -> list[CallcenterAgent]:
    """Typed rows of ``callcenter_config agent list``."""
    return [
        CallcenterAgent(
            name=row["name"],
            status=row["status"],
            state=row["state"],
            contact=row["contact"],
            uuid=row.get("uuid", ""),
            type=row.get("type", ""),
            max_no_answer=_int(row.get("max_no_answer", "")),
            wrap_up_time=_int(row.get("wrap_up_time", "")),
            last_bridge_start=_epoch(row.get("last_bridge_start", "")),
            last_bridge_end=_epoch(row.get("last_bridge_end", "")),
            last_offered_call=_epoch(row.get("last_offered_call", "")),
            last_status_change=_epoch(row.get("last_status_change", "")),
            no_answer_count=_int(row.get("no_answer_count", "")),
            calls_answered=_int(row.get("calls_answered", "")),
            talk_time=_int(row.get("talk_time", "")),
            raw=row,
        )
        for row in parse_pipe_table(text, free_column="contact")
    ]


def parse_member_list(text: str) -> list[CallcenterMember]:
    """Typed rows of ``callcenter_config queue list members <queue>``."""
    return [
        CallcenterMember(
            queue=row["queue"],
            uuid=row["uuid"],
            session_uuid=row["session_uuid"],
            cid_number=row["cid_number"],
            cid_name=row["cid_name"],
            state=row["state"],
            serving_agent=row.get("serving_agent", ""),
            joined_epoch=_epoch(row.get("joined_epoch", "")),
            bridge_epoch=_epoch(row.get("bridge_epoch", "")),
            abandoned_epoch=_epoch(row.get("abandoned_epoch", "")),
            raw=row,
        )
        for row in parse_pipe_table(text, free_column="cid_name")
    ]


def parse_tier_list(text: str) -> list[CallcenterTier]:
    """Typed rows of ``callcenter_config tier list``."""
    return [
        CallcenterTier(
            queue=row["queue"],
            agent=row["agent"],
            state=row["state"],
            level=_int(row["level"]),
            position=_int(row["position"]),
        )
        for row in parse_pipe_table(text)
    ]


def parse_queue_list(text: str) -> list[dict[str, str]]:
    """Rows of ``callcenter_config queue list`` (many settings; kept as strings)."""
    return parse_pipe_table(text, free_column="record_template")


def parse_show_json(text: str) -> list[dict[str, str]]:
    """Rows of ``show channels as json`` / ``show calls as json``.

    ``{"row_count": 0}`` (no ``rows`` key) gives ``[]``. A ``row_count`` that disagrees with
    the rows, or anything that is not such an object, raises :class:`ProtocolError`.
    """
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ProtocolError(f"show … as json reply is not json: {text[:200]!r}") from exc
    if not isinstance(data, dict) or "row_count" not in data:
        raise ProtocolError(f"show … as json reply has no row_count: {text[:200]!r}")
    rows = data.get("rows") or []
    if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
        raise ProtocolError("show … as json: rows is not a list of objects")
    if int(data["row_count"]) != len(rows):
        raise ProtocolError(f"show … as json: row_count {data['row_count']} but {len(rows)} rows")
    return [
        {key: "" if value is None else str(value) for key, value in row.items()} for row in rows
    ]
