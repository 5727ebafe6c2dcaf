from rest_framework import serializers

from tvshop.media.models import AiringSlot, Hotline, Station


class StationSerializer(serializers.ModelSerializer):
    class Meta:
        model = Station
        fields = ["id", "code", "name", "region", "active", "note"]


class HotlineSerializer(serializers.ModelSerializer):
    station_name = serializers.CharField(source="station.name", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True, default=None)

    class Meta:
        model = Hotline
        fields = [
            "id",
            "number",
            "station",
            "station_name",
            "queue_name",
            "product",
            "product_name",
            "active",
        ]


class AiringSlotSerializer(serializers.ModelSerializer):
    station_name = serializers.CharField(source="station.name", read_only=True)
    product_sku = serializers.CharField(source="product.sku", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    hotline_number = serializers.CharField(source="hotline.number", read_only=True)
    has_overlap = serializers.BooleanField(
        read_only=True,
        help_text="Another slot of the same station overlaps this one (lists only).",
    )
    warnings = serializers.ListField(
        child=serializers.CharField(),
        read_only=True,
        help_text="After a create or update: the overlapping slots on the same station.",
    )

    class Meta:
        model = AiringSlot
        fields = [
            "id",
            "station",
            "station_name",
            "product",
            "product_sku",
            "product_name",
            "hotline",
            "hotline_number",
            "start",
            "end",
            "cost",
            "note",
            "has_overlap",
            "warnings",
        ]
