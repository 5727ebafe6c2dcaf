"""Reads for payments, returns and merges (finance pages, the order page's includes, API)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from orders.choices import OrderStatus
from orders.models import Order, OrderGift, OrderLine, OrderReturn, OrderReturnItem, Payment
from orders.services.merge import MERGEABLE_STATUSES, order_merge_problems
from orders.services.returns import returned_quantities


def payment_list() -> QuerySet[Payment]:
    """Payment records with what the list, the export and the API show (constant queries)."""
    return Payment.objects.select_related(
        "order",
        "order__customer",
        "order__station",
        "order__courier",
        "recorded_by",
    ).order_by("-paid_at", "-id")


def receivables() -> QuerySet[Order]:
    """Orders that money is expected for (not cancelled or merged), newest first."""
    return (
        Order.objects.exclude(status__in=[OrderStatus.CANCELLED, OrderStatus.MERGED])
        .select_related("customer", "station", "courier")
        .order_by("-created_at", "-id")
    )


def order_payments(order: Order) -> list[Payment]:
    return list(order.payments.select_related("recorded_by").order_by("paid_at", "id"))


def return_list() -> QuerySet[OrderReturn]:
    return (
        OrderReturn.objects.select_related(
            "order", "order__customer", "created_by", "refund_payment"
        )
        .prefetch_related(
            Prefetch(
                "items",
                queryset=OrderReturnItem.objects.select_related("line", "gift").order_by("id"),
            )
        )
        .order_by("-created_at", "-id")
    )


def order_returns(order: Order) -> list[OrderReturn]:
    return list(return_list().filter(order=order))


def returnable_items(order: Order) -> list[dict]:
    """Each line and gift of ``order``: ordered, already returned, still returnable."""
    done_lines, done_gifts = returned_quantities(order)
    rows = []
    for line in OrderLine.objects.filter(order=order).order_by("id"):
        rows.append(
            {
                "key": f"line_{line.pk}",
                "item": line,
                "kind": "line",
                "ordered": line.quantity,
                "returned": done_lines.get(line.pk, 0),
                "left": line.quantity - done_lines.get(line.pk, 0),
            }
        )
    for gift in OrderGift.objects.filter(order=order).order_by("id"):
        rows.append(
            {
                "key": f"gift_{gift.pk}",
                "item": gift,
                "kind": "gift",
                "ordered": gift.quantity,
                "returned": done_gifts.get(gift.pk, 0),
                "left": gift.quantity - done_gifts.get(gift.pk, 0),
            }
        )
    return rows


def mergeable_siblings(order: Order) -> list[Order]:
    """Other open orders of the same customer that ``order`` could be merged with."""
    if order.status not in MERGEABLE_STATUSES or order.merged_into_id:
        return []
    candidates = (
        Order.objects.filter(
            customer_id=order.customer_id, status__in=MERGEABLE_STATUSES, merged_into=None
        )
        .exclude(pk=order.pk)
        .prefetch_related("lines")
        .order_by("created_at", "id")[:50]
    )
    return [c for c in candidates if not order_merge_problems([order, c])]
