from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelephonyConfig(AppConfig):
    """ESL bridge, simulator, calls and the agent desktop: filled by the telephony issue (#3)."""

    name = "telephony"
    verbose_name = _("Telephony")
