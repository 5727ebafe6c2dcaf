from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TelephonyConfig(AppConfig):
    """ESL bridge, simulator, calls, the agent desktop and supervision (issues #3, #6)."""

    name = "telephony"
    verbose_name = _("Telephony")

    def ready(self) -> None:
        # A merged customer's calls move to the surviving record.
        from crm.services.customers import merge_participant_register
        from telephony.models import Call

        merge_participant_register(_("Calls"), Call)
