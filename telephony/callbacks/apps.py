from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CallbacksConfig(AppConfig):
    """Callback requests captured during surges and their dispatcher (回电管理)."""

    name = "telephony.callbacks"
    label = "callbacks"
    verbose_name = _("Callbacks")
