from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    """Orders, the two-stage review, payments, returns and merges (issue #4)."""

    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        # Points accrue when an order is delivered (a post-transition callback).
        from orders.services.points import points_hooks_install

        points_hooks_install()

        # A merged customer's orders move to the surviving record with the rest of its data.
        from crm.services.customers import merge_participant_register
        from orders.models import Order

        merge_participant_register(_("Orders"), Order)
