"""Admin for crm. Customers, phones, addresses and divisions are read-only here: every
change goes through the services (and their audit) on the site's own pages and API.
Other areas append their admin classes below."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.masking import phone_mask
from crm.models import Address, Customer, CustomerPhone, Division


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PhoneInline(admin.TabularInline):
    model = CustomerPhone
    fields = ["masked_number", "kind", "province", "city", "is_primary"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("number"))
    def masked_number(self, obj):
        return phone_mask(obj.number)

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "level", "member_no", "points_balance", "merged_into"]
    list_filter = ["level"]
    search_fields = ["name", "member_no"]
    exclude = ["pin_hash"]
    inlines = [PhoneInline]
    list_select_related = ["merged_into"]


@admin.register(CustomerPhone)
class CustomerPhoneAdmin(ReadOnlyAdmin):
    list_display = ["id", "masked_number", "kind", "province", "city", "customer"]
    list_filter = ["kind"]
    fields = ["customer", "masked_number", "kind", "province", "city", "is_primary"]
    readonly_fields = fields
    list_select_related = ["customer"]

    @admin.display(description=_("number"))
    def masked_number(self, obj):
        # The admin is no way around masking (administrators do not see full numbers
        # by default either); the customer page has the audited reveal.
        return phone_mask(obj.number)


@admin.register(Address)
class AddressAdmin(ReadOnlyAdmin):
    list_display = ["id", "customer", "province", "city", "district", "street", "is_default"]
    list_select_related = ["customer", "province", "city", "district"]
    exclude = ["phone"]


@admin.register(Division)
class DivisionAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "level", "parent"]
    list_filter = ["level"]
    search_fields = ["code", "name"]
    list_select_related = ["parent"]
