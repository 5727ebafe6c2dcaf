"""Review actions of the orders API, mixed into ``OrderViewSet``: the same services and
permissions as the review pages (the services check the stage permission and the
two-reviewer rule again). ``expected_status`` is the status the client saw: if the order
has moved since, 409 and nothing is applied."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.decorators import action
from rest_framework.response import Response

from orders.api.serializers import OrderSerializer
from orders.api.serializers_review import (
    ApproveInputSerializer,
    BulkApproveInputSerializer,
    BulkApproveResultSerializer,
    CancelInputSerializer,
    RejectInputSerializer,
    SecondApproveInputSerializer,
)
from orders.choices import ReviewStage
from orders.models import Order
from orders.services.entry import order_cancel
from orders.services.review import (
    PERMISSION,
    WAITING,
    _moved,
    order_review_approve,
    order_review_reject,
)
from tvshop.api.permissions import HasPerm
from tvshop.errors import Conflict, DomainError, Forbidden

FIRST, SECOND = ReviewStage.FIRST, ReviewStage.SECOND
CAN_FIRST = [HasPerm.of("orders.view_order", PERMISSION[FIRST])]
CAN_SECOND = [HasPerm.of("orders.view_order", PERMISSION[SECOND])]


def _check_expected(order: Order, stage: ReviewStage, expected: str | None) -> None:
    """The services insist on the stage's waiting status (atomically); a client that saw
    another status acted on a stale page."""
    if expected is not None and expected != WAITING[stage]:
        raise _moved(order)


class ReviewActionsMixin:
    def _answer(self, request, order):
        from orders.api.views import orders_for_api

        order = orders_for_api().get(pk=order.pk)
        return Response(OrderSerializer(order, context={"request": request}).data)

    def _approve(self, request, pk, stage: ReviewStage):
        serializer_class = (
            SecondApproveInputSerializer if stage == SECOND else ApproveInputSerializer
        )
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = self.get_object()
        _check_expected(order, stage, data.get("expected_status"))
        order = order_review_approve(
            order_id=order.pk,
            reviewer=request.user,
            stage=stage,
            note=data["note"],
            courier=data.get("courier"),
            cod_amount=data.get("cod_amount"),
        )
        return self._answer(request, order)

    def _reject(self, request, pk, stage: ReviewStage):
        serializer = RejectInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = self.get_object()
        _check_expected(order, stage, data.get("expected_status"))
        order = order_review_reject(
            order_id=order.pk,
            reviewer=request.user,
            stage=stage,
            reason=data["reason"],
            note=data["note"],
            cancel=data["cancel"],
        )
        return self._answer(request, order)

    def _bulk(self, request, stage: ReviewStage):
        serializer = BulkApproveInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        ids = list(dict.fromkeys(serializer.validated_data["orders"]))
        numbers = dict(Order.objects.filter(pk__in=ids).values_list("pk", "number"))
        result = {"approved": [], "moved": [], "refused": [], "failed": [], "errors": []}
        for order_id in ids:
            try:
                order_review_approve(order_id=order_id, reviewer=request.user, stage=stage)
            except DomainError as exc:
                if isinstance(exc, Conflict):
                    bucket = "moved"
                elif isinstance(exc, Forbidden):
                    bucket = "refused"
                else:
                    bucket = "failed"
                result[bucket].append(order_id)
                result["errors"].append(
                    {
                        "id": order_id,
                        "number": numbers.get(order_id, f"#{order_id}"),
                        "code": exc.code,
                        "message": exc.message,
                    }
                )
            else:
                result["approved"].append(order_id)
        return Response(BulkApproveResultSerializer(result).data)

    @extend_schema(request=ApproveInputSerializer, responses=OrderSerializer)
    @action(
        detail=True, methods=["post"], url_path="review-first/approve", permission_classes=CAN_FIRST
    )
    def approve_first(self, request, pk=None):
        """First review (一审): pass the order."""
        return self._approve(request, pk, FIRST)

    @extend_schema(request=SecondApproveInputSerializer, responses=OrderSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="review-second/approve",
        permission_classes=CAN_SECOND,
    )
    def approve_second(self, request, pk=None):
        """Second review (二审): fix the courier and the confirmed COD amount, pass the
        order. Whoever did the first review may not (403, code ``same_reviewer``)."""
        return self._approve(request, pk, SECOND)

    @extend_schema(request=RejectInputSerializer, responses=OrderSerializer)
    @action(
        detail=True, methods=["post"], url_path="review-first/reject", permission_classes=CAN_FIRST
    )
    def reject_first(self, request, pk=None):
        """First review fails: back to the agent with the reason, or cancel."""
        return self._reject(request, pk, FIRST)

    @extend_schema(request=RejectInputSerializer, responses=OrderSerializer)
    @action(
        detail=True,
        methods=["post"],
        url_path="review-second/reject",
        permission_classes=CAN_SECOND,
    )
    def reject_second(self, request, pk=None):
        """Second review fails: back to the agent with the reason, or cancel."""
        return self._reject(request, pk, SECOND)

    @extend_schema(request=CancelInputSerializer, responses=OrderSerializer)
    @action(
        detail=True,
        methods=["post"],
        permission_classes=[HasPerm.of("orders.view_order")],
    )
    def cancel(self, request, pk=None):
        """Cancel the order (``orders.cancel_order``, or an agent their own order while it
        may still be cancelled — as on the order page); gift stock and points go back."""
        serializer = CancelInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        order = order_cancel(
            order=self.get_object(),
            actor=request.user,
            reason=data["reason"],
            note=data["note"].strip(),
            expected_status=data.get("expected_status"),
        )
        return self._answer(request, order)

    @extend_schema(request=BulkApproveInputSerializer, responses=BulkApproveResultSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="review-first/bulk-approve",
        permission_classes=CAN_FIRST,
        filterset_class=None,
        pagination_class=None,
    )
    def bulk_approve_first(self, request):
        """Pass many orders at the first review, each on its own; the answer lists which
        passed and which had moved, were refused or failed."""
        return self._bulk(request, FIRST)

    @extend_schema(request=BulkApproveInputSerializer, responses=BulkApproveResultSerializer)
    @action(
        detail=False,
        methods=["post"],
        url_path="review-second/bulk-approve",
        permission_classes=CAN_SECOND,
        filterset_class=None,
        pagination_class=None,
    )
    def bulk_approve_second(self, request):
        """Pass many orders at the second review (default courier of the province), each
        on its own; the answer lists which passed and which had moved, were refused or
        failed."""
        return self._bulk(request, SECOND)
