"""Roles are Django groups; their default permissions are declared here, once.

A data migration creates the groups on every new database; after each ``migrate`` the
default permissions below are (re-)granted, so permissions added by later migrations
reach the roles too. Administrators may grant more through the admin; defaults that an
administrator removes come back at the next migrate — to narrow a role, make a new one.

One exception: which roles see full phone numbers (``crm.view_full_phone``) is the
administrators' choice on the masking page. Its defaults (``FULL_PHONE_DEFAULT_ROLES``) are
granted once, on a new database, and recorded in the audit log; later migrations leave the
choice alone.
"""

from __future__ import annotations

import logging

from django.db import models
from django.db.models import Q
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
    *_crud("catalog.courier", "view"),
    *_crud("media.station", "view"),
    *_crud("media.hotline", "view"),
    *_crud("media.airingslot", "view"),
]
_KNOWLEDGE_READ = [*_crud("crm.script", "view"), *_crud("crm.faq", "view")]
# Reviewers call customers to confirm orders: click-to-dial without a desktop seat pop.
_DIAL = ["telephony.click_to_dial", "telephony.view_call"]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: [
        *_crud("crm.customer", "view", "add", "change"),
        *_crud("crm.servicerecord", "view", "add"),
        *_crud("crm.ticket", "view", "add", "change"),
        *_crud("crm.lead", "view"),
        "crm.reveal_phone",
        *_KNOWLEDGE_READ,
        *_BASE_DATA_READ,
        "telephony.use_desktop",
        *_DIAL,
        *_crud("orders.order", "view", "add", "change"),
        "orders.give_discount",
        "callbacks.work_callbackrequest",
    ],
    Role.REVIEWER_FIRST: [
        *_crud("crm.customer", "view", "change"),
        *_crud("crm.servicerecord", "view", "add"),
        *_crud("crm.ticket", "view"),
        "crm.reveal_phone",
        *_KNOWLEDGE_READ,
        *_BASE_DATA_READ,
        *_DIAL,
        *_crud("orders.order", "view"),
        "orders.review_first",
        "orders.cancel_order",
    ],
    Role.REVIEWER_SECOND: [
        *_crud("crm.customer", "view", "change"),
        *_crud("crm.servicerecord", "view", "add"),
        *_crud("crm.ticket", "view"),
        "crm.reveal_phone",
        *_KNOWLEDGE_READ,
        *_BASE_DATA_READ,
        *_DIAL,
        *_crud("orders.order", "view"),
        "orders.review_second",
        "orders.cancel_order",
        "orders.merge_order",
    ],
    Role.LOGISTICS: [
        *_crud("crm.customer", "view"),
        *_BASE_DATA_READ,
        *_crud("orders.order", "view"),
        "logistics.export_shipment",
        "logistics.import_tracking",
        "logistics.view_logistics_report",
        *_crud("logistics.shipmentbatch", "view"),
        *_crud("logistics.shipment", "view"),
        *_crud("logistics.trackingevent", "view"),
        *_crud("logistics.logisticsimport", "view"),
        # Templates, default couriers, freight rules and status mappings: clerks read
        # them; administrators edit them (issue #5: "an administrator edits templates").
        *_crud("logistics.exporttemplate", "view"),
        *_crud("logistics.provincecourier", "view"),
        *_crud("logistics.freightrule", "view"),
        *_crud("logistics.statusmapping", "view"),
    ],
    Role.FINANCE: [
        *_crud("crm.customer", "view"),
        *_BASE_DATA_READ,
        *_crud("orders.order", "view"),
        "orders.export_order",
        *_crud("orders.payment", "view", "add"),
        *_crud("orders.orderreturn", "view", "add"),
        "logistics.reconcile_cod",
        "logistics.view_logistics_report",
        *_crud("logistics.shipment", "view"),
        *_crud("logistics.trackingevent", "view"),
        *_crud("logistics.logisticsimport", "view"),
        *_crud("logistics.remittanceline", "view"),
    ],
    Role.SUPERVISOR: [
        *_crud("crm.customer", "view", "add", "change"),
        "crm.merge_customer",
        "crm.import_customer",
        "crm.export_customer",
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
        *_DIAL,
        "telephony.view_wallboard",
        *_crud("callbacks.callbackrequest", "view"),
        "callbacks.work_callbackrequest",
        "callbacks.manage_callbackrequest",
        "callbacks.export_callbackrequest",
        *_crud("routing.routingpolicy", "view", "change"),
        *_crud("routing.holiday", "view", "add", "change", "delete"),
        "telephony.listen_recording",
        "telephony.supervise_call",
        *_crud("telephony.seat", "view"),
        *_crud("orders.order", "view"),
        "orders.cancel_order",
        "orders.merge_order",
        "orders.export_order",
        *_crud("orders.payment", "view"),
        *_crud("orders.orderreturn", "view"),
        "reports.view_statistics",
    ],
}

