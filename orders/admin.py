"""Admin: gift rules and discount limits are edited here (audited); orders are read-only
here (they change through the entry and review pages, which enforce the rules)."""

from django.contrib import admin

from orders.models import DiscountLimit, GiftRule, Order, OrderGift, OrderLine, OrderStatusChange
from tvshop.audit.admin import AuditedModelAdmin


@admin.register(GiftRule)
class GiftRuleAdmin(AuditedModelAdmin):
    list_display = (
        "name",
        "kind",
        "gift",
        "gift_quantity",
        "product",
        "min_quantity",
        "min_amount",
        "points_cost",
        "valid_from",
        "valid_until",
        "active",
    )
    list_filter = ("kind", "active")
    search_fields = ("name", "gift__name", "gift__sku", "product__name", "product__sku")
    list_select_related = ("gift", "product")
    autocomplete_fields = ()
    raw_id_fields = ("gift", "product")


@admin.register(DiscountLimit)
class DiscountLimitAdmin(AuditedModelAdmin):
    list_display = ("group", "max_percent")


class _ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class OrderLineInline(_ReadOnlyInline):
    model = OrderLine
    fields = ("sku", "name", "list_price", "unit_price", "quantity", "amount")
    readonly_fields = fields


class OrderGiftInline(_ReadOnlyInline):
    model = OrderGift
    fields = ("sku", "name", "quantity", "points_spent", "rule")
    readonly_fields = fields


class OrderStatusChangeInline(_ReadOnlyInline):
    model = OrderStatusChange
    fields = ("at", "from_status", "to_status", "stage", "actor", "reason", "note")
    readonly_fields = fields


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    """Read-only: look orders up here; change them through the order pages."""

    list_display = (
        "number",
        "status",
        "customer",
        "agent",
        "total",
        "payment_method",
        "payment_status",
        "created_at",
    )
    list_filter = ("status", "payment_method", "payment_status", "is_duplicate", "is_vip")
    search_fields = ("number", "customer__name", "phone", "call_uuid")
    list_select_related = ("customer", "agent")
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, OrderGiftInline, OrderStatusChangeInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Order._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
