from django.contrib import admin

from telephony.routing.models import Holiday, RoutingPolicy
from tvshop.audit.admin import AuditedModelAdmin


class HolidayInline(admin.TabularInline):
    model = Holiday
    extra = 0


@admin.register(RoutingPolicy)
class RoutingPolicyAdmin(AuditedModelAdmin):
    list_display = [
        "hotline",
        "trunk_capacity",
        "overflow_threshold_pct",
        "max_wait_seconds",
        "max_queued",
        "recording",
        "overflow_active",
        "overflow_reason",
    ]
    list_select_related = ["hotline"]
    readonly_fields = ["overflow_active", "overflow_reason", "overflow_changed_at"]
    inlines = [HolidayInline]
