from django.db import models
from django.utils.translation import gettext_lazy as _


class AgentStatus(models.TextChoices):
    """mod_callcenter agent status (values exactly as the switch spells them)."""

    LOGGED_OUT = "Logged Out", _("Logged out")
    AVAILABLE = "Available", _("Ready")
    AVAILABLE_ON_DEMAND = "Available (On Demand)", _("Ready (on demand)")
    ON_BREAK = "On Break", _("Not ready")


class AgentState(models.TextChoices):
    """mod_callcenter agent state (values exactly as the switch spells them)."""

    IDLE = "Idle", _("Idle")
    WAITING = "Waiting", _("Waiting for a call")
    RECEIVING = "Receiving", _("Ringing")
    IN_A_QUEUE_CALL = "In a queue call", _("On a call")


class NotReadyReason(models.TextChoices):
    """Why an agent is not ready (示忙): shown in the desktop and counted as AUX time."""

    NONE = "", _("(none)")
    BREAK = "break", _("Break")
    MEETING = "meeting", _("Meeting")
    AFTER_CALL_WORK = "acw", _("After-call work")
    RONA = "rona", _("Missed a call")
    OTHER = "other", _("Other")


class CallDirection(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class CallOutcome(models.TextChoices):
    """Every inbound call ends in exactly one outcome."""

    IN_PROGRESS = "in_progress", _("In progress")
    ANSWERED = "answered", _("Answered")
    ABANDONED = "abandoned", _("Abandoned")
    OVERFLOW = "overflow", _("Captured for callback")
    REJECTED = "rejected", _("Rejected")
    FAILED = "failed", _("Failed")


class StatusSource(models.TextChoices):
    SWITCH = "switch", _("Switch")
    APP = "app", _("Desktop")
    RESYNC = "resync", _("Resynchronisation")
