"""Every CDR the switch posted, kept as it came (audit and replay)."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from telephony.models import Call


class CdrResult(models.TextChoices):
    """What reconciling one CDR did to the call records."""

    CREATED = "created", _("Call created from the CDR")
    COMPLETED = "completed", _("Call completed from the CDR")
    UNCHANGED = "unchanged", _("Call already complete")
    IGNORED = "ignored", _("Not a call the CRM records")
    FAILED = "failed", _("Failed (kept for replay)")


class CallDetailRecord(models.Model):
    """One CDR (one channel leg) as FreeSWITCH posted it; unique per leg uuid, so a CDR
    posted again (the switch retries) changes nothing."""

    uuid = models.CharField(_("leg id"), max_length=64, unique=True)
    call_uuid = models.CharField(_("call id"), max_length=64, blank=True, db_index=True)
    core_uuid = models.CharField(_("switch run"), max_length=64, blank=True)
    received_at = models.DateTimeField(_("received"), db_index=True)
    result = models.CharField(_("result"), max_length=20, choices=CdrResult.choices)
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    call = models.ForeignKey(
        Call,
        verbose_name=_("call"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="detail_records",
    )
    data = models.JSONField(_("CDR"), default=dict)

    class Meta:
        verbose_name = _("call detail record")
        verbose_name_plural = _("call detail records")
        ordering = ["-received_at", "-id"]
        indexes = [models.Index(fields=["result", "received_at"])]

    def __str__(self) -> str:
        return f"{self.uuid} {self.result}"
