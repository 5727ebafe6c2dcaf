from django.db import models
from django.utils.translation import gettext_lazy as _


class Salutation(models.TextChoices):
    NONE = "", _("(none)")
    MR = "mr", _("Mr.")
    MS = "ms", _("Ms.")


class CustomerLevel(models.TextChoices):
    NORMAL = "normal", _("Normal")
    VIP = "vip", _("VIP")
    BLACKLISTED = "blacklisted", _("Blacklisted")


class PhoneKind(models.TextChoices):
    MOBILE = "mobile", _("Mobile")
    LANDLINE = "landline", _("Landline")
    SERVICE = "service", _("400/800 number")
    OTHER = "other", _("Other")


class DivisionLevel(models.IntegerChoices):
    PROVINCE = 1, _("Province")
    CITY = 2, _("City")
    DISTRICT = 3, _("District")


class ContactChannel(models.TextChoices):
    INBOUND_CALL = "inbound", _("Inbound call")
    OUTBOUND_CALL = "outbound", _("Outbound call")
    SMS = "sms", _("SMS")
    WECHAT = "wechat", _("WeChat")
    OTHER = "other", _("Other")


class TicketKind(models.TextChoices):
    COMPLAINT = "complaint", _("Complaint")
    AFTER_SALES = "after_sales", _("After-sales")
    CONSULTATION = "consultation", _("Consultation")


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")


class TicketPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    ASSIGNED = "assigned", _("Assigned")
    CONTACTED = "contacted", _("Contacted")
    CLOSED = "closed", _("Closed")


class ScriptStage(models.TextChoices):
    OPENING = "opening", _("Opening")
    PITCH = "pitch", _("Pitch")
    OBJECTION = "objection", _("Objection handling")
    CLOSING = "closing", _("Closing")
    GREETING_RETURNING = "greeting_returning", _("Greeting for returning customers")