# Seeing full phone numbers: granted to these roles once (see the module docstring);
# afterwards only the masking page changes it. Couriers need the full number on the
# shipping sheet; supervisors call customers back.
FULL_PHONE_PERMISSION = "crm.view_full_phone"
FULL_PHONE_DEFAULT_ROLES = [Role.LOGISTICS, Role.SUPERVISOR]

# Administrators get every permission of the project's own apps (not "view full phone":
# that is a choice administrators make per role on the masking page).
ADMIN_APPS = [
    "accounts",
    "audit",
    "catalog",
    "media",
    "crm",
    "orders",
    "logistics",
    "telephony",
    "callbacks",
    "routing",
    "cdr",
    "reports",
]
ADMIN_EXCLUDED = {FULL_PHONE_PERMISSION}


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
            # ... and the roles themselves (groups), which they set up in the admin.
            perms = permission_model.objects.filter(
                Q(content_type__app_label__in=ADMIN_APPS)
                | Q(content_type__app_label="auth", content_type__model="group")
            )
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
    full_phone_defaults_once(group_model=group_model, permission_model=permission_model)


def full_phone_defaults_once(*, group_model, permission_model) -> None:
    """Grant ``crm.view_full_phone`` to ``FULL_PHONE_DEFAULT_ROLES`` unless the masking
    choice was ever made (by this function or on the masking page): both leave an audit
    entry of action "permission" on that permission, which is the marker."""
    from tvshop.audit.models import AuditAction, AuditEntry
    from tvshop.audit.services import audit_record

    app_label, codename = FULL_PHONE_PERMISSION.split(".")
    perm = permission_model.objects.filter(
        content_type__app_label=app_label, codename=codename
    ).first()
    if perm is None:
        log.warning("permission %s does not exist", FULL_PHONE_PERMISSION)
        return
    already_chosen = AuditEntry.objects.filter(
        action=AuditAction.PERMISSION,
        content_type__app_label="auth",
        content_type__model="permission",
        object_id=str(perm.pk),
    ).exists()
    if already_chosen:
        return
    codes = [r.value for r in FULL_PHONE_DEFAULT_ROLES]
    for group in group_model.objects.filter(name__in=codes):
        group.permissions.add(perm)
    audit_record(
        actor=None,
        action=AuditAction.PERMISSION,
        obj=perm,
        after={"full_phone_roles": codes},
        note="initial role defaults",
    )


def roles_sync_on_migrate(sender, using="default", **kwargs):
    from django.apps import apps
    from django.contrib.auth.models import Group, Permission

    # post_migrate fires once per app, in INSTALLED_APPS order, and auth creates each
    # app's permissions in its own handler; after the last app, all permissions exist.
    with_models = [a for a in apps.get_app_configs() if a.models_module is not None]
    if sender.name != with_models[-1].name:
        return
    roles_sync(group_model=Group, permission_model=Permission)
