"""Admin for the courier data administrators maintain without code: export templates with
their ordered columns, default couriers by province, freight rules, status mappings.
Every save is audited (``AuditedModelAdmin``; template columns through ``save_formset``).
Batches and imports are read-only here (their pages do the work)."""

from django.contrib import admin

from logistics.models import (
    ExportTemplate,
    FreightRule,
    LogisticsImport,
    ProvinceCourier,
    ShipmentBatch,
    StatusMapping,
    TemplateColumn,
)
from tvshop.audit.admin import AuditedModelAdmin
from tvshop.audit.crud import audited_delete, audited_save


class TemplateColumnInline(admin.TabularInline):
    model = TemplateColumn
    extra = 1
    ordering = ("position",)
    fields = ("position", "header", "source", "fixed_value")


@admin.register(ExportTemplate)
class ExportTemplateAdmin(AuditedModelAdmin):
    list_display = ("name", "courier", "file_format", "updated_at")
    list_select_related = ("courier",)
    inlines = [TemplateColumnInline]

    def save_formset(self, request, form, formset, change):
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            audited_delete(actor=request.user, instance=obj)
        for obj in instances:
            audited_save(actor=request.user, instance=obj)
        formset.save_m2m()


@admin.register(ProvinceCourier)
class ProvinceCourierAdmin(AuditedModelAdmin):
    list_display = ("province", "courier")
    list_select_related = ("province", "courier")
    list_filter = ("courier",)


@admin.register(FreightRule)
class FreightRuleAdmin(AuditedModelAdmin):
    list_display = ("courier", "province", "first_kg", "additional_kg")
    list_select_related = ("courier", "province")
    list_filter = ("courier",)


@admin.register(StatusMapping)
class StatusMappingAdmin(AuditedModelAdmin):
    list_display = ("text", "status", "courier")
    list_filter = ("status", "courier")
    search_fields = ("text",)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ShipmentBatch)
class ShipmentBatchAdmin(ReadOnlyAdmin):
    list_display = ("number", "courier", "state", "order_count", "created_by", "created_at")
    list_filter = ("state", "courier")
    search_fields = ("number",)


@admin.register(LogisticsImport)
class LogisticsImportAdmin(ReadOnlyAdmin):
    list_display = ("file_name", "kind", "state", "rows", "to_change", "error_count", "created_at")
    list_filter = ("kind", "state")
