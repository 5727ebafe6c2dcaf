"""Read-only admin views of callbacks (changes go through the pages and services)."""

from django.contrib import admin

from telephony.callbacks.models import CallbackAttempt, CallbackCapture, CallbackRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AttemptInline(admin.TabularInline):
    model = CallbackAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["agent", "call", "mode", "started_at", "ended_at", "result", "cause"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(CallbackRequest)
class CallbackRequestAdmin(ReadOnlyAdmin):
    list_display = ["id", "masked", "station", "status", "priority", "call_count", "attempts"]
    list_filter = ["status", "station", "reason"]
    inlines = [AttemptInline]
    exclude = ["number"]

    @admin.display(description="phone")
    def masked(self, obj):
        from crm.masking import phone_mask

        return phone_mask(obj.number)


@admin.register(CallbackCapture)
class CallbackCaptureAdmin(ReadOnlyAdmin):
    list_display = ["call_uuid", "request", "captured_at", "reason"]
