"""Roll-up tables of the statistics, and the log of hours that need recomputing.

Every roll-up is derived data: a row is exactly the aggregation of the raw rows of its
bucket (``tvshop.reports.rollups`` holds the SQL, the property test holds us to it). The
buckets are hours of the call's ``created_at`` (the moment the call reached the switch) or
of the order's ``created_at``; pages sum hours into days, weeks and months in Asia/Shanghai
(whole hours, so any local day boundary is a sum of hours).

Dimension columns are plain ids without foreign keys: a roll-up must never block deleting a
station or a user, and it is rebuilt from the raw rows anyway.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class DirtyHour(models.Model):
    """An hour whose roll-ups must be recomputed, appended by database triggers.

    Triggers on ``telephony_call`` and ``orders_order`` (migration 0001) append the hour of
    every inserted, updated or deleted row (old and new hour on update), whatever wrote it:
    the bridge, a service, a bulk ``UPDATE … FROM``, psql. The refresh deletes exactly the
    rows it has read (by id) and recomputes their hours; a row committed meanwhile stays for
    the next run, so no hour is missed and no lock is taken on the hot path.
    """

    hour = models.DateTimeField(_("hour"))
    source = models.CharField(_("source"), max_length=10)

    class Meta:
        verbose_name = _("hour to recompute")
        verbose_name_plural = _("hours to recompute")
        permissions = [("view_statistics", _("Can read statistics and export them"))]

    def __str__(self) -> str:
        return f"{self.source} {self.hour:%Y-%m-%d %H:00}"


class StationHour(models.Model):
    """Inbound calls per hour and TV station (the station curve, media statistics)."""

    hour = models.DateTimeField()
    station_id = models.BigIntegerField(null=True)
    calls = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    abandoned = models.IntegerField(default=0)
    overflow = models.IntegerField(default=0)
    rejected = models.IntegerField(default=0)
    in_progress = models.IntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["hour", "station_id"], name="rep_station_hour_idx"),
            # the curve: per chosen station one range of hours, read from the index alone
            # (with station_id second, ``station_id = ANY(…)`` rescanned the whole range
            # once per station)
            models.Index(
                fields=["station_id", "hour"], include=["calls"], name="rep_station_hour_curve"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.hour:%Y-%m-%d %H:00}"


class StationMinute(models.Model):
    """Inbound calls per minute and TV station (the curve at minute resolution)."""

    minute = models.DateTimeField()
    station_id = models.BigIntegerField(null=True)
    calls = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["minute", "station_id"], name="rep_station_minute_idx"),
            models.Index(
                fields=["station_id", "minute"], include=["calls"], name="rep_station_minute_curve"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.station_id} {self.minute:%Y-%m-%d %H:%M}"


class QueueHour(models.Model):
    """Queue statistics per hour, queue and hotline (sums, so any period is a sum of rows).

    Seconds are exact (timestamps subtracted), stored as sums; counts with the configured
    abandon threshold and service-level target (``tvshop.reports.conf``) are stored too.
    """

    hour = models.DateTimeField()
    queue = models.CharField(max_length=50)
    hotline_id = models.BigIntegerField(null=True)
    station_id = models.BigIntegerField(null=True)
    inbound = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    wait_answered_sum = models.FloatField(default=0)
    wait_max = models.FloatField(null=True)
    talk_count = models.IntegerField(default=0)
    talk_sum = models.FloatField(default=0)
    soa_count = models.IntegerField(default=0)
    soa_sum = models.FloatField(default=0)
    abandoned = models.IntegerField(default=0)
    abandoned_counted = models.IntegerField(default=0)
    abandon_wait_sum = models.FloatField(default=0)
    rona_calls = models.IntegerField(default=0)
    rona_events = models.IntegerField(default=0)
    answered_within_target = models.IntegerField(default=0)
    transferred = models.IntegerField(default=0)
    overflow = models.IntegerField(default=0)
    threshold_seconds = models.IntegerField(default=0)
    target_seconds = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["hour", "queue"], name="rep_queue_hour_idx")]

    def __str__(self) -> str:
        return f"{self.queue} {self.hour:%Y-%m-%d %H:00}"


class AgentHour(models.Model):
    """Calls per hour and agent (the user who had the call last)."""

    hour = models.DateTimeField()
    agent_id = models.BigIntegerField(null=True)
    inbound_answered = models.IntegerField(default=0)
    inbound_talk_sum = models.FloatField(default=0)
    outbound_calls = models.IntegerField(default=0)
    outbound_answered = models.IntegerField(default=0)
    outbound_talk_sum = models.FloatField(default=0)
    transferred = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["hour", "agent_id"], name="rep_agent_hour_idx")]

    def __str__(self) -> str:
        return f"{self.agent_id} {self.hour:%Y-%m-%d %H:00}"


class OrderHour(models.Model):
    """Orders per hour of creation, by one dimension per row set (``grain``): attributed
    station (``"station"``: station_id), agent (``"agent"``: agent_id), courier
    (``"courier"``: courier_id), province (``"province"``: province, the division code) and
    status (``"status"``: status); the other dimension columns are NULL. Small sets of rows
    instead of their product (funnel, media money, staff, logistics, finance)."""

    hour = models.DateTimeField()
    grain = models.CharField(max_length=10, default="station")
    station_id = models.BigIntegerField(null=True)
    agent_id = models.BigIntegerField(null=True)
    courier_id = models.BigIntegerField(null=True)
    province = models.CharField(max_length=12, null=True)  # NULL in the other grains
    status = models.CharField(max_length=20, null=True)  # NULL in the other grains
    orders = models.IntegerField(default=0)
    approved = models.IntegerField(default=0)
    shipped = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    refused = models.IntegerField(default=0)
    paid = models.IntegerField(default=0)
    total_sum = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    # ever refused: status refused now, or a status change to refused (logistics)
    refused_ever = models.IntegerField(default=0)
    # COD orders shipped (status shipped, delivered, refused or returned): their number,
    # COD amount (expected), payments recorded (received) and how many are paid (finance)
    cod_orders = models.IntegerField(default=0)
    cod_expected = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    cod_received = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    cod_paid_orders = models.IntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["grain", "hour"], name="rep_order_hour_idx")]

    def __str__(self) -> str:
        return f"{self.station_id}/{self.agent_id} {self.hour:%Y-%m-%d %H:00}"


class SlotStat(models.Model):
    """Per airing slot: the calls and orders attributed to it (see ``rollups.ATTRIBUTION``)."""

    slot_id = models.BigIntegerField(unique=True)
    station_id = models.BigIntegerField()
    start = models.DateTimeField()
    calls = models.IntegerField(default=0)
    unique_callers = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    overflow = models.IntegerField(default=0)
    callbacks_done = models.IntegerField(default=0)
    orders = models.IntegerField(default=0)
    approved = models.IntegerField(default=0)
    delivered = models.IntegerField(default=0)
    revenue = models.DecimalField(max_digits=16, decimal_places=2, default=0)
    window_minutes = models.IntegerField(default=30)

    class Meta:
        indexes = [models.Index(fields=["station_id", "start"], name="rep_slot_start_idx")]

    def __str__(self) -> str:
        return f"slot {self.slot_id}"


class BitStringField(models.Field):
    """PostgreSQL ``bit varying`` (a HyperLogLog sketch, see ``CallerHour``); read and
    written by the roll-up SQL only, as text of 0/1 in Python."""

    description = "bit string"

    def db_type(self, connection):
        return "bit varying" if connection.vendor == "postgresql" else "text"


class CallerHour(models.Model):
    """The HyperLogLog sketch of the inbound callers of one station in one hour.

    ``rollups.SKETCH_REGISTERS`` registers, each stored as 32 bits in unary (a register
    with value r has its r lowest bits set), so the union of sketches — the maximum of
    every register — is PostgreSQL's ``bit_or`` over the rows (see docs/decisions.md,
    "Unique callers"). Exactly a function of the calls of the hour: equal to the sketch
    computed from the raw calls.
    """

    hour = models.DateTimeField()
    station_id = models.BigIntegerField()
    sketch = BitStringField()

    class Meta:
        indexes = [models.Index(fields=["hour", "station_id"], name="rep_caller_hour_idx")]

    def __str__(self) -> str:
        return f"{self.station_id} {self.hour:%Y-%m-%d %H:00}"


class CallerDay(models.Model):
    """The union of a station's ``CallerHour`` sketches over one local (Asia/Shanghai) day;
    any period of days is the ``bit_or`` of at most a few dozen of these per station."""

    day = models.DateField()
    station_id = models.BigIntegerField()
    sketch = BitStringField()

    class Meta:
        indexes = [models.Index(fields=["day", "station_id"], name="rep_caller_day_idx")]

    def __str__(self) -> str:
        return f"{self.station_id} {self.day}"


class ScheduledReport(models.Model):
    """A report mailed as .xlsx every day, week or month (a django-celery-beat task)."""

    class Frequency(models.TextChoices):
        DAILY = "daily", _("Daily")
        WEEKLY = "weekly", _("Weekly")
        MONTHLY = "monthly", _("Monthly")

    class Kind(models.TextChoices):
        QUEUE = "queue", _("Queue statistics")
        AGENT = "agent", _("Agent statistics")
        MEDIA = "media", _("Media efficiency")
        FUNNEL = "funnel", _("Funnel by station")

    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("report"), max_length=20, choices=Kind.choices)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices)
    recipients = models.TextField(_("recipients"), help_text=_("E-mail addresses, one a line."))
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(
        "accounts.User", verbose_name=_("created by"), null=True, on_delete=models.SET_NULL
    )
    last_sent_at = models.DateTimeField(_("last sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("scheduled report")
        verbose_name_plural = _("scheduled reports")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def recipient_list(self) -> list[str]:
        return [line.strip() for line in self.recipients.splitlines() if line.strip()]
