from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    """Orders and the two-stage review: filled by the orders issue (#4)."""

    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # Points accrue when an order is delivered (a post-transition callback).
        from orders.services.points import points_hooks_install

        points_hooks_install()
