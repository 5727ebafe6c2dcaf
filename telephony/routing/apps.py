from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    """Per-hotline routing policy, its provisioning to the switch and the overflow switch."""

    name = "telephony.routing"
    label = "routing"
    verbose_name = _("Routing")

    def ready(self) -> None:
        from telephony.routing import signals  # noqa: F401
