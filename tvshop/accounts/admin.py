from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from tvshop.accounts.models import User
from tvshop.accounts.services import user_snapshot
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record


class SnapshotAuditedAdmin(admin.ModelAdmin):
    """Admin changes audited with a snapshot taken before the save and compared after the
    related objects are saved (roles of a user, permissions of a group live in m2m tables).
    The admin wraps each change in one transaction, so the entry commits with the change."""

    def audit_snapshot(self, obj) -> dict:
        raise NotImplementedError

    def audit_action(self, change: bool) -> str:
        return AuditAction.UPDATE if change else AuditAction.CREATE

    def audit_changed(self, form, before, after) -> bool:
        return before != after

    def save_model(self, request, obj, form, change):
        request._audit_before = (
            self.audit_snapshot(type(obj).objects.get(pk=obj.pk)) if change and obj.pk else None
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_audit_before", None)
        after = self.audit_snapshot(form.instance)
        if self.audit_changed(form, before, after):
            audit_record(
                actor=request.user,
                action=self.audit_action(change),
                obj=form.instance,
                before=before,
                after=after,
                note="admin",
            )

    def delete_model(self, request, obj):
        before, pk, text = self.audit_snapshot(obj), obj.pk, str(obj)
        super().delete_model(request, obj)
        audit_record(
            actor=request.user,
            action=AuditAction.DELETE,
            object_type=type(obj),
            object_id=pk,
            object_repr=text,
            before=before,
            note="admin",
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


@admin.register(User)
class UserAdmin(SnapshotAuditedAdmin, BaseUserAdmin):
    """The Django admin for users, audited like the users page."""

    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Call center"), {"fields": ("full_name", "employee_no", "language")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Call center"), {"fields": ("full_name", "employee_no", "language", "groups")}),
    )
    list_display = ("username", "full_name", "employee_no", "is_active", "is_staff")
    list_filter = ("is_active", "is_staff", "groups")
    search_fields = ("username", "full_name", "employee_no")

    def audit_snapshot(self, obj) -> dict:
        return user_snapshot(obj)

    def audit_changed(self, form, before, after) -> bool:
        return before != after or "password" in form.changed_data


def _group_snapshot(group: Group) -> dict:
    perms = group.permissions.select_related("content_type")
    return {
        "name": group.name,
        "permissions": sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms),
    }


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(SnapshotAuditedAdmin, BaseGroupAdmin):
    """Roles are groups; a change of their permissions is audited ("permission")."""

    def audit_snapshot(self, obj) -> dict:
        return _group_snapshot(obj)

    def audit_action(self, change: bool) -> str:
        return AuditAction.PERMISSION
