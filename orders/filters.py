"""Filters of the review queues and the agent's order list (django-filter)."""

from __future__ import annotations

import re

import django_filters
from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from crm.choices import DivisionLevel
from crm.models import Division
from orders.choices import OrderStatus, PaymentMethod
from orders.models import Order
from tvshop.audit.pages import yes_no_any
from tvshop.media.models import Station

ORDER_NUMBER = re.compile(r"^[A-Za-z]{1,8}\d{2,}$")
SEARCH_MAX = 1000


def order_search(queryset, value: str):
    """Orders whose number starts with ``value`` (when it looks like an order number:
    letters then digits, "SO2026…") or whose customer matches it (name, phone, member
    number: ``crm.selectors.customers.customer_search``).

    Each side is answered by an index: the number's ``varchar_pattern_ops`` index
    (numbers are upper case, so ``LIKE 'SO2026%'``, not ``UPPER(number) LIKE``); the
    customers' pg_trgm / phone indexes, then orders by ``customer_id`` for at most
    ``SEARCH_MAX`` customers (one extra query, only when searching). The former
    ``UPPER(number) LIKE … OR customer.name ILIKE …`` over a join read the whole queue:
    1.2 s with 200,000 orders waiting (docs/benchmarks.md, "review_queue")."""
    from crm.selectors.customers import customer_search

    value = (value or "").strip()[:50]
    if not value:
        return queryset
    if ORDER_NUMBER.match(value):
        # a capped subquery: read off the number index first, whatever the planner
        # guesses about a prefix (it walked 190,000 queued orders for "BENCHRQ0019")
        numbers = Order.objects.filter(number__startswith=value.upper()).order_by()
        return queryset.filter(pk__in=numbers.values("pk")[:SEARCH_MAX])
    customers = list(customer_search(value).order_by().values_list("pk", flat=True)[:SEARCH_MAX])
    return queryset.filter(customer_id__in=customers)


def _agents(request):
    # EXISTS, not JOIN + DISTINCT: with a million orders the join took ~0.8 s per page,
    # the semi-join ~12 ms (measured, docs/benchmarks.md "review_queue").
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Exists(Order.objects.filter(agent_id=OuterRef("pk"))))
        .order_by("username")
    )


class ReviewQueueFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("order number or customer"))
    station = django_filters.ModelChoiceFilter(
        queryset=Station.objects.order_by("name"), label=_("TV station")
    )
    agent = django_filters.ModelChoiceFilter(queryset=_agents, label=_("agent"))
    total_min = django_filters.NumberFilter(
        field_name="total", lookup_expr="gte", label=_("total from")
    )
    total_max = django_filters.NumberFilter(field_name="total", lookup_expr="lte", label=_("to"))
    province = django_filters.ModelChoiceFilter(
        queryset=Division.objects.filter(level=DivisionLevel.PROVINCE).order_by("code"),
        label=_("province"),
    )
    payment_method = django_filters.ChoiceFilter(
        choices=PaymentMethod.choices, label=_("payment method")
    )
    is_duplicate = django_filters.BooleanFilter(label=_("possible duplicate"), widget=yes_no_any())
    is_new_customer = django_filters.BooleanFilter(label=_("new customer"), widget=yes_no_any())
    is_vip = django_filters.BooleanFilter(label=_("VIP"), widget=yes_no_any())
    is_large_amount = django_filters.BooleanFilter(label=_("large amount"), widget=yes_no_any())
    address_incomplete = django_filters.BooleanFilter(
        label=_("address incomplete"), widget=yes_no_any()
    )

    class Meta:
        model = Order
        fields = [
            "q",
            "station",
            "agent",
            "total_min",
            "total_max",
            "province",
            "payment_method",
            "is_duplicate",
            "is_new_customer",
            "is_vip",
            "is_large_amount",
            "address_incomplete",
        ]

    def filter_q(self, queryset, name, value):
        return order_search(queryset, value)


class MyOrdersFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("order number or customer"))
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices, label=_("status"))

    class Meta:
        model = Order
        fields = ["q", "status"]

    filter_q = ReviewQueueFilter.filter_q
