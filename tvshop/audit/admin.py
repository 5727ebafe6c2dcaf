from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from tvshop.audit.crud import audited_delete, audited_save
from tvshop.audit.models import AuditEntry
from tvshop.audit.selectors import audit_entry_changes
from tvshop.errors import DomainError


class AuditedModelAdmin(admin.ModelAdmin):
    """Admin saves and deletes go through the audited write helpers, like the services:
    validation, one transaction, one audit entry with before/after."""

    def save_model(self, request, obj, form, change):
        audited_save(actor=request.user, instance=obj, note="admin")

    def delete_model(self, request, obj):
        audited_delete(actor=request.user, instance=obj, note="admin")

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            try:
                audited_delete(actor=request.user, instance=obj, note="admin")
            except DomainError as exc:
                self.message_user(request, exc.message, level="error")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Read-only, even for superusers: entries are append-only."""

    list_display = ("at", "actor", "action", "content_type", "object_id", "object_repr")
    list_filter = ("action", "content_type", "at")
    search_fields = ("object_repr", "object_id", "note", "actor__username", "actor__full_name")
    list_select_related = ("actor", "content_type")
    date_hierarchy = "at"
    readonly_fields = (
        "at",
        "actor",
        "action",
        "content_type",
        "object_id",
        "object_repr",
        "before",
        "after",
        "changes_display",
        "note",
        "ip",
    )
    fields = readonly_fields

    @admin.display(description=_("Changes"))
    def changes_display(self, entry):
        return "; ".join(
            f"{row['label']}: {row['before']} → {row['after']}"
            for row in audit_entry_changes(entry)
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
