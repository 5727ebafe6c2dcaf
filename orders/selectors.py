"""Reads for order entry and review: product search, duplicate candidates, the review
queues, an agent's own orders, a customer's order history, one order with its trail."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from crm.models import Customer, Division
from orders.choices import OrderStatus, ReviewStage
from orders.models import Order, OrderStatusChange
from tvshop.catalog.models import Product

S = OrderStatus
UNSHIPPED = (S.SUBMITTED, S.REJECTED, S.FIRST_APPROVED, S.SECOND_APPROVED, S.EXPORTED)
QUEUE_STATUS = {ReviewStage.FIRST: S.SUBMITTED, ReviewStage.SECOND: S.FIRST_APPROVED}
LIST_RELATED = ("customer", "agent", "station", "province", "city", "district")


def products_on_sale(q: str, *, limit: int = 10) -> list[Product]:
    """Products on sale whose SKU starts with, or whose name contains, ``q``."""
    q = (q or "").strip()[:40]
    if not q:
        return []
    return list(
        Product.objects.filter(on_sale=True)
        .filter(Q(sku__istartswith=q) | Q(name__icontains=q))
        .order_by("sku")[:limit]
    )


def duplicate_candidates(
    *,
    customer: Customer,
    phone: str = "",
    address_id: int | None = None,
    district_id: str | None = None,
    street: str = "",
    days: int | None = None,
) -> QuerySet[Order]:
    """Unshipped orders of the last ``ORDERS_DUPLICATE_DAYS`` days of the same customer,
    to one of the customer's phone numbers (or ``phone``), or to the same address."""
    days = settings.ORDERS_DUPLICATE_DAYS if days is None else days
    since = timezone.now() - dt.timedelta(days=days)
    phones = [p for p in customer.phones.values_list("number", flat=True)]
    if phone:
        phones.append(phone)
    match = Q(customer=customer) | Q(phone__in=phones)
    if address_id:
        match |= Q(address_id=address_id)
    if district_id and street:
        match |= Q(district_id=district_id, street=street.strip())
    return (
        Order.objects.filter(status__in=UNSHIPPED, created_at__gte=since)
        .filter(match)
        .select_related("customer")
        .order_by("-created_at", "-pk")
    )


def review_queue(stage) -> QuerySet[Order]:
    """Orders waiting for ``stage``, oldest first, with what the queue page shows.

    The divisions are not joined (see :func:`attach_divisions` for the page's rows): with
    all six relations joined PostgreSQL spent ~100 ms *planning* the page's SELECT (the
    join order search over orders' many indexes) against ~1 ms executing it; with three
    joins planning takes ~1 ms (docs/benchmarks.md, "review_queue")."""
    return (
        Order.objects.filter(status=QUEUE_STATUS[ReviewStage(int(stage))])
        .select_related("customer", "agent", "station")
        .order_by("submitted_at", "pk")
    )


def attach_divisions(orders: list[Order]) -> list[Order]:
    """Province, city and district of ``orders`` in one query (instead of three joins)."""
    codes = {c for o in orders for c in (o.province_id, o.city_id, o.district_id) if c}
    found = Division.objects.in_bulk(codes) if codes else {}
    for o in orders:
        for name in ("province", "city", "district"):
            code = getattr(o, f"{name}_id")
            if code in found:
                setattr(o, name, found[code])
    return orders


def agent_orders(agent) -> QuerySet[Order]:
    """An agent's own orders, the ones sent back first, then the newest."""
    return (
        Order.objects.filter(agent=agent)
        .select_related("customer", "province", "city", "district")
        .order_by("-status_at", "-pk")
    )


def customer_orders_queryset(customer_id: int, *, q: str = "") -> QuerySet[Order]:
    """A customer's orders, newest first; ``q`` an order number or its beginning."""
    queryset = (
        Order.objects.filter(customer_id=customer_id)
        .select_related("agent", "province", "city", "district")
        .prefetch_related("lines")
        .order_by("-created_at", "-pk")
    )
    q = (q or "").strip()[:50]
    if q:
        queryset = queryset.filter(number__startswith=q.upper())
    return queryset


def customer_orders(customer_id: int, *, limit: int | None = None) -> list[Order]:
    queryset = customer_orders_queryset(customer_id)
    return list(queryset[:limit] if limit else queryset)


def order_detail(pk: int) -> Order:
    return (
        Order.objects.select_related(
            *LIST_RELATED,
            "hotline",
            "airing_slot",
            "courier",
            "first_reviewer",
            "second_reviewer",
            "duplicate_of",
            "address",
        )
        .prefetch_related(
            "lines",
            "gifts",
            Prefetch(
                "status_changes",
                queryset=OrderStatusChange.objects.select_related("actor").order_by("at", "pk"),
            ),
        )
        .get(pk=pk)
    )
