from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A person who logs in: agent, reviewer, clerk, supervisor or administrator.

    Roles are Django groups (see ``tvshop.accounts.roles``); a user may hold several.
    """

    full_name = models.CharField(_("full name"), max_length=60, blank=True)
    employee_no = models.CharField(_("employee number"), max_length=20, blank=True)
    language = models.CharField(
        _("interface language"),
        max_length=10,
        choices=settings.LANGUAGES,
        default=settings.LANGUAGE_CODE,
    )

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        permissions = [("manage_masking", _("Can choose which roles see full phone numbers"))]

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def display_name(self) -> str:
        return self.full_name or self.username
