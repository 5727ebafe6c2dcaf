from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallbacksConfig(AppConfig):
    """Callback requests captured during surges and their dispatcher (回电管理)."""

    name = "telephony.callbacks"
    label = "callbacks"
    verbose_name = _("Callbacks")

    def ready(self) -> None:
        # A merged customer's callback requests move to the surviving record.
        from crm.services.customers import merge_participant_register
        from telephony.callbacks.models import CallbackRequest

        merge_participant_register(_("Callback requests"), CallbackRequest)
