"""Reads for the supervisor wallboard and the recordings list.

:func:`wallboard_snapshot` is the whole wallboard as JSON-safe data, built with a fixed
number of queries whatever the number of seats, calls or hotlines (the wallboard page
renders it server-side, the socket sends it on connect and as a periodic refresh). Between
snapshots the browser applies the bridge's ``call.update`` / ``seat.update`` summaries
itself (``static/js/wallboard.js``), using the same rules as here:

* a **live call** is ``outcome = in_progress`` and not ended; it holds one trunk channel;
* a caller is **waiting** when queued and not yet answered;
* the **agent state** shown (:func:`seat_view_state`) folds mod_callcenter's status and
  state into the states the call center speaks of: logged out, ready, not ready (with its
  reason), after-call work, ringing, talking.

KPI terms follow ``docs/domain.md``: service level today = calls answered within
``TELEPHONY_SERVICE_LEVEL_SECONDS`` of queueing / answered calls, per hotline, since local
midnight (Asia/Shanghai).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections import defaultdict

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q
from django.db.models.functions import TruncMinute
from django.utils import timezone

from telephony.choices import AgentState, AgentStatus, CallOutcome, NotReadyReason
from telephony.models import Call, Seat, SeatSession
from telephony.payloads import call_summary
from tvshop.media.models import Hotline

logger = logging.getLogger("telephony.supervision")

DEFAULT_TRUNK_CAPACITY = 90
DEFAULT_SERVICE_LEVEL_SECONDS = 20
CHART_MINUTES = 60
OVERFLOW_CACHE_SECONDS = 5
#: After the switch did not answer, do not ask again for this long (each try may take the
#: connect timeout, and every wallboard would wait for it).
OVERFLOW_DOWN_CACHE_SECONDS = 30
OVERFLOW_CACHE_KEY = "telephony:wallboard:overflow"
_OVERFLOW_VAR = re.compile(r"^tvshop_overflow_(?P<queue>[\w.-]+)=(?P<value>.*)$")


def trunk_capacity() -> int:
    return int(getattr(settings, "TELEPHONY_TRUNK_CAPACITY", DEFAULT_TRUNK_CAPACITY))


def service_level_seconds() -> int:
    return int(getattr(settings, "TELEPHONY_SERVICE_LEVEL_SECONDS", DEFAULT_SERVICE_LEVEL_SECONDS))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def today_start(now: dt.datetime | None = None) -> dt.datetime:
    """Local midnight (the site's time zone) as an aware datetime."""
    now = now or timezone.now()
    local = timezone.localtime(now)
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def live_calls():
    """Calls holding a channel now."""
    return Call.objects.filter(outcome=CallOutcome.IN_PROGRESS, ended_at=None)


# --- agent states --------------------------------------------------------------------------

VIEW_LOGGED_OUT = "logged_out"
VIEW_READY = "ready"
VIEW_NOT_READY = "not_ready"
VIEW_ACW = "acw"
VIEW_RINGING = "ringing"
VIEW_TALKING = "talking"


def seat_view_state(*, status: str, state: str, reason: str, on_call: bool = False) -> str:
    """The state a supervisor reads off the grid (same rule as ``wallboard.js``)."""
    if status == AgentStatus.LOGGED_OUT:
        return VIEW_LOGGED_OUT
    if state == AgentState.RECEIVING:
        return VIEW_RINGING
    if state == AgentState.IN_A_QUEUE_CALL or on_call:
        return VIEW_TALKING
    if status == AgentStatus.ON_BREAK:
        return VIEW_ACW if reason == NotReadyReason.AFTER_CALL_WORK else VIEW_NOT_READY
    return VIEW_READY


def _user_name(user) -> str:
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


def _seat_rows(calls_by_seat: dict[int, Call]) -> list[dict]:
    seats = list(Seat.objects.filter(active=True).order_by("extension"))
    sessions = {
        s.seat_id: s
        for s in SeatSession.objects.select_related("user").filter(ended_at=None, seat__active=True)
    }
    rows = []
    for seat in seats:
        session = sessions.get(seat.pk)
        user = session.user if session else None
        call = calls_by_seat.get(seat.pk)
        since = max((t for t in (seat.status_at, seat.state_at) if t is not None), default=None)
        rows.append(
            {
                "seat_id": seat.pk,
                "extension": seat.extension,
                "label": seat.label,
                "user_id": user.pk if user else None,
                "agent_name": _user_name(user),
                "status": seat.status,
                "state": seat.state,
                "reason": seat.reason,
                "status_at": _iso(seat.status_at),
                "state_at": _iso(seat.state_at),
                "since": _iso(since),
                "view": seat_view_state(
                    status=seat.status,
                    state=seat.state,
                    reason=seat.reason,
                    on_call=call is not None and call.answered_at is not None,
                ),
                "call_id": call.pk if call else None,
            }
        )
    return rows


# --- queues per hotline -------------------------------------------------------------------


def _queue_rows(now: dt.datetime, live: list[Call]) -> list[dict]:
    start = today_start(now)
    target = dt.timedelta(seconds=service_level_seconds())
    waited = ExpressionWrapper(F("answered_at") - F("queued_at"), output_field=DurationField())
    today = {
        row["hotline_id"]: row
        for row in Call.objects.filter(created_at__gte=start, hotline__isnull=False)
        .annotate(waited=waited)
        .values("hotline_id")
        .annotate(
            inbound=Count("id", filter=Q(direction="inbound")),
            answered=Count("id", filter=Q(outcome=CallOutcome.ANSWERED)),
            abandoned=Count("id", filter=Q(outcome=CallOutcome.ABANDONED)),
            overflow=Count("id", filter=Q(outcome=CallOutcome.OVERFLOW)),
            answered_in_target=Count(
                "id",
                filter=Q(outcome=CallOutcome.ANSWERED)
                & (Q(waited__lte=target) | Q(queued_at=None)),
            ),
        )
    }
    waiting: dict[int, list[Call]] = defaultdict(list)
    in_use: dict[int, int] = defaultdict(int)
    for call in live:
        if call.hotline_id is None:
            continue
        in_use[call.hotline_id] += 1
        if call.queued_at is not None and call.answered_at is None:
            waiting[call.hotline_id].append(call)
    rows = []
    for hotline in Hotline.objects.select_related("station").filter(
        Q(active=True) | Q(pk__in=list(in_use) + list(today))
    ):
        stats = today.get(hotline.pk, {})
        queued = waiting.get(hotline.pk, [])
        oldest = min((c.queued_at for c in queued), default=None)
        answered = stats.get("answered", 0)
        rows.append(
            {
                "hotline_id": hotline.pk,
                "number": hotline.number,
                "station": hotline.station.name if hotline.station_id else "",
                "station_id": hotline.station_id,
                "queue": hotline.queue_name,
                "waiting": len(queued),
                "oldest_queued_at": _iso(oldest),
                "longest_wait_seconds": int((now - oldest).total_seconds()) if oldest else 0,
                "channels": in_use.get(hotline.pk, 0),
                "capacity": getattr(hotline, "trunk_capacity", None),
                "inbound_today": stats.get("inbound", 0),
                "answered_today": answered,
                "abandoned_today": stats.get("abandoned", 0),
                "overflow_today": stats.get("overflow", 0),
                "service_level_today": (
                    round(stats.get("answered_in_target", 0) / answered, 4) if answered else None
                ),
            }
        )
    rows.sort(key=lambda r: r["number"])
    return rows


# --- calls per minute ------------------------------------------------------------------------


def calls_per_minute(now: dt.datetime | None = None, minutes: int = CHART_MINUTES) -> dict:
    """Calls started per minute per station over the last ``minutes`` (the chart's data):
    ``{"minutes": [iso…], "series": [{"station_id", "name", "counts": […]}]}``, oldest
    minute first, the current (partial) minute last; calls without a station are
    ``station_id: null``."""
    now = now or timezone.now()
    last = now.replace(second=0, microsecond=0)
    first = last - dt.timedelta(minutes=minutes - 1)
    rows = (
        Call.objects.filter(created_at__gte=first)
        .annotate(minute=TruncMinute("created_at", tzinfo=dt.UTC))
        .values("minute", "station_id", "station__name")
        .annotate(n=Count("id"))
    )
    index = {first + dt.timedelta(minutes=i): i for i in range(minutes)}
    series: dict[int | None, dict] = {}
    for row in rows:
        slot = index.get(row["minute"].astimezone(dt.UTC))
        if slot is None:
            continue
        entry = series.setdefault(
            row["station_id"],
            {
                "station_id": row["station_id"],
                "name": row["station__name"] or "",
                "counts": [0] * minutes,
            },
        )
        entry["counts"][slot] += row["n"]
    ordered = sorted(series.values(), key=lambda s: (s["station_id"] is None, s["name"]))
    return {"minutes": [_iso(m) for m in index], "series": ordered}


# --- things other parts own, read lazily -----------------------------------------------------


def callback_backlog() -> int | None:
    """Open callback requests (``telephony.callbacks``), or ``None`` while that model does
    not exist yet."""
    if not apps.is_installed("telephony.callbacks"):
        return None
    try:
        model = apps.get_model("callbacks", "CallbackRequest")
    except LookupError:
        return None
    closed = {"done", "expired", "cancelled", "canceled"}
    status_field = next((f for f in model._meta.fields if f.name == "status"), None)
    queryset = model.objects.all()
    if status_field is not None:
        queryset = queryset.exclude(status__in=closed)
    try:
        return queryset.count()
    except Exception:  # the table is not migrated yet
        logger.warning("callback backlog unavailable", exc_info=True)
        return None


def overflow_parse(text: str) -> dict[str, bool]:
    """``global_getvar`` output (``name=value`` lines) → ``{queue: on}``."""
    out: dict[str, bool] = {}
    for line in text.splitlines():
        match = _OVERFLOW_VAR.match(line.strip())
        if match:
            out[match["queue"]] = match["value"].strip().lower() == "true"
    return out


def overflow_states(*, fresh: bool = False) -> dict[str, bool] | None:
    """The overflow switch per queue as the switch holds it (``tvshop_overflow_<queue>``
    global variables), cached for a few seconds; ``None`` when the switch cannot be asked."""
    if not fresh:
        hit = cache.get(OVERFLOW_CACHE_KEY)
        if hit is not None:
            return hit.get("states")
    from telephony.switch import switch_api
    from tvshop.errors import DomainError

    try:
        states = overflow_parse(switch_api("global_getvar"))
    except DomainError:
        cache.set(OVERFLOW_CACHE_KEY, {"states": None}, OVERFLOW_DOWN_CACHE_SECONDS)
        return None
    cache.set(OVERFLOW_CACHE_KEY, {"states": states}, OVERFLOW_CACHE_SECONDS)
    return states


# --- the snapshot ---------------------------------------------------------------------------


def wallboard_snapshot(*, now: dt.datetime | None = None, ask_switch: bool = True) -> dict:
    """Everything the wallboard shows, as of ``now``."""
    now = now or timezone.now()
    live = list(live_calls().select_related("hotline").order_by("created_at", "id"))
    calls_by_seat: dict[int, Call] = {}
    for call in live:
        if call.seat_id is not None:
            calls_by_seat[call.seat_id] = call  # the latest wins
    seats = _seat_rows(calls_by_seat)
    queues = _queue_rows(now, live)
    counts: dict[str, int] = defaultdict(int)
    for seat in seats:
        counts[seat["view"]] += 1
    overflow = overflow_states() if ask_switch else None
    for row in queues:
        row["overflow_on"] = None if overflow is None else overflow.get(row["queue"], False)
    capacity = trunk_capacity()
    return {
        "type": "snapshot",
        "at": _iso(now),
        "service_level_seconds": service_level_seconds(),
        "trunks": {"in_use": len(live), "capacity": capacity},
        "overflow": {
            "known": overflow is not None,
            "on": sorted(q for q, on in (overflow or {}).items() if on),
        },
        "callback_backlog": callback_backlog(),
        "agents": {
            "logged_in": sum(n for view, n in counts.items() if view != VIEW_LOGGED_OUT),
            "idle": counts[VIEW_READY],
            "talking": counts[VIEW_TALKING],
            "ringing": counts[VIEW_RINGING],
            "not_ready": counts[VIEW_NOT_READY],
            "acw": counts[VIEW_ACW],
        },
        "seats": seats,
        "queues": queues,
        "live_calls": [call_summary(call) for call in live],
        "per_minute": calls_per_minute(now),
    }


# --- recordings ----------------------------------------------------------------------------


def recordings_search(
    *,
    agent_id: int | None = None,
    start: dt.datetime | None = None,
    end: dt.datetime | None = None,
    customer_id: int | None = None,
    customer_name: str = "",
    order_number: str = "",
    caller: str = "",
):
    """Calls with a recording, newest first, filtered; joined for the list page."""
    from telephony.supervision.models import Recording

    queryset = Recording.objects.with_file().select_related(
        "agent", "customer", "hotline__station", "seat"
    )
    if agent_id:
        queryset = queryset.filter(agent_id=agent_id)
    if start:
        queryset = queryset.filter(created_at__gte=start)
    if end:
        queryset = queryset.filter(created_at__lt=end)
    if customer_id:
        queryset = queryset.filter(customer_id=customer_id)
    if customer_name.strip():
        queryset = queryset.filter(customer__name__icontains=customer_name.strip())
    if order_number:
        from orders.models import Order

        uuids = Order.objects.filter(number=order_number.strip()).values("call_uuid")
        queryset = queryset.filter(uuid__in=uuids)
    if caller:
        digits = "".join(ch for ch in caller if ch.isdigit())
        if digits:
            queryset = queryset.filter(Q(caller__contains=digits) | Q(callee__contains=digits))
    return queryset.order_by("-created_at", "-id")
