from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers")

    def ready(self):
        from crm.divisions import divisions_ensure_loaded

        post_migrate.connect(divisions_ensure_loaded, dispatch_uid="crm.divisions_ensure_loaded")
