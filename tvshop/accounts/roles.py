"""Roles are Django groups; their default permissions are declared here, once.

A data migration creates the groups on every new database; after each ``migrate`` the
default permissions below are (re-)granted, so permissions added by later migrations
reach the roles too. Administrators may grant more through the admin; defaults that an
administrator removes come back at the next migrate — to narrow a role, make a new one.
"""

from __future__ import annotations

import logging

from django.db import models
from django.utils.translation import gettext_lazy as _

log = logging.getLogger(__name__)


class Role(models.TextChoices):
    AGENT = "agent", _("Agent")
    REVIEWER_FIRST = "reviewer1", _("First reviewer")
    REVIEWER_SECOND = "reviewer2", _("Second reviewer")
    LOGISTICS = "logistics", _("Logistics clerk")
    FINANCE = "finance", _("Finance")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMINISTRATOR = "administrator", _("Administrator")


def _crud(app_model: str, *verbs: str) -> list[str]:
    app, model = app_model.split(".")
    return [f"{app}.{verb}_{model}" for verb in verbs]


_BASE_DATA_READ = [
    *_crud("catalog.product", "view"),
    *_crud("catalog.gift", "view"),
    *_crud("media.station", "view"),
    *_crud("media.hotline", "view"),
    *_crud("media.airingslot", "view"),
]
_KNOWLEDGE_READ = [*_crud("crm.script", "view"), *_crud("crm.faq", "view")]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: [
        *_crud("crm.customer", "view", "add", "change"),
        *_crud("crm.servicerecord", "view", "add"),
        *_crud("crm.ticket", "view", "add", "change"),
        *_crud("crm.lead", "view"),
        "crm.reveal_phone",
        *_KNOWLEDGE_READ,
        *_BASE_DATA_READ,
    ],
    Role.REVIEWER_FIRST: [
        *_crud("crm.customer", "view", "change"),
        *_crud("crm.servicerecord", "view", "add"),
        *_crud("crm.ticket", "view"),
        "crm.reveal_phone",
        *_KNOWLEDGE_READ,
        *_BASE_DATA_READ,
    ],
    Role.REVIEWER_SECOND: [
        *_crud("crm.customer", "view", "change"),
        *_crud("crm.servicerecord", "view", "add"),
        *_crud("crm.ticket", "view"),
        "crm.reveal_phone",
        *_KNOWLEDGE_READ,
        *_BASE_DATA_READ,
    ],
    Role.LOGISTICS: [
        *_crud("crm.customer", "view"),
        # Couriers need the full number on the shipping sheet.
        "crm.view_full_phone",
        *_BASE_DATA_READ,
    ],
    Role.FINANCE: [
        *_crud("crm.customer", "view"),
        *_BASE_DATA_READ,
    ],
    Role.SUPERVISOR: [
        *_crud("crm.customer", "view", "add", "change"),
        "crm.merge_customer",
        "crm.import_customer",
        "crm.export_customer",
        "crm.view_full_phone",
        *_crud("crm.servicerecord", "view", "add"),
        *_crud("crm.ticket", "view", "add", "change"),
        *_crud("crm.lead", "view", "change"),
        "crm.assign_lead",
        "crm.export_lead",
        *_crud("crm.script", "view", "add", "change", "delete"),
        *_crud("crm.faq", "view", "add", "change", "delete"),
        *_BASE_DATA_READ,
        *_crud("media.airingslot", "add", "change"),
        "audit.view_auditentry",
    ],
}

# Administrators get every permission of the project's own apps (not "view full phone":
# that is a choice administrators make per role on the masking page).
ADMIN_APPS = ["accounts", "audit", "catalog", "media", "crm", "orders", "logistics", "telephony"]
ADMIN_EXCLUDED = {"crm.view_full_phone"}


def role_label(code: str) -> str:
    try:
        return str(Role(code).label)
    except ValueError:
        return code


def roles_sync(*, group_model, permission_model) -> None:
    """Create missing role groups and grant their default permissions. Idempotent."""
    for role in Role:
        group, _created = group_model.objects.get_or_create(name=role.value)
        if role == Role.ADMINISTRATOR:
            perms = permission_model.objects.filter(content_type__app_label__in=ADMIN_APPS)
            wanted = [p for p in perms.select_related("content_type")]
            wanted = [
                p
                for p in wanted
                if f"{p.content_type.app_label}.{p.codename}" not in ADMIN_EXCLUDED
            ]
        else:
            wanted = []
            for dotted in ROLE_PERMISSIONS.get(role, []):
                app_label, codename = dotted.split(".")
                perm = permission_model.objects.filter(
                    content_type__app_label=app_label, codename=codename
                ).first()
                if perm is None:
                    log.warning("role %s: permission %s does not exist", role.value, dotted)
                    continue
                wanted.append(perm)
        group.permissions.add(*wanted)


def roles_sync_on_migrate(sender, using="default", **kwargs):
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    # post_migrate fires once per app, in INSTALLED_APPS order, and auth creates each
    # app's permissions in its own handler; after the last app, all permissions exist.
    with_models = [a for a in apps.get_app_configs() if a.models_module is not None]
    if sender.name != with_models[-1].name:
        return
    roles_sync(group_model=Group, permission_model=Permission)
