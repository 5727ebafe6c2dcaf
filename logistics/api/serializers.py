"""Serializers of the logistics API (reads shaped like the pages; inputs validated here,
business rules in the services)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm.models import Division
from logistics.choices import ExportFormat, ImportKind
from logistics.models import (
    ExportTemplate,
    LogisticsImport,
    RemittanceLine,
    ShipmentBatch,
    TemplateColumn,
)
from logistics.progress import progress_get
from tvshop.catalog.models import Courier
from tvshop.media.models import Station


class TemplateColumnSerializer(serializers.ModelSerializer):
    class Meta:
        model = TemplateColumn
        fields = ["position", "header", "source", "fixed_value"]


class ExportTemplateSerializer(serializers.ModelSerializer):
    columns = TemplateColumnSerializer(many=True, read_only=True)

    class Meta:
        model = ExportTemplate
        fields = ["id", "name", "file_format", "sheet_name", "note", "updated_at", "columns"]


class CourierSerializer(serializers.ModelSerializer):
    export_template = ExportTemplateSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Courier
        fields = ["id", "code", "name", "supports_cod", "active", "export_template"]


class ProgressSerializer(serializers.Serializer):
    done = serializers.IntegerField()
    total = serializers.IntegerField(allow_null=True)
    percent = serializers.IntegerField(allow_null=True)
    phase = serializers.CharField(allow_blank=True)


class ShipmentBatchSerializer(serializers.ModelSerializer):
    courier_code = serializers.CharField(source="courier.code", read_only=True)
    created_by = serializers.StringRelatedField()
    progress = serializers.SerializerMethodField()
    has_file = serializers.SerializerMethodField()

    class Meta:
        model = ShipmentBatch
        fields = [
            "id",
            "number",
            "courier",
            "courier_code",
            "state",
            "filters",
            "file_format",
            "file_name",
            "sha256",
            "order_count",
            "skipped",
            "message",
            "created_by",
            "created_at",
            "finished_at",
            "reissued_at",
            "reissue_reason",
            "has_file",
            "progress",
        ]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, batch) -> dict:
        return progress_get("batch", batch.pk)

    def get_has_file(self, batch) -> bool:
        return bool(batch.file)


class ExportInputSerializer(serializers.Serializer):
    """The clerk's filters: second-approved orders; one batch per courier."""

    courier = serializers.PrimaryKeyRelatedField(
        queryset=Courier.objects.filter(active=True), required=False, allow_null=True
    )
    province = serializers.PrimaryKeyRelatedField(
        queryset=Division.objects.filter(level=1), required=False, allow_null=True
    )
    station = serializers.PrimaryKeyRelatedField(
        queryset=Station.objects.all(), required=False, allow_null=True
    )
    date_from = serializers.DateField(required=False, allow_null=True)
    date_to = serializers.DateField(required=False, allow_null=True)
    file_format = serializers.ChoiceField(
        choices=ExportFormat.choices, required=False, allow_blank=True
    )

    def validate(self, data):
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise serializers.ValidationError(
                {"date_to": ["The end date is before the start date."]}
            )
        return data


class ReissueInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=300)


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(allow_null=True)
    reason = serializers.CharField()


class LogisticsImportSerializer(serializers.ModelSerializer):
    created_by = serializers.StringRelatedField()
    applied_by = serializers.StringRelatedField()
    errors = ImportErrorSerializer(many=True, read_only=True)
    progress = serializers.SerializerMethodField()
    has_error_file = serializers.SerializerMethodField()

    class Meta:
        model = LogisticsImport
        fields = [
            "id",
            "kind",
            "courier",
            "state",
            "file_name",
            "sha256",
            "header_row",
            "rows",
            "to_change",
            "unchanged",
            "error_count",
            "changed",
            "orders_moved",
            "errors",
            "has_error_file",
            "message",
            "created_by",
            "created_at",
            "checked_at",
            "applied_by",
            "applied_at",
            "progress",
        ]
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, imp) -> dict:
        return progress_get("import", imp.pk)

    def get_has_error_file(self, imp) -> bool:
        return bool(imp.error_file)


class ImportUploadSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ImportKind.choices)
    courier = serializers.PrimaryKeyRelatedField(
        queryset=Courier.objects.all(), required=False, allow_null=True
    )
    file = serializers.FileField()


class RemittanceLineSerializer(serializers.ModelSerializer):
    order_number_matched = serializers.CharField(
        source="order.number", read_only=True, allow_null=True, default=None
    )

    class Meta:
        model = RemittanceLine
        fields = [
            "id",
            "row",
            "waybill",
            "order_number",
            "order",
            "order_number_matched",
            "collected",
            "fee",
            "expected",
            "difference",
            "remitted_on",
            "courier_batch",
            "result",
            "reason",
            "payment",
        ]
        read_only_fields = fields
