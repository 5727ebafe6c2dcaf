"""Callback reads: lists for agents and supervisors, the backlog summary, the dispatcher's
view of the center (callers waiting, idle agents), and mapping a finished call to a dial
result."""

from __future__ import annotations

import datetime as dt

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Min, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telephony.callbacks.choices import (
    DUE_STATUSES,
    IN_FLIGHT_STATUSES,
    OPEN_STATUSES,
    CallbackStatus,
    DialResult,
)
from telephony.callbacks.models import CallbackAttempt, CallbackRequest
from tvshop.media.models import Station

User = get_user_model()

#: A queued call older than this without an end is a record the switch never closed
#: (the bridge was down): it does not count as a caller waiting.
STALE_QUEUED_HOURS = 4
IDLE_STATUSES = ("Available", "Available (On Demand)")
IDLE_STATES = ("Waiting", "Idle")
#: Customer-side causes that mean "busy" (everything else unanswered is "no answer").
BUSY_CAUSES = {"USER_BUSY", "CALL_REJECTED", "NORMAL_CIRCUIT_CONGESTION"}
#: Causes that mean the number cannot be reached at all.
UNREACHABLE_CAUSES = {
    "UNALLOCATED_NUMBER",
    "NO_ROUTE_DESTINATION",
    "INVALID_NUMBER_FORMAT",
    "NUMBER_CHANGED",
    "INCOMPATIBLE_DESTINATION",
}


def callback_list() -> QuerySet[CallbackRequest]:
    return CallbackRequest.objects.select_related(
        "customer", "hotline", "station", "assigned_agent", "airing_slot", "order"
    )


def callbacks_due(*, now: dt.datetime | None = None) -> QuerySet[CallbackRequest]:
    """Due requests in the dispatcher's order: highest priority, then oldest first call."""
    now = now or timezone.now()
    return (
        CallbackRequest.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now)
        .exclude(customer__level="blacklisted")
        .order_by("-priority", "first_call_at", "id")
    )


def callbacks_of_agent(user) -> QuerySet[CallbackRequest]:
    """The agent's callbacks in hand (offered, dialling, on the call)."""
    return callback_list().filter(assigned_agent=user, status__in=IN_FLIGHT_STATUSES)


def callback_attempts(request: CallbackRequest) -> QuerySet[CallbackAttempt]:
    return request.attempt_log.select_related("agent", "call")


def callers_waiting(*, now: dt.datetime | None = None) -> int:
    """Live callers in a queue now: call records queued, not answered, not ended."""
    from telephony.models import Call

    now = now or timezone.now()
    return Call.objects.filter(
        queued_at__isnull=False,
        answered_at=None,
        ended_at=None,
        created_at__gte=now - dt.timedelta(hours=STALE_QUEUED_HOURS),
    ).count()


def idle_seat_sessions():
    """Open seat sessions whose seat is ready and not on a call (the switch's view)."""
    from telephony.models import SeatSession

    return SeatSession.objects.filter(
        ended_at=None,
        seat__active=True,
        seat__status__in=IDLE_STATUSES,
        seat__state__in=IDLE_STATES,
    )


def in_flight_count() -> int:
    return CallbackRequest.objects.filter(status__in=IN_FLIGHT_STATUSES).count()


def dial_result_of_call(call) -> tuple[str, str]:
    """(result, cause) of a finished click-to-dial call of a callback.

    The agent's phone rings first; the customer's leg exists only once the agent answered
    (a ``LegCreated`` event on the call). So: answered → connected; failed before the
    customer's leg → the agent's side failed; otherwise by the customer leg's cause.
    """
    from telephony.choices import CallOutcome

    if call.outcome == CallOutcome.ANSWERED or call.answered_at is not None:
        return DialResult.CONNECTED, ""
    events = {e.kind: e.data for e in call.events.filter(kind__in=["LegCreated", "CallEnded"])}
    ended = events.get("CallEnded") or {}
    cause = (ended.get("originate_disposition") or call.hangup_cause or "").upper()
    if "LegCreated" not in events:
        return DialResult.AGENT_FAILED, cause
    if cause in BUSY_CAUSES:
        return DialResult.BUSY, cause
    if cause in UNREACHABLE_CAUSES:
        return DialResult.FAILED, cause
    return DialResult.NO_ANSWER, cause


# --- backlog --------------------------------------------------------------------------------


AGE_BUCKETS = [
    ("lt15", _("< 15 min"), 0, 15),
    ("lt60", _("15–60 min"), 15, 60),
    ("lt240", _("1–4 h"), 60, 240),
    ("ge240", _("≥ 4 h"), 240, None),
]


class CallbackFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(label=_("Status"), choices=CallbackStatus.choices)
    open = django_filters.BooleanFilter(label=_("Open only"), method="filter_open")
    station = django_filters.ModelChoiceFilter(
        label=_("TV station"), queryset=Station.objects.all()
    )
    assigned_agent = django_filters.ModelChoiceFilter(
        label=_("Agent"), queryset=User.objects.filter(is_active=True)
    )
    min_attempts = django_filters.NumberFilter(
        label=_("At least attempts"), field_name="attempts", lookup_expr="gte"
    )
    age = django_filters.ChoiceFilter(
        label=_("Age"),
        choices=[(code, label) for code, label, _lo, _hi in AGE_BUCKETS],
        method="filter_age",
    )
    ordering = django_filters.OrderingFilter(
        fields=(
            ("priority", "priority"),
            ("first_call_at", "first_call_at"),
            ("attempts", "attempts"),
        ),
    )

    class Meta:
        model = CallbackRequest
        fields = ["status", "station", "assigned_agent", "reason"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        if value:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.exclude(status__in=OPEN_STATUSES)

    def filter_age(self, queryset, name, value):
        now = timezone.now()
        for code, _label, low, high in AGE_BUCKETS:
            if code == value:
                queryset = queryset.filter(first_call_at__lte=now - dt.timedelta(minutes=low))
                if high is not None:
                    queryset = queryset.filter(first_call_at__gt=now - dt.timedelta(minutes=high))
        return queryset


def backlog_by_station(*, now: dt.datetime | None = None) -> list[dict]:
    """Open callbacks per TV station: how many, by age bucket, by attempts, the oldest."""
    now = now or timezone.now()
    aggregates = {
        "open": Count("id"),
        "due": Count("id", filter=Q(status__in=DUE_STATUSES, next_attempt_at__lte=now)),
        "in_flight": Count("id", filter=Q(status__in=IN_FLIGHT_STATUSES)),
        "retrying": Count("id", filter=Q(attempts__gte=1)),
        "oldest": Min("first_call_at"),
        "top_priority": Max("priority"),
    }
    for code, _label, low, high in AGE_BUCKETS:
        condition = Q(first_call_at__lte=now - dt.timedelta(minutes=low))
        if high is not None:
            condition &= Q(first_call_at__gt=now - dt.timedelta(minutes=high))
        aggregates[f"age_{code}"] = Count("id", filter=condition)
    rows = list(
        CallbackRequest.objects.filter(status__in=OPEN_STATUSES)
        .values("station_id", "station__name")
        .annotate(**aggregates)
        .order_by("station__name")
    )
    for row in rows:
        row["oldest_minutes"] = (
            int((now - row["oldest"]).total_seconds() // 60) if row["oldest"] else None
        )
        row["ages"] = [row[f"age_{code}"] for code, *_rest in AGE_BUCKETS]
    return rows


def backlog_totals() -> dict:
    return CallbackRequest.objects.aggregate(
        open=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        in_flight=Count("id", filter=Q(status__in=IN_FLIGHT_STATUSES)),
        done=Count("id", filter=Q(status=CallbackStatus.DONE)),
        expired=Count("id", filter=Q(status=CallbackStatus.EXPIRED)),
    )


def callback_export_rows(*, callbacks, user) -> tuple[list[str], list[list]]:
    from crm.masking import phone_for_user

    header = [
        str(_("ID")),
        str(_("Phone")),
        str(_("Customer")),
        str(_("TV station")),
        str(_("Hotline")),
        str(_("Reason")),
        str(_("First call")),
        str(_("Last call")),
        str(_("Calls")),
        str(_("Priority")),
        str(_("Status")),
        str(_("Attempts")),
        str(_("Next attempt")),
        str(_("Agent")),
        str(_("Outcome")),
        str(_("Order")),
        str(_("Note")),
    ]

    def when(value):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S") if value else ""

    rows = []
    for cb in callbacks.select_related("customer", "station", "hotline", "assigned_agent", "order"):
        rows.append(
            [
                cb.pk,
                phone_for_user(cb.number, user),
                cb.customer.name if cb.customer_id else "",
                cb.station.name if cb.station_id else "",
                cb.hotline.number if cb.hotline_id else "",
                str(cb.get_reason_display()),
                when(cb.first_call_at),
                when(cb.last_call_at),
                cb.call_count,
                cb.priority,
                str(cb.get_status_display()),
                cb.attempts,
                when(cb.next_attempt_at),
                cb.assigned_agent.display_name if cb.assigned_agent_id else "",
                str(cb.get_outcome_display()) if cb.outcome else "",
                cb.order.number if cb.order_id else "",
                cb.note,
            ]
        )
    return header, rows


def callback_agents() -> QuerySet:
    """Users who may work on callbacks (reassignment targets)."""
    from django.contrib.auth.models import Permission

    perm = Permission.objects.filter(
        content_type__app_label="callbacks", codename="work_callbackrequest"
    ).first()
    if perm is None:
        return User.objects.none()
    return (
        User.objects.filter(is_active=True)
        .filter(Q(groups__permissions=perm) | Q(user_permissions=perm))
        .distinct()
        .order_by("username")
    )
