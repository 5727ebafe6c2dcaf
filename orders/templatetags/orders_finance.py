"""Template filters of the finance pages."""

from django import template

from crm.masking import phone_for_user

register = template.Library()


@register.filter
def phone_for(number: str, user) -> str:
    """``{{ order.phone|phone_for:request.user }}``: full or masked, as the user may see it."""
    return phone_for_user(number, user)
