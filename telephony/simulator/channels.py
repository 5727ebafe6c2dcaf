"""Simulated channels: identity, caller profile, variables, timing, and how they appear in
event headers, ``show channels`` rows and billing variables."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass, field

# Channel kinds = which captured leg the events are modelled on (see capture_templates.py).
SOFIA_IN = "sofia_in"
AGENT = "agent"
AGENT_ORIG = "agent_orig"
LOOP_A = "loop_a"
LOOP_B = "loop_b"
CUST_A = "cust_a"
CUST_B = "cust_b"

TEMPLATE_FALLBACK = {
    SOFIA_IN: (SOFIA_IN, LOOP_B),
    AGENT: (AGENT, AGENT_ORIG, LOOP_A),
    AGENT_ORIG: (AGENT_ORIG, AGENT, LOOP_A),
    LOOP_A: (LOOP_A, CUST_A),
    LOOP_B: (LOOP_B, SOFIA_IN, CUST_B),
    CUST_A: (CUST_A, LOOP_A),
    CUST_B: (CUST_B, LOOP_B, SOFIA_IN),
}


def us(epoch: float) -> str:
    return str(int(epoch * 1_000_000)) if epoch else "0"


def local_stamp(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch).astimezone().strftime("%Y-%m-%d %H:%M:%S")


@dataclass(eq=False)
class Channel:
    uuid: str
    name: str
    kind: str
    direction: str  # inbound | outbound
    cid_name: str
    cid_number: str
    dest: str
    context: str
    created: float
    source: str = "mod_sofia"
    username: str = ""
    network_addr: str = ""
    ani: str = ""
    logical_direction: str = ""
    dialplan: str = "XML"
    vars: dict[str, str] = field(default_factory=dict)
    answered: float = 0.0
    progress: float = 0.0
    progress_media: float = 0.0
    bridged_at: float = 0.0
    hangup_at: float = 0.0
    transfer_at: float = 0.0
    last_hold: float = 0.0  # when the current (or last) hold began
    hold_accum: float = 0.0  # seconds on hold so far (closed holds)
    held: bool = False
    profile_created: float = 0.0
    profile_index: int = 1
    callee_name: str | None = None
    callee_number: str | None = None
    rdnis: str | None = None
    peer: Channel | None = None  # bridged to, right now
    other: Channel | None = None  # Other-Leg-* in events (sticky, like the caller profile)
    other_type: str = "originatee"
    loop_partner: Channel | None = None
    hangup_cause: str | None = None
    state: str = "CS_INIT"
    callstate: str = "RINGING"
    application: str = ""
    application_data: str = ""
    # simulator bookkeeping (not channel variables)
    agent: object | None = None  # the Agent whose phone this is
    member: object | None = None  # the queue Member this channel is
    task: asyncio.Task | None = None  # its dialplan / application
    hungup_event: asyncio.Event = field(default_factory=asyncio.Event)
    answered_event: asyncio.Event = field(default_factory=asyncio.Event)
    transferring: bool = False
    local_hangup: bool = False  # we hung up (sip_hangup_disposition send_bye)
    behaviour: dict[str, float] = field(default_factory=dict)
    orig_cid_name: str = ""
    orig_cid_number: str = ""
    initial_dest: str = ""
    initial_context: str = ""

    def __post_init__(self) -> None:
        self.orig_cid_name = self.orig_cid_name or self.cid_name
        self.orig_cid_number = self.orig_cid_number or self.cid_number
        self.initial_dest = self.initial_dest or self.dest
        self.initial_context = self.initial_context or self.context
        self.profile_created = self.profile_created or self.created
        self.logical_direction = self.logical_direction or self.direction
        self.ani = self.ani or self.cid_number

    @property
    def is_up(self) -> bool:
        return self.hangup_cause is None

    def set(self, **values: object) -> None:
        for key, value in values.items():
            self.vars[key] = str(value)

    # -- event headers --------------------------------------------------------------------

    def _profile(self, prefix: str) -> dict[str, str | None]:
        # FreeSWITCH leaves empty caller-profile fields out of events.
        return {k: (v or None) for k, v in self._raw_profile(prefix).items()}

    def _raw_profile(self, prefix: str) -> dict[str, str | None]:
        p = prefix
        return {
            f"{p}-Direction": self.direction,
            f"{p}-Logical-Direction": self.logical_direction,
            f"{p}-Username": self.username or None,
            f"{p}-Dialplan": self.dialplan or None,
            f"{p}-Caller-ID-Name": self.cid_name,
            f"{p}-Caller-ID-Number": self.cid_number,
            f"{p}-Orig-Caller-ID-Name": self.orig_cid_name,
            f"{p}-Orig-Caller-ID-Number": self.orig_cid_number,
            f"{p}-Callee-ID-Name": self.callee_name,
            f"{p}-Callee-ID-Number": self.callee_number,
            f"{p}-Network-Addr": self.network_addr or None,
            f"{p}-ANI": self.ani,
            f"{p}-Destination-Number": self.dest,
            f"{p}-Unique-ID": self.uuid,
            f"{p}-Source": self.source,
            f"{p}-Transfer-Source": self.vars.get("transfer_source"),
            f"{p}-Context": self.context,
            f"{p}-RDNIS": self.rdnis,
            f"{p}-Channel-Name": self.name,
            f"{p}-Profile-Index": str(self.profile_index),
            f"{p}-Profile-Created-Time": us(self.profile_created),
            f"{p}-Channel-Created-Time": us(self.created),
            f"{p}-Channel-Answered-Time": us(self.answered),
            f"{p}-Channel-Progress-Time": us(self.progress),
            f"{p}-Channel-Progress-Media-Time": us(self.progress_media),
            f"{p}-Channel-Hangup-Time": us(self.hangup_at),
            f"{p}-Channel-Transfer-Time": us(self.transfer_at),
            f"{p}-Channel-Bridged-Time": us(self.bridged_at),
            f"{p}-Channel-Last-Hold": us(self.last_hold),
            f"{p}-Channel-Hold-Accum": str(int(self.hold_accum * 1_000_000)),
        }

    def header_values(self) -> dict[str, str | None]:
        values = self._profile("Caller")
        values.update(
            {
                "Channel-Name": self.name,
                "Unique-ID": self.uuid,
                "Call-Direction": self.direction,
                "Presence-Call-Direction": self.direction,
                "Channel-Call-UUID": self.vars.get("call_uuid", self.uuid),
                "Channel-Presence-ID": self.vars.get("presence_id"),
                "Hangup-Cause": self.hangup_cause,
            }
        )
        return values

    def other_values(self) -> dict[str, str | None] | None:
        if self.other is None:
            return None
        values = self.other._profile("Other-Leg")
        values["Other-Type"] = self.other_type
        return values

    def time_var(self, name: str) -> str | None:
        """Billing variables of CHANNEL_HANGUP_COMPLETE, computed like switch_channel.c."""
        return _billing(self).get(name)

    # -- show channels --------------------------------------------------------------------

    def show_row(self, hostname: str) -> dict[str, str]:
        codec, rate, bits = (
            ("PCMU", "8000", "64000") if self.kind == SOFIA_IN else ("L16", "8000", "128000")
        )
        return {
            "uuid": self.uuid,
            "direction": self.direction,
            "created": local_stamp(self.created),
            "created_epoch": str(int(self.created)),
            "name": self.name,
            "state": self.state,
            "cid_name": self.cid_name,
            "cid_num": self.cid_number,
            "ip_addr": self.network_addr,
            "dest": self.dest,
            "application": self.application,
            "application_data": self.application_data,
            "dialplan": self.dialplan,
            "context": self.context,
            "read_codec": codec,
            "read_rate": rate,
            "read_bit_rate": bits,
            "write_codec": codec,
            "write_rate": rate,
            "write_bit_rate": bits,
            "secure": "",
            "hostname": hostname,
            "presence_id": self.vars.get("presence_id", ""),
            "presence_data": "",
            "accountcode": self.vars.get("accountcode", ""),
            "callstate": self.callstate,
            "callee_name": self.callee_name or "",
            "callee_num": self.callee_number or "",
            "callee_direction": "SEND" if self.peer and self.direction == "inbound" else "",
            "call_uuid": self.vars.get("call_uuid", self.uuid),
            "sent_callee_name": "",
            "sent_callee_num": "",
            "initial_cid_name": self.orig_cid_name,
            "initial_cid_num": self.orig_cid_number,
            "initial_ip_addr": self.network_addr,
            "initial_dest": self.initial_dest,
            "initial_dialplan": self.dialplan,
            "initial_context": self.initial_context,
        }


def _billing(ch: Channel) -> dict[str, str]:
    end = ch.hangup_at
    if not end:
        return {}
    out: dict[str, str] = {}
    marks = {
        "start": ch.created,
        "profile_start": ch.profile_created,
        "answer": ch.answered,
        "bridge": ch.bridged_at,
        "progress": ch.progress,
        "progress_media": ch.progress_media,
        "end": end,
        "last_hold": ch.last_hold,
        "resurrect": 0.0,
    }
    for key, value in marks.items():
        if value and key not in ("last_hold", "resurrect"):
            out[f"{key}_stamp"] = local_stamp(value)
        out[f"{key}_epoch"] = str(int(value)) if value else "0"
        out[f"{key}_uepoch"] = us(value)
    held = ch.hold_accum + (end - ch.last_hold if ch.held and ch.last_hold else 0.0)
    out.update(
        hold_accum_seconds=str(int(held)),
        hold_accum_usec=str(int(held * 1_000_000)),
        hold_accum_ms=str(int(held * 1000)),
    )

    def spans(prefix: str, seconds: float) -> None:
        seconds = max(0.0, seconds)
        out[f"{prefix}sec"] = str(int(seconds))
        out[f"{prefix}msec"] = str(int(seconds * 1000))
        out[f"{prefix}usec"] = str(int(seconds * 1_000_000))

    duration = end - ch.created
    bill = end - ch.answered if ch.answered else 0.0
    out["duration"] = str(int(duration))
    out["mduration"] = str(int(duration * 1000))
    out["uduration"] = str(int(duration * 1_000_000))
    spans("bill", bill)
    spans("flow_bill", bill)
    spans("progress", ch.progress - ch.created if ch.progress else 0.0)
    spans("answer", ch.answered - ch.created if ch.answered else 0.0)
    spans("wait", (ch.answered or end) - ch.created)
    spans("progress_media", ch.progress_media - ch.created if ch.progress_media else 0.0)
    return out
