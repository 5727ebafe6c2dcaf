"""Inputs and outputs of the review actions of the orders API (first and second review,
reject, cancel, bulk approve)."""

from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from orders.choices import OrderStatus, RejectReason
from tvshop.catalog.models import Courier

MAX_BULK = 200


class _Expected(serializers.Serializer):
    expected_status = serializers.ChoiceField(
        choices=OrderStatus.choices,
        required=False,
        help_text="The status the client saw; if the order has moved since, 409 and nothing "
        "is applied.",
    )


class ApproveInputSerializer(_Expected):
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class SecondApproveInputSerializer(ApproveInputSerializer):
    courier = serializers.PrimaryKeyRelatedField(queryset=Courier.objects.filter(active=True))
    cod_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        help_text="The COD amount the reviewer confirmed; if it differs from the amount with "
        "this courier, 400 and nothing is applied.",
    )


class RejectInputSerializer(_Expected):
    reason = serializers.ChoiceField(choices=RejectReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")
    cancel = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Cancel the order instead of sending it back to the agent.",
    )


class CancelInputSerializer(_Expected):
    reason = serializers.ChoiceField(choices=RejectReason.choices)
    note = serializers.CharField(required=False, allow_blank=True, max_length=500, default="")


class BulkApproveInputSerializer(serializers.Serializer):
    orders = serializers.ListField(
        child=serializers.IntegerField(min_value=1), min_length=1, max_length=MAX_BULK
    )


class BulkFailureSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    code = serializers.CharField()
    message = serializers.CharField()


class BulkApproveResultSerializer(serializers.Serializer):
    approved = serializers.ListField(child=serializers.IntegerField())
    moved = serializers.ListField(
        child=serializers.IntegerField(), help_text="Orders no longer waiting for this review."
    )
    refused = serializers.ListField(
        child=serializers.IntegerField(),
        help_text="Orders this reviewer may not pass (e.g. they did the first review).",
    )
    failed = serializers.ListField(
        child=serializers.IntegerField(), help_text="Other failures (not found, courier …)."
    )
    errors = BulkFailureSerializer(many=True)
