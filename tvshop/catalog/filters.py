"""Filters shared by the pages and the API (django-filter)."""

from __future__ import annotations

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tvshop.audit.pages import yes_no_any
from tvshop.catalog.models import Courier, Gift, Product, Supplier


class ProductFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("SKU or name"))
    on_sale = django_filters.BooleanFilter(label=_("on sale"), widget=yes_no_any())
    supplier = django_filters.ModelChoiceFilter(
        queryset=Supplier.objects.order_by("name"), label=_("supplier")
    )

    class Meta:
        model = Product
        fields = ["q", "on_sale", "supplier"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value))


class GiftFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("SKU or name"))
    on_offer = django_filters.BooleanFilter(label=_("on offer"), widget=yes_no_any())
    in_stock = django_filters.BooleanFilter(
        method="filter_in_stock", label=_("in stock"), widget=yes_no_any()
    )
    supplier = django_filters.ModelChoiceFilter(
        queryset=Supplier.objects.order_by("name"), label=_("supplier")
    )

    class Meta:
        model = Gift
        fields = ["q", "on_offer", "in_stock", "supplier"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(sku__icontains=value) | Q(name__icontains=value))

    def filter_in_stock(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(stock__gt=0) if value else queryset.filter(stock=0)


class SupplierFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("name or contact"))
    active = django_filters.BooleanFilter(label=_("active"), widget=yes_no_any())

    class Meta:
        model = Supplier
        fields = ["q", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__icontains=value) | Q(contact__icontains=value))


class CourierFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("code or name"))
    active = django_filters.BooleanFilter(label=_("active"), widget=yes_no_any())

    class Meta:
        model = Courier
        fields = ["q", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(code__icontains=value) | Q(name__icontains=value))
