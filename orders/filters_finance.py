"""Filters of the payment and return lists (pages, export and API share them)."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from orders.choices import OrderStatus, PaymentChannel, PaymentMethod, PaymentStatus, ReturnReason
from orders.models import Order, OrderReturn, Payment
from tvshop.catalog.models import Courier
from tvshop.media.models import Station


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class _DateRange(django_filters.FilterSet):
    date_field = ""
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label=_("date from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to", label=_("date to"), widget=forms.DateInput(attrs={"type": "date"})
    )

    def filter_date_from(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(**{f"{self.date_field}__gte": _local_midnight(value)})

    def filter_date_to(self, queryset, name, value):
        if not value:
            return queryset
        end = _local_midnight(value + dt.timedelta(days=1))
        return queryset.filter(**{f"{self.date_field}__lt": end})


class PaymentFilter(_DateRange):
    date_field = "paid_at"
    q = django_filters.CharFilter(method="filter_q", label=_("order, payer or reference"))
    channel = django_filters.ChoiceFilter(choices=PaymentChannel.choices, label=_("method"))
    status = django_filters.ChoiceFilter(
        field_name="order__payment_status", choices=PaymentStatus.choices, label=_("payment status")
    )
    station = django_filters.ModelChoiceFilter(
        field_name="order__station", queryset=Station.objects.all(), label=_("TV station")
    )
    courier = django_filters.ModelChoiceFilter(
        field_name="order__courier", queryset=Courier.objects.all(), label=_("courier")
    )
    kind = django_filters.ChoiceFilter(
        method="filter_kind",
        choices=[("received", _("Received")), ("refund", _("Refunds"))],
        label=_("kind"),
    )

    class Meta:
        model = Payment
        fields = ["q", "date_from", "date_to", "channel", "status", "station", "courier", "kind"]

    def filter_q(self, queryset, name, value):
        value = value.strip()[:50]
        if not value:
            return queryset
        return queryset.filter(
            Q(order__number__iexact=value) | Q(payer__icontains=value) | Q(reference=value)
        )

    def filter_kind(self, queryset, name, value):
        if value == "refund":
            return queryset.filter(amount__lt=0)
        if value == "received":
            return queryset.filter(amount__gt=0)
        return queryset


class ReturnFilter(_DateRange):
    date_field = "created_at"
    q = django_filters.CharFilter(method="filter_q", label=_("order number"))
    reason = django_filters.ChoiceFilter(choices=ReturnReason.choices, label=_("reason"))

    class Meta:
        model = OrderReturn
        fields = ["q", "date_from", "date_to", "reason"]

    def filter_q(self, queryset, name, value):
        value = value.strip()[:50]
        return queryset.filter(order__number__iexact=value) if value else queryset


class ReceivableFilter(_DateRange):
    """Orders as finance sees them: what is paid, part-paid or unpaid."""

    date_field = "created_at"
    q = django_filters.CharFilter(method="filter_q", label=_("order number"))
    payment_status = django_filters.ChoiceFilter(
        choices=PaymentStatus.choices, label=_("payment status")
    )
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, label=_("status"))
    payment_method = django_filters.ChoiceFilter(
        choices=PaymentMethod.choices, label=_("payment method")
    )
    station = django_filters.ModelChoiceFilter(
        queryset=Station.objects.all(), label=_("TV station")
    )
    courier = django_filters.ModelChoiceFilter(queryset=Courier.objects.all(), label=_("courier"))

    class Meta:
        model = Order
        fields = [
            "q",
            "date_from",
            "date_to",
            "payment_status",
            "status",
            "payment_method",
            "station",
            "courier",
        ]

    def filter_q(self, queryset, name, value):
        value = value.strip()[:50]
        return queryset.filter(number__iexact=value) if value else queryset
