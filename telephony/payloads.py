"""The JSON the desktop receives (see docs/telephony-contract.md), built from data in hand.

Nothing here queries the database by itself when given a call loaded with
``select_related("hotline__station", "hotline__product", "customer")``; the only lookup is
the recipient's ``crm.view_full_phone`` permission, cached per user for a short while
(:func:`sees_full_phone`) so a burst of pops does not re-read permissions every time.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime

from django.urls import NoReverseMatch, reverse

from crm.masking import can_see_full_phone, phone_mask
from crm.phones import phone_display
from telephony.choices import AgentState, AgentStatus, NotReadyReason

#: How long a user's "sees full numbers" answer is reused (seconds). A change on the
#: masking page reaches pops within this time; every page still checks it live.
FULL_PHONE_TTL = 30.0

_full_phone_cache: dict[int, tuple[float, bool]] = {}
_cache_lock = threading.Lock()


def sees_full_phone(user) -> bool:
    """``crm.view_full_phone`` for ``user``, cached for :data:`FULL_PHONE_TTL` seconds."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    now = time.monotonic()
    with _cache_lock:
        hit = _full_phone_cache.get(user.pk)
    if hit is not None and hit[0] > now:
        return hit[1]
    answer = can_see_full_phone(user)
    with _cache_lock:
        _full_phone_cache[user.pk] = (now + FULL_PHONE_TTL, answer)
    return answer


def sees_full_phone_cached(user) -> bool | None:
    """:func:`sees_full_phone` if the answer is cached, else ``None`` (never queries: the
    bridge builds pops on its event loop when it can)."""
    if user is None:
        return False
    with _cache_lock:
        hit = _full_phone_cache.get(user.pk)
    if hit is not None and hit[0] > time.monotonic():
        return hit[1]
    return None


def forget_full_phone_cache() -> None:
    with _cache_lock:
        _full_phone_cache.clear()


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _caller_display(number: str, full: bool) -> str:
    if not number:
        return ""
    if not number.startswith("+"):
        # Not a number we could normalise (anonymous, an extension): nothing to mask by
        # prefix, so keep the last four only.
        return number if full else phone_mask(number)
    return phone_display(number) if full else phone_mask(number)


def pop_url(call_uuid: str) -> str | None:
    """The pop's page, by the call's uuid: the bridge pushes a pop before the call's record
    is written (the page waits briefly for it)."""
    try:
        return reverse("telephony:call_pop_uuid", args=[call_uuid])
    except NoReverseMatch:  # the desktop's views are not installed (yet)
        return None


def customer_payload(customer) -> dict | None:
    if customer is None:
        return None
    return {
        "id": customer.pk,
        "name": customer.name,
        "salutation": customer.salutation,
        "level": customer.level,
        "level_display": str(customer.get_level_display()),
        "points": customer.points_balance,
    }


def hotline_payload(hotline) -> dict | None:
    if hotline is None:
        return None
    return {
        "number": hotline.number,
        "station": hotline.station.name if hotline.station_id else None,
        "product": hotline.product.name if hotline.product_id else None,
    }


def call_payload(call, *, user, full_phone: bool | None = None) -> dict:
    """CALL of the contract for ``user`` (the caller's number masked unless ``user`` holds
    ``crm.view_full_phone``; pass ``full_phone`` to skip the permission check).

    ``id`` is ``None`` in a pop the bridge pushed before the call's record was written; the
    uuid identifies the call everywhere (``pop_url`` is keyed by it)."""
    full = sees_full_phone(user) if full_phone is None else full_phone
    number = call.caller if call.direction == "inbound" else (call.callee or call.caller)
    return {
        "id": call.pk,
        "uuid": call.uuid,
        "direction": call.direction,
        "caller_display": _caller_display(number, full),
        "dialled": call.dialled,
        "queue": call.queue,
        "hotline": hotline_payload(call.hotline) if call.hotline_id else None,
        "customer": customer_payload(call.customer) if call.customer_id else None,
        "offered_at": _iso(call.offered_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "outcome": call.outcome,
        "hangup_cause": call.hangup_cause,
        "pop_url": pop_url(call.uuid),
    }


def call_summary(call) -> dict:
    """The compact view for ``supervisors`` and ``wallboard``: no caller number, no
    customer card."""
    return {
        "id": call.pk,
        "uuid": call.uuid,
        "direction": call.direction,
        "queue": call.queue,
        "hotline": call.hotline.number if call.hotline_id else None,
        "station_id": call.station_id,
        "agent_id": call.agent_id,
        "seat_id": call.seat_id,
        "created_at": _iso(call.created_at),
        "queued_at": _iso(call.queued_at),
        "offered_at": _iso(call.offered_at),
        "answered_at": _iso(call.answered_at),
        "ended_at": _iso(call.ended_at),
        "wait_seconds": call.wait_seconds,
        "talk_seconds": call.talk_seconds,
        "outcome": call.outcome,
    }


def _label(choices, value: str) -> str:
    try:
        return str(choices(value).label)
    except ValueError:
        return value


def agent_status_payload(seat) -> dict:
    """``agent.status`` of the contract for a seat (``None``: the user holds no seat)."""
    if seat is None:
        return {
            "type": "agent.status",
            "seat": None,
            "status": AgentStatus.LOGGED_OUT.value,
            "state": AgentState.IDLE.value,
            "reason": "",
            "status_display": _label(AgentStatus, AgentStatus.LOGGED_OUT),
            "state_display": _label(AgentState, AgentState.IDLE),
        }
    return {
        "type": "agent.status",
        "seat": {"extension": seat.extension, "cc_agent": seat.cc_agent},
        "status": seat.status,
        "state": seat.state,
        "reason": seat.reason,
        "status_display": _label(AgentStatus, seat.status),
        "state_display": _label(AgentState, seat.state),
        "reason_display": _label(NotReadyReason, seat.reason) if seat.reason else "",
    }


def seat_summary(seat, *, user_id: int | None) -> dict:
    return {
        "seat_id": seat.pk,
        "extension": seat.extension,
        "cc_agent": seat.cc_agent,
        "user_id": user_id,
        "status": seat.status,
        "state": seat.state,
        "reason": seat.reason,
        "status_at": _iso(seat.status_at),
        "state_at": _iso(seat.state_at),
    }
