from django.db import models
from django.utils.translation import gettext_lazy as _


class RecordingMode(models.TextChoices):
    ALL = "all", _("Record every call")
    NONE = "none", _("Record no call")
    RANDOM = "random", _("Record a random share")


class RingStrategy(models.TextChoices):
    """mod_callcenter queue strategies (values exactly as the switch spells them)."""

    LONGEST_IDLE = "longest-idle-agent", _("Longest idle agent")
    ROUND_ROBIN = "round-robin", _("Round robin")
    LEAST_TALK = "agent-with-least-talk-time", _("Least talk time")
    FEWEST_CALLS = "agent-with-fewest-calls", _("Fewest calls")
    RANDOM = "random", _("Random")
    RING_ALL = "ring-all", _("Ring all")


class OverflowReason(models.TextChoices):
    NONE = "", _("(off)")
    CHANNELS = "channels", _("Trunk channels over the threshold")
    QUEUED = "queued", _("Too many callers queued")
    WAIT = "wait", _("Queue wait too long")
    AFTER_HOURS = "after_hours", _("After hours or holiday")
    MANUAL = "manual", _("Forced on by a supervisor")


WEEKDAYS = [
    (0, _("Monday")),
    (1, _("Tuesday")),
    (2, _("Wednesday")),
    (3, _("Thursday")),
    (4, _("Friday")),
    (5, _("Saturday")),
    (6, _("Sunday")),
]
