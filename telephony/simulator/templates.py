"""Events built from templates captured on a real FreeSWITCH (see ``capture_templates.py``).

A template is one captured event: header names in the switch's order with the captured
values. :func:`fill` keeps the names and order and replaces the values with those of the
simulated call:

* the common prefix (``Core-UUID``, dates, ``Event-Sequence`` …) from the simulator;
* channel headers (``Channel-Name``, ``Unique-ID``, ``Caller-*``, ``Other-Leg-*``,
  ``Hangup-Cause`` …) from the simulated channel — an ``Other-Leg-*`` block is left out when
  the channel has no other leg, ``Caller-Callee-*`` / ``Caller-RDNIS`` /
  ``Caller-Transfer-Source`` / ``Hangup-Cause`` when the channel has no such value;
* ``variable_*`` headers: the channel's own variables first; variables that only make sense
  for the captured call (``cc_*``, ``bridge_*``, ``tvshop_*``, ``transfer_*`` …, see
  :data:`SEMANTIC_PREFIXES`) are left out unless the simulated channel set them; timing
  variables are computed; everything else (codec and SIP details the simulator does not
  model) keeps the captured value with the call's identity substituted (uuids, numbers,
  channel name, timestamps). Channel variables the template does not have are appended, as
  the real switch would list them;
* ``CC-*`` headers of ``callcenter::info`` events are given by the caller, in mod_callcenter's
  order.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Protocol

from telephony.esl.frames import Header

TEMPLATES_FILE = Path(__file__).with_name("templates.json")

# Variables that describe what happened to the *captured* call; never copied from a template.
SEMANTIC_PREFIXES = (
    "cc_",
    "bridge_",
    "last_bridge",
    "signal_bond",
    "tvshop_",
    "transfer_",
    "original_destination",
    "original_caller",
    "playback_",
    "last_sent_callee",
    "originat",
    "other_loopback",
    "loopback_from",
    "current_application",
    "sip_hangup_disposition",
    "hangup_cause",
    "DP_MATCH",
    "hangup_after_bridge",
    "last_app",
    "last_arg",
    "dialed_",
    "presence_id",
)

_STAMP = re.compile(
    r"(?:^|_)(?:start|profile_start|answer|bridge|progress|progress_media|end)_stamp$"
)
_TS_US = re.compile(r"\b1795\d{12}\b")
_TS_S = re.compile(r"\b1795\d{6}\b")
_DATE_LOCAL = re.compile(r"2026-11-21 \d\d:\d\d:\d\d")
_DATE_GMT = re.compile(r"Sat, 21 Nov 2026 \d\d:\d\d:\d\d( GMT| \+0000)")

COMMON = (
    "Event-Name",
    "Core-UUID",
    "FreeSWITCH-Hostname",
    "FreeSWITCH-Switchname",
    "FreeSWITCH-IPv4",
    "FreeSWITCH-IPv6",
    "Event-Date-Local",
    "Event-Date-GMT",
    "Event-Date-Timestamp",
    "Event-Sequence",
)


@cache
def load(path: Path = TEMPLATES_FILE) -> dict[str, tuple[Header, ...]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    return {key: tuple((n, v) for n, v in headers) for key, headers in data.items()}


class ChannelView(Protocol):
    """What :func:`fill` reads from a simulated channel (see ``switch.Channel``)."""

    uuid: str
    vars: dict[str, str]

    def header_values(self) -> dict[str, str | None]: ...

    def other_values(self) -> dict[str, str | None] | None: ...

    def time_var(self, name: str) -> str | None: ...


def is_semantic(name: str) -> bool:
    return name.startswith(SEMANTIC_PREFIXES)


def _substituter(template: Sequence[Header], ch: ChannelView | None, now: float):
    """A function mapping a captured value to the simulated call's (identity swapped)."""
    pairs: list[tuple[str, str]] = []
    if ch is not None:
        own = ch.header_values()
        other = ch.other_values() or {}
        captured = dict(reversed(template))
        for header, new in (
            ("Unique-ID", own.get("Unique-ID")),
            ("Other-Leg-Unique-ID", other.get("Other-Leg-Unique-ID")),
            ("Channel-Name", own.get("Channel-Name")),
            ("Caller-Caller-ID-Number", own.get("Caller-Caller-ID-Number")),
            ("Caller-Destination-Number", own.get("Caller-Destination-Number")),
            ("Caller-Caller-ID-Name", own.get("Caller-Caller-ID-Name")),
        ):
            old = captured.get(header)
            if old and new is not None and len(old) >= 4 and old != new:
                pairs.append((old, new))
        ext = ch.vars.get("dialed_user")
        if ext:
            pairs += [("agent-1001", f"agent-{ext}"), ("1001@", f"{ext}@")]
        pairs.sort(key=lambda p: -len(p[0]))
    stamp_s = str(int(now))
    stamp_us = str(int(now * 1_000_000))
    when = dt.datetime.fromtimestamp(now, dt.UTC)
    local = when.astimezone().strftime("%Y-%m-%d %H:%M:%S")
    gmt = when.strftime("%a, %d %b %Y %H:%M:%S")

    def substitute(value: str) -> str:
        if not value or value.isalpha():
            return value
        for old, new in pairs:
            if old in value:
                value = value.replace(old, new)
        if "1795" in value:
            value = _TS_US.sub(stamp_us, value)
            value = _TS_S.sub(stamp_s, value)
        if "2026" in value:
            value = _DATE_LOCAL.sub(local, value)
            value = _DATE_GMT.sub(lambda m: gmt + m.group(1), value)
        return value

    return substitute


def fill(
    template: Sequence[Header],
    common: Mapping[str, str],
    ch: ChannelView | None = None,
    cc: Iterable[Header] = (),
    extra: Iterable[Header] = (),
    now: float = 0.0,
) -> list[Header]:
    """The event: ``template``'s header names and order with the simulated values."""
    substitute = _substituter(template, ch, now)
    own = ch.header_values() if ch is not None else {}
    other = ch.other_values() if ch is not None else None
    out: list[Header] = []
    cc_done = vars_done = False
    template_vars = [n[9:] for n, _ in template if n.startswith("variable_")]
    for name, captured in template:
        if name in common:
            out.append((name, common[name]))
        elif name.startswith("CC-"):
            if not cc_done:
                out.extend(cc)
                cc_done = True
        elif name.startswith("variable_"):
            if not vars_done and ch is not None:
                out.extend(_variables(template, template_vars, ch, substitute))
                vars_done = True
        elif name == "Other-Type" or name.startswith("Other-Leg-"):
            if other is not None:
                value = other.get(name, substitute(captured))
                if value is not None:
                    out.append((name, value))
        elif name in own:
            value = own[name]
            if value is not None:
                out.append((name, value))
        else:
            out.append((name, substitute(captured)))
    if not cc_done:
        out.extend(cc)
    out.extend(extra)
    return out


def _variables(
    template: Sequence[Header],
    names: list[str],
    ch: ChannelView,
    substitute: Callable[[str], str],
) -> list[Header]:
    captured = {n[9:]: v for n, v in template if n.startswith("variable_")}
    out: list[Header] = []
    seen: set[str] = set()
    for name in names:
        if name in seen:
            continue
        seen.add(name)
        if name in ch.vars:
            out.append((f"variable_{name}", ch.vars[name]))
            continue
        timed = ch.time_var(name)
        if timed is not None:
            out.append((f"variable_{name}", timed))
        elif not is_semantic(name):
            out.append((f"variable_{name}", substitute(captured[name])))
    for name, value in ch.vars.items():
        if name not in seen:
            out.append((f"variable_{name}", value))
    return out
