from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CdrConfig(AppConfig):
    """The switch's call detail records (话单), stored raw and reconciled with the calls."""

    name = "telephony.cdr"
    label = "cdr"
    verbose_name = _("Call detail records")
