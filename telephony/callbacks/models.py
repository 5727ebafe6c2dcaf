"""Callback requests captured during surges (回电管理), their dial attempts, and the
dispatcher's switches (paused by a supervisor, surge flag set by the overflow switch).

A request is opened when the switch's overflow branch (the "computer seat") captured a
caller's number, or a caller reached the queue's maximum wait; there is at most one *open*
request per number (a partial unique constraint), and a repeat call raises its count.
Every capture is kept (:class:`CallbackCapture`, unique by call uuid), so capturing the same
call twice changes nothing.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from telephony.callbacks.choices import (
    OPEN_STATUSES,
    CallbackOutcome,
    CallbackStatus,
    CaptureReason,
    DialResult,
    DispatchMode,
)

USER = settings.AUTH_USER_MODEL


class CallbackRequest(models.Model):
    """One number to call back, with what we know about why and how urgent it is.

    ``priority`` is computed by :func:`telephony.callbacks.services.callback_priority`
    (VIP, repeat calls, recency of the airing); the dispatcher takes due requests
    highest priority first, then oldest first.
    """

    number = models.CharField(_("phone number"), max_length=32, db_index=True)
    customer = models.ForeignKey(
        "crm.Customer",
        verbose_name=_("customer"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callback_requests",
    )
    hotline = models.ForeignKey(
        "media.Hotline",
        verbose_name=_("hotline"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    station = models.ForeignKey(
        "media.Station",
        verbose_name=_("TV station"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    airing_slot = models.ForeignKey(
        "media.AiringSlot",
        verbose_name=_("airing slot"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    reason = models.CharField(
        _("reason"), max_length=20, choices=CaptureReason.choices, default=CaptureReason.OVERFLOW
    )
    first_call_at = models.DateTimeField(_("first call"))
    last_call_at = models.DateTimeField(_("last call"))
    call_count = models.PositiveIntegerField(_("calls"), default=1)
    priority = models.IntegerField(_("priority"), default=0)
    status = models.CharField(
        _("status"), max_length=20, choices=CallbackStatus.choices, default=CallbackStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"))
    assigned_agent = models.ForeignKey(
        USER,
        verbose_name=_("assigned agent"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="callback_requests",
    )
    offered_at = models.DateTimeField(_("offered"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=CallbackOutcome.choices, blank=True, default=""
    )
    order = models.ForeignKey(
        "orders.Order",
        verbose_name=_("order"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    call_again_at = models.DateTimeField(_("call again at"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("callback request")
        verbose_name_plural = _("callback requests")
        ordering = ["-priority", "first_call_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"],
                condition=models.Q(status__in=list(OPEN_STATUSES)),
                name="callback_one_open_per_number",
            ),
            # An agent holds at most one callback at a time (offered, dialling or on the
            # call): with callbacks only ever given to idle agents, never more callbacks
            # are in flight than idle agents.
            models.UniqueConstraint(
                fields=["assigned_agent"],
                condition=models.Q(status__in=["offered", "dialling", "connected"]),
                name="callback_one_in_flight_per_agent",
            ),
            models.CheckConstraint(
                condition=models.Q(call_count__gte=1), name="callback_call_count_positive"
            ),
        ]
        indexes = [
            # the dispatcher's scan: due open requests, highest priority first
            models.Index(
                fields=["-priority", "first_call_at"],
                condition=models.Q(status__in=["pending", "no_answer", "busy"]),
                name="callback_due_idx",
            ),
            models.Index(fields=["assigned_agent", "status"]),
            models.Index(fields=["station", "status"]),
        ]
        permissions = [
            ("work_callbackrequest", _("Can claim callbacks and record their outcome")),
            ("manage_callbackrequest", _("Can reassign callbacks and pause the dispatcher")),
            ("export_callbackrequest", _("Can export callbacks")),
        ]

    def __str__(self) -> str:
        from crm.masking import phone_mask

        return f"{phone_mask(self.number)} ({self.get_status_display()})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class CallbackCapture(models.Model):
    """One captured call (the overflow branch answered it); unique by the call's uuid."""

    request = models.ForeignKey(
        CallbackRequest,
        verbose_name=_("callback request"),
        on_delete=models.CASCADE,
        related_name="captures",
    )
    call_uuid = models.CharField(_("call id"), max_length=64, unique=True)
    captured_at = models.DateTimeField(_("captured"))
    reason = models.CharField(_("reason"), max_length=20, choices=CaptureReason.choices)
    hotline = models.ForeignKey(
        "media.Hotline",
        verbose_name=_("hotline"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = _("callback capture")
        verbose_name_plural = _("callback captures")
        ordering = ["captured_at", "id"]

    def __str__(self) -> str:
        return self.call_uuid


class CallbackAttempt(models.Model):
    """One dial of a callback request, with its result."""

    request = models.ForeignKey(
        CallbackRequest,
        verbose_name=_("callback request"),
        on_delete=models.CASCADE,
        related_name="attempt_log",
    )
    agent = models.ForeignKey(
        USER, verbose_name=_("agent"), null=True, blank=True, on_delete=models.SET_NULL
    )
    call = models.ForeignKey(
        "telephony.Call",
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    mode = models.CharField(_("mode"), max_length=10, choices=DispatchMode.choices)
    started_at = models.DateTimeField(_("started"))
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    result = models.CharField(
        _("result"), max_length=20, choices=DialResult.choices, blank=True, default=""
    )
    cause = models.CharField(_("cause"), max_length=60, blank=True)

    class Meta:
        verbose_name = _("callback attempt")
        verbose_name_plural = _("callback attempts")
        ordering = ["started_at", "id"]
        constraints = [
            # one attempt in progress per request
            models.UniqueConstraint(
                fields=["request"],
                condition=models.Q(ended_at=None),
                name="callback_one_open_attempt",
            )
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.started_at:%H:%M:%S} {self.result or '…'}"


class CallbackControl(models.Model):
    """The dispatcher's switches: one row (``pk=1``).

    ``surge_active`` is set by the overflow switch (``surge_set``) while the center is
    saturated; ``dispatcher_paused`` by a supervisor (``dispatcher_pause``/``_resume``).
    """

    dispatcher_paused = models.BooleanField(_("dispatcher paused"), default=False)
    paused_by = models.ForeignKey(
        USER,
        verbose_name=_("paused by"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    paused_at = models.DateTimeField(_("paused at"), null=True, blank=True)
    mode = models.CharField(
        _("dispatch mode"),
        max_length=10,
        choices=DispatchMode.choices,
        default=DispatchMode.PREVIEW,
    )
    surge_active = models.BooleanField(_("surge active"), default=False)
    surge_changed_at = models.DateTimeField(_("surge changed"), null=True, blank=True)
    surge_reason = models.CharField(_("surge reason"), max_length=200, blank=True)
    last_tick_at = models.DateTimeField(_("last dispatcher run"), null=True, blank=True)
    last_tick_note = models.CharField(_("last dispatcher result"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("callback dispatcher")
        verbose_name_plural = _("callback dispatcher")

    def __str__(self) -> str:
        return str(_("Callback dispatcher"))
