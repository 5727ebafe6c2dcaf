from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    """Couriers, shipping sheets and tracking imports: filled by the logistics issue (#5)."""

    name = "logistics"
    verbose_name = _("Logistics")
