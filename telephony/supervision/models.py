"""Permission carriers for recordings and live-call supervision.

Both are proxies of :class:`~telephony.models.Call` (no table of their own): a recording is
a call's ``recording_path``, and every play, download and supervision action is recorded in
the audit log. The proxies give the permissions a content type of their own, so roles can
be granted "listen to recordings" and "supervise live calls" independently.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from telephony.models import Call


class RecordingQuerySet(models.QuerySet):
    def with_file(self):
        return self.exclude(recording_path="")


class Recording(Call):
    """A call seen through its recording (search, play, download)."""

    objects = RecordingQuerySet.as_manager()

    class Meta:
        proxy = True
        app_label = "telephony"
        verbose_name = _("recording")
        verbose_name_plural = _("recordings")
        default_permissions = ()
        permissions = [("listen_recording", _("Can search, play and download recordings"))]


class LiveCall(Call):
    """A call in progress seen by a supervisor (listen, whisper, barge in, force hang-up)."""

    class Meta:
        proxy = True
        app_label = "telephony"
        verbose_name = _("live call")
        verbose_name_plural = _("live calls")
        default_permissions = ()
        permissions = [
            ("supervise_call", _("Can listen to, whisper to, barge into and end live calls"))
        ]
