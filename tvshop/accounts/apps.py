from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "tvshop.accounts"
    label = "accounts"
    verbose_name = _("Users and roles")

    def ready(self):
        from tvshop.accounts import signals  # noqa: F401  (connects audit receivers)
        from tvshop.accounts.roles import roles_sync_on_migrate

        post_migrate.connect(roles_sync_on_migrate, dispatch_uid="tvshop.accounts.roles_sync")
