"""Read-only admin list of the CDRs the switch posted. The raw JSON holds full phone
numbers, so the admin shows the bookkeeping, not the document."""

from django.contrib import admin

from telephony.cdr.models import CallDetailRecord


@admin.register(CallDetailRecord)
class CallDetailRecordAdmin(admin.ModelAdmin):
    list_display = ["uuid", "call_uuid", "result", "received_at", "call_id", "detail"]
    list_filter = ["result"]
    search_fields = ["uuid", "call_uuid"]
    fields = ["uuid", "call_uuid", "core_uuid", "received_at", "result", "detail", "call"]
    readonly_fields = fields
    raw_id_fields = ["call"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
