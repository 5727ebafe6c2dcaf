"""Seats, agents' live state, and call records.

The switch is seat-based, as mod_callcenter is: the mod_callcenter agent is the seat
(``1001@default`` rings ``user/1001``); a user logs into a seat for a shift
(:class:`SeatSession`), and every event about the seat is attributed to the user holding it
at that moment.
"""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from crm.models import Customer
from telephony.choices import (
    AgentState,
    AgentStatus,
    CallDirection,
    CallOutcome,
    NotReadyReason,
    StatusSource,
)
from tvshop.media.models import Hotline, Station

USER = settings.AUTH_USER_MODEL


class Seat(models.Model):
    """A position with a phone extension; its mod_callcenter agent is ``<ext>@<domain>``.

    ``status``/``state`` are the app's copy of the switch's view, kept by the bridge from
    events and corrected by resynchronisation after a reconnect.
    """

    extension = models.CharField(
        _("extension"),
        max_length=20,
        unique=True,
        validators=[RegexValidator(r"^\d{2,10}$", _("Digits only, e.g. 1001."))],
    )
    domain = models.CharField(_("domain"), max_length=50, default="default")
    label = models.CharField(_("label"), max_length=50, blank=True)
    active = models.BooleanField(_("active"), default=True)
    status = models.CharField(
        _("status"), max_length=30, choices=AgentStatus.choices, default=AgentStatus.LOGGED_OUT
    )
    state = models.CharField(
        _("state"), max_length=30, choices=AgentState.choices, default=AgentState.IDLE
    )
    reason = models.CharField(
        _("not-ready reason"), max_length=20, choices=NotReadyReason.choices, blank=True
    )
    status_at = models.DateTimeField(_("status since"), null=True, blank=True)
    state_at = models.DateTimeField(_("state since"), null=True, blank=True)

    class Meta:
        verbose_name = _("seat")
        verbose_name_plural = _("seats")
        ordering = ["extension"]
        permissions = [
            ("use_desktop", _("Can log into a seat and take calls")),
            ("click_to_dial", _("Can dial customers from the CRM")),
            ("view_wallboard", _("Can watch seats and queues live")),
        ]

    def __str__(self) -> str:
        return self.label or self.extension

    @property
    def cc_agent(self) -> str:
        """The mod_callcenter agent name of this seat."""
        return f"{self.extension}@{self.domain}"


class SeatSession(models.Model):
    """A user logged into a seat, from log-in to log-out (login duration for the KPIs)."""

    seat = models.ForeignKey(
        Seat, verbose_name=_("seat"), on_delete=models.PROTECT, related_name="sessions"
    )
    user = models.ForeignKey(
        USER, verbose_name=_("agent"), on_delete=models.PROTECT, related_name="seat_sessions"
    )
    started_at = models.DateTimeField(_("logged in"))
    ended_at = models.DateTimeField(_("logged out"), null=True, blank=True)

    class Meta:
        verbose_name = _("seat session")
        verbose_name_plural = _("seat sessions")
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["seat"], condition=models.Q(ended_at=None), name="seat_one_open_session"
            ),
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(ended_at=None), name="user_one_open_session"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.seat}"


class AgentStatusChange(models.Model):
    """One change of a seat's status or state, with its time (agent statistics, op log)."""

    seat = models.ForeignKey(
        Seat, verbose_name=_("seat"), on_delete=models.PROTECT, related_name="changes"
    )
    user = models.ForeignKey(
        USER, verbose_name=_("agent"), null=True, blank=True, on_delete=models.PROTECT
    )
    status = models.CharField(_("status"), max_length=30, choices=AgentStatus.choices, blank=True)
    state = models.CharField(_("state"), max_length=30, choices=AgentState.choices, blank=True)
    reason = models.CharField(
        _("not-ready reason"), max_length=20, choices=NotReadyReason.choices, blank=True
    )
    source = models.CharField(_("source"), max_length=10, choices=StatusSource.choices)
    at = models.DateTimeField(_("time"))
    event_key = models.CharField(_("event key"), max_length=120, unique=True, null=True, blank=True)

    class Meta:
        verbose_name = _("agent status change")
        verbose_name_plural = _("agent status changes")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["seat", "-at"]), models.Index(fields=["user", "-at"])]

    def __str__(self) -> str:
        return f"{self.seat} {self.status or self.state} {self.at:%H:%M:%S}"


class Call(models.Model):
    """One call as the customer experienced it (the caller's leg), with its times and outcome.

    Written by the bridge from switch events; idempotent through :class:`CallEvent` keys.
    """

    uuid = models.CharField(_("call id"), max_length=64, unique=True)
    direction = models.CharField(_("direction"), max_length=10, choices=CallDirection.choices)
    caller = models.CharField(_("caller"), max_length=32, db_index=True)
    callee = models.CharField(_("callee"), max_length=32, blank=True)
    dialled = models.CharField(_("dialled number"), max_length=32, blank=True)
    hotline = models.ForeignKey(
        Hotline, verbose_name=_("hotline"), null=True, blank=True, on_delete=models.SET_NULL
    )
    station = models.ForeignKey(
        Station, verbose_name=_("TV station"), null=True, blank=True, on_delete=models.SET_NULL
    )
    queue = models.CharField(_("queue"), max_length=50, blank=True)
    seat = models.ForeignKey(
        Seat, verbose_name=_("seat"), null=True, blank=True, on_delete=models.SET_NULL
    )
    agent = models.ForeignKey(
        USER,
        verbose_name=_("agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    customer = models.ForeignKey(
        Customer,
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
    )
    created_at = models.DateTimeField(_("started"), db_index=True)
    queued_at = models.DateTimeField(_("queued"), null=True, blank=True)
    offered_at = models.DateTimeField(_("offered"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    wait_seconds = models.PositiveIntegerField(_("wait (s)"), null=True, blank=True)
    talk_seconds = models.PositiveIntegerField(_("talk (s)"), null=True, blank=True)
    ring_no_answer_count = models.PositiveSmallIntegerField(_("RONA"), default=0)
    # hold (CHANNEL_HOLD / CHANNEL_UNHOLD): how often and how long the caller was held; the
    # CallEvent rows "CallHeld" / "CallUnheld" are the detail the agent statistics read
    hold_count = models.PositiveSmallIntegerField(_("holds"), default=0)
    hold_seconds = models.PositiveIntegerField(_("hold (s)"), default=0)
    held_at = models.DateTimeField(_("on hold since"), null=True, blank=True)
    transferred = models.BooleanField(_("transferred"), default=False)
    hangup_cause = models.CharField(_("hang-up cause"), max_length=50, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=CallOutcome.choices, default=CallOutcome.IN_PROGRESS
    )
    recording_path = models.CharField(_("recording"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("call")
        verbose_name_plural = _("calls")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["agent", "-created_at"]),
            models.Index(fields=["customer", "-created_at"]),
            models.Index(fields=["station", "created_at"]),
            models.Index(fields=["outcome", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.caller} → {self.dialled or self.callee} {self.created_at:%Y-%m-%d %H:%M}"


class CallEvent(models.Model):
    """A domain event applied to a call; its key makes re-applying it a no-op."""

    call = models.ForeignKey(
        Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="events"
    )
    key = models.CharField(_("event key"), max_length=120, unique=True)
    kind = models.CharField(_("kind"), max_length=40)
    at = models.DateTimeField(_("time"))
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        verbose_name = _("call event")
        verbose_name_plural = _("call events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at:%H:%M:%S}"


# Permission-carrying proxies of Call (recordings, live-call supervision).
from telephony.supervision.models import LiveCall, Recording  # noqa: E402, F401
