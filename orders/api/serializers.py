"""Serializers of the orders API: orders with lines, gifts and payments; payment and return
records; the inputs of the payment, return and merge actions."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _
from rest_framework import serializers

from crm.masking import phone_for_user
from orders.choices import PaymentChannel, ReturnReason
from orders.models import (
    Order,
    OrderGift,
    OrderLine,
    OrderReturn,
    OrderReturnItem,
    Payment,
)


def _user(serializer):
    request = serializer.context.get("request")
    return getattr(request, "user", None)


class OrderLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["id", "product", "sku", "name", "list_price", "unit_price", "quantity", "amount"]
        read_only_fields = fields


class OrderGiftSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderGift
        fields = ["id", "gift", "rule", "sku", "name", "quantity", "value", "points_spent"]
        read_only_fields = fields


class PaymentSerializer(serializers.ModelSerializer):
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = Payment
        fields = [
            "id",
            "order",
            "order_number",
            "payer",
            "channel",
            "amount",
            "paid_at",
            "reference",
            "note",
            "recorded_by",
            "created_at",
        ]
        read_only_fields = fields


class NestedPaymentSerializer(PaymentSerializer):
    class Meta(PaymentSerializer.Meta):
        fields = [f for f in PaymentSerializer.Meta.fields if f not in ("order", "order_number")]
        read_only_fields = fields


class OrderSerializer(serializers.ModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)
    gifts = OrderGiftSerializer(many=True, read_only=True)
    payments = NestedPaymentSerializer(many=True, read_only=True)
    phone = serializers.SerializerMethodField(help_text="Masked unless the user may see it.")
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    province_name = serializers.CharField(source="province.name", read_only=True)
    city_name = serializers.CharField(source="city.name", read_only=True)
    district_name = serializers.CharField(source="district.name", read_only=True)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "status",
            "customer",
            "customer_name",
            "agent",
            "call_uuid",
            "hotline",
            "station",
            "airing_slot",
            "recipient",
            "phone",
            "province",
            "province_name",
            "city",
            "city_name",
            "district",
            "district_name",
            "street",
            "courier",
            "payment_method",
            "goods_amount",
            "discount_amount",
            "freight",
            "total",
            "cod_amount",
            "paid_amount",
            "payment_status",
            "points_spent",
            "points_awarded",
            "is_vip",
            "is_new_customer",
            "is_duplicate",
            "is_large_amount",
            "address_incomplete",
            "merged_into",
            "first_reviewer",
            "first_reviewed_at",
            "second_reviewer",
            "second_reviewed_at",
            "reject_reason",
            "reject_note",
            "remark",
            "created_at",
            "submitted_at",
            "status_at",
            "lines",
            "gifts",
            "payments",
        ]
        read_only_fields = fields

    def get_phone(self, obj) -> str:
        return phone_for_user(obj.phone, _user(self))


class PaymentCreateSerializer(serializers.Serializer):
    order = serializers.PrimaryKeyRelatedField(queryset=Order.objects.all())
    payer = serializers.CharField(max_length=100)
    channel = serializers.ChoiceField(choices=PaymentChannel.choices)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"))
    paid_at = serializers.DateTimeField()
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class ReturnItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderReturnItem
        fields = ["id", "line", "gift", "quantity"]
        read_only_fields = fields


class OrderReturnSerializer(serializers.ModelSerializer):
    items = ReturnItemSerializer(many=True, read_only=True)
    order_number = serializers.CharField(source="order.number", read_only=True)

    class Meta:
        model = OrderReturn
        fields = [
            "id",
            "order",
            "order_number",
            "reason",
            "note",
            "refund_amount",
            "refund_payment",
            "items",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class ReturnItemInputSerializer(serializers.Serializer):
    line = serializers.IntegerField(required=False, help_text="An order line id (or gift).")
    gift = serializers.IntegerField(required=False, help_text="An order gift id (or line).")
    quantity = serializers.IntegerField(min_value=1)

    def validate(self, attrs):
        if ("line" in attrs) == ("gift" in attrs):
            raise serializers.ValidationError(_("Give either a line or a gift."))
        return attrs


class OrderReturnCreateSerializer(serializers.Serializer):
    order = serializers.PrimaryKeyRelatedField(queryset=Order.objects.all())
    reason = serializers.ChoiceField(choices=ReturnReason.choices)
    items = ReturnItemInputSerializer(many=True, allow_empty=False)
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    refund_amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
        default=Decimal("0"),
    )
    refund_channel = serializers.ChoiceField(
        choices=PaymentChannel.choices, required=False, allow_blank=True, default=""
    )

    def validate(self, attrs):
        order = attrs["order"]
        lines = {ln.pk: ln for ln in order.lines.all()}
        gifts = {g.pk: g for g in order.gifts.all()}
        resolved, errors = [], []
        for row in attrs["items"]:
            item = lines.get(row["line"]) if "line" in row else gifts.get(row["gift"])
            if item is None:
                errors.append(
                    _("Item %(id)s is not part of order %(number)s.")
                    % {"id": row.get("line") or row.get("gift"), "number": order.number}
                )
            else:
                resolved.append((item, row["quantity"]))
        if errors:
            raise serializers.ValidationError({"items": errors})
        attrs["resolved_items"] = resolved
        return attrs


class MergeSerializer(serializers.Serializer):
    orders = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        min_length=2,
        max_length=20,
        help_text="Ids of the orders to merge; the oldest survives.",
    )
