from django.contrib import admin

from tvshop.audit.admin import AuditedModelAdmin
from tvshop.catalog.models import Courier, Gift, Product, Supplier


@admin.register(Supplier)
class SupplierAdmin(AuditedModelAdmin):
    list_display = ("name", "contact", "phone", "active")
    list_filter = ("active",)
    search_fields = ("name", "contact", "phone")


@admin.register(Product)
class ProductAdmin(AuditedModelAdmin):
    list_display = ("sku", "name", "price", "cost", "on_sale", "supplier", "updated_at")
    list_filter = ("on_sale", "supplier")
    search_fields = ("sku", "name")
    list_select_related = ("supplier",)
    autocomplete_fields = ("supplier",)


@admin.register(Gift)
class GiftAdmin(AuditedModelAdmin):
    list_display = ("sku", "name", "value", "stock", "on_offer", "supplier")
    list_filter = ("on_offer", "supplier")
    search_fields = ("sku", "name")
    list_select_related = ("supplier",)
    autocomplete_fields = ("supplier",)


@admin.register(Courier)
class CourierAdmin(AuditedModelAdmin):
    list_display = ("code", "name", "supports_cod", "active")
    list_filter = ("active", "supports_cod")
    search_fields = ("code", "name")
