from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _

from tvshop.accounts.models import User
from tvshop.accounts.services import user_snapshot
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    """The Django admin for users, audited like the users page (the admin wraps each
    change in one transaction; the entry is written after the roles are saved)."""

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

    def save_model(self, request, obj, form, change):
        request._audit_before = (
            user_snapshot(User.objects.get(pk=obj.pk)) if change and obj.pk else None
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_audit_before", None)
        after = user_snapshot(form.instance)
        if before != after or "password" in form.changed_data:
            audit_record(
                actor=request.user,
                action=AuditAction.UPDATE if change else AuditAction.CREATE,
                obj=form.instance,
                before=before,
                after=after,
                note="admin",
            )

    def delete_model(self, request, obj):
        before, pk, text = user_snapshot(obj), obj.pk, str(obj)
        super().delete_model(request, obj)
        audit_record(
            actor=request.user,
            action=AuditAction.DELETE,
            object_type=User,
            object_id=pk,
            object_repr=text,
            before=before,
            note="admin",
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)


def _group_snapshot(group: Group) -> dict:
    perms = group.permissions.select_related("content_type")
    return {
        "name": group.name,
        "permissions": sorted(f"{p.content_type.app_label}.{p.codename}" for p in perms),
    }


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(BaseGroupAdmin):
    """Roles are groups; a change of their permissions is audited ("permission")."""

    def save_model(self, request, obj, form, change):
        request._audit_before = (
            _group_snapshot(Group.objects.get(pk=obj.pk)) if change and obj.pk else None
        )
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        before = getattr(request, "_audit_before", None)
        after = _group_snapshot(form.instance)
        if before != after:
            audit_record(
                actor=request.user,
                action=AuditAction.PERMISSION,
                obj=form.instance,
                before=before,
                after=after,
                note="admin",
            )

    def delete_model(self, request, obj):
        before, pk, text = _group_snapshot(obj), obj.pk, str(obj)
        super().delete_model(request, obj)
        audit_record(
            actor=request.user,
            action=AuditAction.DELETE,
            object_type=Group,
            object_id=pk,
            object_repr=text,
            before=before,
            note="admin",
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)
