from django.db import models
from django.utils.translation import gettext_lazy as _


class CallbackStatus(models.TextChoices):
    """Where a callback request stands. ``offered`` is the preview step: the dispatcher
    gave the request to an agent, whose desktop shows it until the agent dials."""

    PENDING = "pending", _("Pending")
    OFFERED = "offered", _("Offered to an agent")
    DIALLING = "dialling", _("Dialling")
    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    DONE = "done", _("Done")
    EXPIRED = "expired", _("Expired")


#: A request in one of these is still open: one per number (partial unique constraint).
OPEN_STATUSES = (
    CallbackStatus.PENDING,
    CallbackStatus.OFFERED,
    CallbackStatus.DIALLING,
    CallbackStatus.CONNECTED,
    CallbackStatus.NO_ANSWER,
    CallbackStatus.BUSY,
)
#: Waiting for the dispatcher (when ``next_attempt_at`` is due).
DUE_STATUSES = (CallbackStatus.PENDING, CallbackStatus.NO_ANSWER, CallbackStatus.BUSY)
#: Held by an agent: counts against the idle agents (never more in flight than idle).
IN_FLIGHT_STATUSES = (CallbackStatus.OFFERED, CallbackStatus.DIALLING, CallbackStatus.CONNECTED)


class CallbackOutcome(models.TextChoices):
    NONE = "", _("(none)")
    ORDERED = "ordered", _("Ordered")
    NOT_INTERESTED = "not_interested", _("Not interested")
    WRONG_NUMBER = "wrong_number", _("Wrong number")
    CALL_AGAIN = "call_again", _("Call again later")


class CaptureReason(models.TextChoices):
    """Why the caller was captured (the dialplan's ``tvshop_callback_reason``)."""

    OVERFLOW = "overflow_switch", _("Overflow (center saturated)")
    MAX_WAIT = "max_wait", _("Waited too long in the queue")
    AFTER_HOURS = "after_hours", _("After hours")
    MANUAL = "manual", _("Entered by hand")
    OTHER = "other", _("Other")


class DialResult(models.TextChoices):
    """What one dial attempt came to (``callback_dial_result``)."""

    CONNECTED = "connected", _("Connected")
    NO_ANSWER = "no_answer", _("No answer")
    BUSY = "busy", _("Busy")
    FAILED = "failed", _("Failed (number unreachable)")
    AGENT_FAILED = "agent_failed", _("Agent's phone failed")


class DispatchMode(models.TextChoices):
    PREVIEW = "preview", _("Preview (the agent clicks to dial)")
    AUTO = "auto", _("Automatic (the agent's phone rings, then the customer)")
