"""Orders API: orders (read, with lines, gifts and payments), payment records, returns,
and merging. Every write goes through the same service as the pages; permissions are the
same as the pages' (``tvshop.api`` model permissions or ``HasPerm``)."""

from __future__ import annotations

import django_filters
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from orders.api.serializers import (
    MergeSerializer,
    OrderReturnCreateSerializer,
    OrderReturnSerializer,
    OrderSerializer,
    PaymentCreateSerializer,
    PaymentSerializer,
)
from orders.api.views_review import ReviewActionsMixin
from orders.choices import OrderStatus, PaymentMethod, PaymentStatus
from orders.filters_finance import PaymentFilter, ReturnFilter
from orders.models import Order, Payment
from orders.selectors_finance import mergeable_siblings, payment_list, return_list
from orders.services.merge import order_merge
from orders.services.payments import payment_record
from orders.services.returns import order_return_create
from tvshop.api.permissions import HasPerm


class OrderFilter(django_filters.FilterSet):
    number = django_filters.CharFilter(lookup_expr="iexact", label=_("order number"))
    status = django_filters.MultipleChoiceFilter(choices=OrderStatus.choices)
    payment_status = django_filters.ChoiceFilter(choices=PaymentStatus.choices)
    payment_method = django_filters.ChoiceFilter(choices=PaymentMethod.choices)
    created_from = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_to = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = [
            "number",
            "status",
            "payment_status",
            "payment_method",
            "customer",
            "agent",
            "station",
            "courier",
            "created_from",
            "created_to",
        ]


def orders_for_api():
    return Order.objects.select_related(
        "customer", "province", "city", "district"
    ).prefetch_related(
        "lines",
        "gifts",
        Prefetch("payments", queryset=Payment.objects.order_by("paid_at", "id")),
    )


class OrderViewSet(ReviewActionsMixin, viewsets.ReadOnlyModelViewSet):
    """Orders with their lines, gifts and payment records (phones masked as on the pages).
    POST ``merge/`` merges orders; GET ``{id}/mergeable/`` lists the orders it could be
    merged with. Review actions (``review-first/…``, ``review-second/…``, ``cancel/``)
    come from ``ReviewActionsMixin``."""

    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return orders_for_api().order_by("-id")

    @extend_schema(request=MergeSerializer, responses=OrderSerializer)
    @action(
        detail=False,
        methods=["post"],
        permission_classes=[HasPerm.of("orders.view_order", "orders.merge_order")],
    )
    def merge(self, request):
        serializer = MergeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        survivor = order_merge(orders=serializer.validated_data["orders"], actor=request.user)
        survivor = orders_for_api().get(pk=survivor.pk)
        return Response(OrderSerializer(survivor, context={"request": request}).data)

    @extend_schema(responses=OrderSerializer(many=True))
    @action(
        detail=True,
        methods=["get"],
        permission_classes=[HasPerm.of("orders.view_order", "orders.merge_order")],
        pagination_class=None,
        filterset_class=None,
    )
    def mergeable(self, request, pk=None):
        order = self.get_object()
        ids = [o.pk for o in mergeable_siblings(order)]
        siblings = orders_for_api().filter(pk__in=ids).order_by("created_at", "id")
        return Response(OrderSerializer(siblings, many=True, context={"request": request}).data)


class PaymentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Payment records (refunds are negative). POST records a payment on an order and
    answers with the record; its order's paid amount and status are recomputed."""

    filterset_class = PaymentFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return payment_list()

    def get_serializer_class(self):
        return PaymentCreateSerializer if self.action == "create" else PaymentSerializer

    @extend_schema(request=PaymentCreateSerializer, responses={201: PaymentSerializer})
    def create(self, request, *args, **kwargs):
        serializer = PaymentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        payment = payment_record(actor=request.user, **serializer.validated_data)
        payment = payment_list().get(pk=payment.pk)
        return Response(PaymentSerializer(payment).data, status=201)


class OrderReturnViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Returns (退单). POST records one: items are ``[{"line": id, "quantity": n}`` or
    ``{"gift": id, …}]``; gifts go back into stock, a refund becomes a negative payment
    record, the order becomes returned once everything has come back."""

    filterset_class = ReturnFilter
    filter_backends = [django_filters.rest_framework.DjangoFilterBackend]

    def get_queryset(self):
        return return_list()

    def get_serializer_class(self):
        return OrderReturnCreateSerializer if self.action == "create" else OrderReturnSerializer

    @extend_schema(request=OrderReturnCreateSerializer, responses={201: OrderReturnSerializer})
    def create(self, request, *args, **kwargs):
        serializer = OrderReturnCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order_return = order_return_create(
            order=data["order"],
            reason=data["reason"],
            items=data["resolved_items"],
            note=data["note"],
            refund_amount=data["refund_amount"],
            refund_channel=data["refund_channel"],
            actor=request.user,
        )
        order_return = return_list().get(pk=order_return.pk)
        return Response(OrderReturnSerializer(order_return).data, status=201)


def register(router) -> None:
    router.register("orders", OrderViewSet, basename="order")
    router.register("payments", PaymentViewSet, basename="payment")
    router.register("returns", OrderReturnViewSet, basename="orderreturn")
