"""The routing policy of each hotline (one row per :class:`~tvshop.media.models.Hotline`)
and its holidays; the overflow switch's live state is kept on the policy row."""

from __future__ import annotations

import datetime as dt

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from telephony.routing.choices import OverflowReason, RecordingMode, RingStrategy
from tvshop.media.models import Hotline

# Fields a supervisor edits (the audited settings page); the rest is the controller's state.
POLICY_FIELDS = [
    "trunk_capacity",
    "overflow_threshold_pct",
    "hysteresis_pct",
    "max_wait_seconds",
    "max_queued",
    "hours_enabled",
    "work_hours",
    "recording",
    "recording_share_pct",
    "ring_strategy",
    "ring_timeout_seconds",
    "force_overflow",
]


class RoutingPolicy(models.Model):
    hotline = models.OneToOneField(
        Hotline,
        verbose_name=_("hotline"),
        on_delete=models.CASCADE,
        related_name="routing_policy",
    )
    trunk_capacity = models.PositiveIntegerField(
        _("trunk capacity (channels)"), default=90, validators=[MinValueValidator(1)]
    )
    overflow_threshold_pct = models.PositiveSmallIntegerField(
        _("overflow threshold (percent of channels in use)"),
        default=90,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    hysteresis_pct = models.PositiveSmallIntegerField(
        _("hysteresis (percentage points)"),
        default=10,
        validators=[MaxValueValidator(50)],
        help_text=_("The overflow branch goes off again only below threshold minus this."),
    )
    max_wait_seconds = models.PositiveIntegerField(
        _("maximum queue wait (s)"), default=60, help_text=_("0 = no limit.")
    )
    max_queued = models.PositiveIntegerField(
        _("maximum callers queued"), default=0, help_text=_("0 = no limit.")
    )
    hours_enabled = models.BooleanField(
        _("work hours apply"),
        default=False,
        help_text=_("Off: the hotline is open around the clock (holidays still close it)."),
    )
    work_hours = models.JSONField(
        _("work hours"),
        default=dict,
        blank=True,
        help_text=_('Per weekday (0 = Monday): "HH:MM-HH:MM"; empty = closed.'),
    )
    recording = models.CharField(
        _("recording"), max_length=10, choices=RecordingMode.choices, default=RecordingMode.ALL
    )
    recording_share_pct = models.PositiveSmallIntegerField(
        _("recorded share (%)"), default=100, validators=[MaxValueValidator(100)]
    )
    ring_strategy = models.CharField(
        _("ring strategy"),
        max_length=40,
        choices=RingStrategy.choices,
        default=RingStrategy.LONGEST_IDLE,
    )
    ring_timeout_seconds = models.PositiveSmallIntegerField(
        _("ring timeout (s)"), default=15, validators=[MinValueValidator(5)]
    )
    force_overflow = models.BooleanField(
        _("force the overflow branch on"),
        default=False,
        help_text=_("Every new caller gets the callback prompt until switched off."),
    )
    # live state, written by the overflow controller
    overflow_active = models.BooleanField(_("overflow on"), default=False)
    overflow_reason = models.CharField(
        _("overflow reason"), max_length=20, choices=OverflowReason.choices, blank=True
    )
    overflow_changed_at = models.DateTimeField(_("overflow changed"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("routing policy")
        verbose_name_plural = _("routing policies")
        ordering = ["hotline__number"]

    def __str__(self) -> str:
        return str(self.hotline.number)

    @property
    def threshold_channels(self) -> float:
        return self.trunk_capacity * self.overflow_threshold_pct / 100

    def hours_of(self, weekday: int) -> tuple[dt.time, dt.time] | None:
        """Opening hours on ``weekday`` (0 = Monday), ``None`` when closed that day."""
        text = (self.work_hours or {}).get(str(weekday), "")
        return parse_hours(text)


class Holiday(models.Model):
    """A day the hotline is closed (after-hours handling all day)."""

    policy = models.ForeignKey(
        RoutingPolicy,
        verbose_name=_("routing policy"),
        on_delete=models.CASCADE,
        related_name="holidays",
    )
    date = models.DateField(_("date"))
    note = models.CharField(_("note"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("holiday")
        verbose_name_plural = _("holidays")
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "date"], name="routing_holiday_unique")
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {self.note}".strip()


def parse_hours(text: str) -> tuple[dt.time, dt.time] | None:
    """``"08:00-22:00"`` → (08:00, 22:00); ``"24:00"`` as end means midnight; ``""`` → None.
    Raises ValueError for anything else."""
    text = (text or "").strip()
    if not text:
        return None
    start, sep, end = text.partition("-")
    if not sep:
        raise ValueError(text)
    opens = dt.time.fromisoformat(start.strip())
    end = end.strip()
    closes = dt.time.max if end in ("24:00", "24:00:00") else dt.time.fromisoformat(end)
    if closes <= opens:
        raise ValueError(text)
    return opens, closes
