from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from tvshop.accounts.models import User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Call center"), {"fields": ("full_name", "employee_no", "language")}),
    )
    add_fieldsets = (
        *BaseUserAdmin.add_fieldsets,
        (_("Call center"), {"fields": ("full_name", "employee_no", "language", "groups")}),
    )
    list_display = ("username", "full_name", "employee_no", "is_active", "is_staff")
    search_fields = ("username", "full_name", "employee_no")
