from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LogisticsConfig(AppConfig):
    """Couriers' templates and rules, shipping batches, tracking and COD imports (#5)."""

    name = "logistics"
    verbose_name = _("Logistics")

    def ready(self) -> None:
        from logistics.services.rules import default_courier_for_province, freight_calculate
        from orders.hooks import default_courier_provider_set, freight_provider_set

        freight_provider_set(freight_calculate)
        default_courier_provider_set(default_courier_for_province)
