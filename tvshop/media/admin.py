from django.contrib import admin

from tvshop.audit.admin import AuditedModelAdmin
from tvshop.media.models import AiringSlot, Hotline, Station


@admin.register(Station)
class StationAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "region", "active")
    list_filter = ("active", "region")
    search_fields = ("code", "name", "region")


@admin.register(Hotline)
class HotlineAdmin(AuditedModelAdmin):
    list_display = ("number", "station", "queue_name", "product", "active")
    list_filter = ("active", "station")
    search_fields = ("number", "queue_name", "station__name")
    list_select_related = ("station", "product")
    autocomplete_fields = ("station", "product")


@admin.register(AiringSlot)
class AiringSlotAdmin(AuditedModelAdmin):
    list_display = ("start", "end", "station", "product", "hotline", "cost")
    list_filter = ("station", "start")
    search_fields = ("product__name", "product__sku", "station__name", "hotline__number")
    list_select_related = ("station", "product", "hotline__station")
    autocomplete_fields = ("station", "product", "hotline")
    date_hierarchy = "start"
