"""Admin for seats (created here by administrators) and read-only views of the records the
switch and the desktop write."""

from django.contrib import admin

from telephony.models import AgentStatusChange, Call, CallEvent, Seat, SeatSession


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Seat)
class SeatAdmin(admin.ModelAdmin):
    list_display = ["extension", "label", "domain", "active", "status", "state", "reason"]
    list_filter = ["active", "status", "state"]
    search_fields = ["extension", "label"]
    readonly_fields = ["status", "state", "reason", "status_at", "state_at"]
    fields = ["extension", "domain", "label", "active", *readonly_fields]


@admin.register(SeatSession)
class SeatSessionAdmin(ReadOnlyAdmin):
    list_display = ["seat", "user", "started_at", "ended_at"]
    list_filter = ["seat"]
    list_select_related = ["seat", "user"]
    date_hierarchy = "started_at"


@admin.register(AgentStatusChange)
class AgentStatusChangeAdmin(ReadOnlyAdmin):
    list_display = ["at", "seat", "user", "status", "state", "reason", "source"]
    list_filter = ["source", "status", "state"]
    list_select_related = ["seat", "user"]
    date_hierarchy = "at"


class CallEventInline(admin.TabularInline):
    model = CallEvent
    extra = 0
    can_delete = False
    fields = ["at", "kind", "key", "data"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "direction",
        "dialled",
        "queue",
        "seat",
        "agent",
        "customer",
        "outcome",
        "hangup_cause",
    ]
    list_filter = ["direction", "outcome"]
    list_select_related = ["seat", "agent", "customer"]
    search_fields = ["uuid"]
    date_hierarchy = "created_at"
    raw_id_fields = ["customer"]
    inlines = [CallEventInline]
