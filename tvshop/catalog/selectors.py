"""Reads of the catalog, shaped for the pages and the API (no N+1 queries)."""

from __future__ import annotations

from django.db.models import Count, QuerySet

from tvshop.catalog.models import Courier, Gift, Product, Supplier


def product_list() -> QuerySet[Product]:
    return Product.objects.select_related("supplier").order_by("sku")


def gift_list() -> QuerySet[Gift]:
    return Gift.objects.select_related("supplier").order_by("sku")


def supplier_list() -> QuerySet[Supplier]:
    return Supplier.objects.annotate(
        product_count=Count("product", distinct=True), gift_count=Count("gift", distinct=True)
    ).order_by("name")


def courier_list() -> QuerySet[Courier]:
    return Courier.objects.order_by("name")
