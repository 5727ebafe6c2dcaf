"""CDRs for the tests, built from the real switch's variables (no tests here).

:func:`capture_cdr` turns the caller leg's ``CHANNEL_HANGUP_COMPLETE`` of the captures'
scenario B (``json-CHANNEL_HANGUP_COMPLETE.txt``: 13800138000 → hotline 4008001234, queue
``orders``, answered by agent ``1001@default``) into the document mod_json_cdr posts for that
leg: its ``variable_*`` headers become ``variables``, its ``Caller-*`` headers the
``callflow`` caller profile. The outcome variants change only the variables a real switch
sets differently (the abandoned one uses the values of scenario D).
"""

from __future__ import annotations

import base64
import uuid as uuid_module
from datetime import UTC, datetime

from tests.telephony.captures import capture_event

HOTLINE = "4008001234"
CALLER = "13800138000"
USERNAME = "freeswitch"
PASSWORD = "test-cdr-password-123"
#: scenario B's times (seconds since the epoch)
JOINED = 1795301755
ANSWERED = 1795301756
START_US = 1795301755085243
END_US = 1795301764205239

AGENT_VARS = (
    "cc_agent",
    "cc_agent_uuid",
    "cc_agent_bridged",
    "cc_queue_answered_epoch",
    "bridge_uuid",
    "last_bridge_hangup_cause",
    "bridge_hangup_cause",
)


def at(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def capture_cdr(
    *, uuid: str | None = None, caller: str = CALLER, drop=(), **variables: str
) -> dict:
    """The scenario-B caller leg as a JSON CDR (decoded values), with a new ``uuid`` unless
    given, from ``caller``, ``drop`` variables removed and ``variables`` set."""
    event = capture_event("json-CHANNEL_HANGUP_COMPLETE.txt")
    values = dict(event.variables)
    leg = uuid or str(uuid_module.uuid4())
    values.update(uuid=leg, call_uuid=leg, original_caller_id_number=caller)
    for name in drop:
        values.pop(name, None)
    values.update(variables)
    profile = {
        "username": event.get("Caller-Username") or "",
        "dialplan": event.get("Caller-Dialplan") or "XML",
        "caller_id_name": event.get("Caller-Caller-ID-Name") or "",
        "ani": event.get("Caller-ANI") or "",
        "caller_id_number": caller,
        "network_addr": event.get("Caller-Network-Addr") or "",
        "destination_number": event.get("Caller-Destination-Number"),
        "uuid": leg,
        "source": event.get("Caller-Source") or "",
        "context": event.get("Caller-Context") or "",
        "chan_name": event.get("Channel-Name") or "",
    }
    return {
        "core-uuid": event.get("Core-UUID"),
        "switchname": "vm",
        "channel_data": {"state": "CS_REPORTING", "direction": "inbound"},
        "variables": values,
        "app_log": {"applications": []},
        "callflow": [
            {
                "dialplan": "XML",
                "profile_index": event.get("Caller-Profile-Index") or "1",
                "caller_profile": profile,
                "times": {
                    "created_time": event.get("Caller-Channel-Created-Time"),
                    "hangup_time": event.get("Caller-Channel-Hangup-Time"),
                },
            }
        ],
    }


def answered_cdr(**kw) -> dict:
    return capture_cdr(**kw)


def abandoned_cdr(**kw) -> dict:
    """Scenario D: the caller hung up while waiting (no agent available)."""
    kw.setdefault("cc_cause", "cancel")
    kw.setdefault("cc_cancel_reason", "BREAK_OUT")
    kw.setdefault("cc_queue_canceled_epoch", str(JOINED + 40))
    kw.setdefault("end_uepoch", str((JOINED + 40) * 1_000_000))
    kw.setdefault("bridge_uepoch", "0")
    kw.setdefault("bridge_epoch", "0")
    return capture_cdr(drop=(*AGENT_VARS, *kw.pop("drop", ())), **kw)


def overflow_cdr(**kw) -> dict:
    """The overflow branch: answered by the 'computer seat', number captured, hung up."""
    kw.setdefault("tvshop_callback", "true")
    kw.setdefault("tvshop_callback_reason", "overflow_switch")
    kw.setdefault("tvshop_callback_queue", "orders")
    kw.setdefault("bridge_uepoch", "0")
    kw.setdefault("bridge_epoch", "0")
    drop = (*AGENT_VARS, "cc_cause", "cc_side", "cc_member_uuid", "cc_queue_joined_epoch")
    return capture_cdr(drop=(*drop, *kw.pop("drop", ())), **kw)


def rejected_cdr(**kw) -> dict:
    """The blacklist: rejected before answer."""
    kw.setdefault("hangup_cause", "CALL_REJECTED")
    kw.setdefault("tvshop_blacklisted", "true")
    for name in ("answer_uepoch", "answer_epoch", "bridge_uepoch", "bridge_epoch"):
        kw.setdefault(name, "0")
    drop = (*AGENT_VARS, "cc_cause", "cc_side", "cc_member_uuid", "cc_queue_joined_epoch")
    return capture_cdr(drop=(*drop, "cc_queue", *kw.pop("drop", ())), **kw)


def failed_cdr(cause: str = "RECOVERY_ON_TIMER_EXPIRE", **kw) -> dict:
    kw.setdefault("hangup_cause", cause)
    for name in ("answer_uepoch", "answer_epoch", "bridge_uepoch", "bridge_epoch"):
        kw.setdefault(name, "0")
    drop = (*AGENT_VARS, "cc_cause", "cc_side", "cc_member_uuid", "cc_queue_joined_epoch")
    return capture_cdr(drop=(*drop, "cc_queue", *kw.pop("drop", ())), **kw)


def basic(username: str = USERNAME, password: str = PASSWORD) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()
