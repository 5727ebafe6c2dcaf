"""Filters shared by the pages and the API (django-filter)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tvshop.audit.pages import yes_no_any
from tvshop.catalog.models import Product
from tvshop.media.models import AiringSlot, Hotline, Station


def local_midnight(day: dt.date) -> dt.datetime:
    """The start of ``day`` in the site's time zone (Asia/Shanghai), as an aware time."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class StationFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("code, name or region"))
    active = django_filters.BooleanFilter(label=_("active"), widget=yes_no_any())

    class Meta:
        model = Station
        fields = ["q", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(code__icontains=value) | Q(name__icontains=value) | Q(region__icontains=value)
        )


class HotlineFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("number or queue"))
    station = django_filters.ModelChoiceFilter(
        queryset=Station.objects.order_by("name"), label=_("TV station")
    )
    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.order_by("sku"), label=_("product")
    )
    active = django_filters.BooleanFilter(label=_("active"), widget=yes_no_any())

    class Meta:
        model = Hotline
        fields = ["q", "station", "product", "active"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(number__contains=value) | Q(queue_name__icontains=value))


class AiringSlotFilter(django_filters.FilterSet):
    station = django_filters.ModelChoiceFilter(
        queryset=Station.objects.order_by("name"), label=_("TV station")
    )
    product = django_filters.ModelChoiceFilter(
        queryset=Product.objects.order_by("sku"), label=_("product")
    )
    hotline = django_filters.ModelChoiceFilter(
        queryset=Hotline.objects.select_related("station").order_by("number"),
        label=_("hotline"),
    )
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label=_("date from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        label=_("date to"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AiringSlot
        fields = ["station", "product", "hotline", "date_from", "date_to"]

    # Bounds as aware times (not start__date) so the (station, start) index is used.
    def filter_date_from(self, queryset, name, value):
        return queryset.filter(start__gte=local_midnight(value)) if value else queryset

    def filter_date_to(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(start__lt=local_midnight(value + dt.timedelta(days=1)))
