"""Labels for codes stored on order status changes."""

from django import template

from orders.choices import OrderStatus, RejectReason

register = template.Library()


@register.filter
def reason_label(code: str) -> str:
    """The label of a reject/cancel reason code; other text as it is."""
    try:
        return str(RejectReason(code).label)
    except ValueError:
        return code


@register.filter
def status_label(code: str) -> str:
    try:
        return str(OrderStatus(code).label)
    except ValueError:
        return code
