"""Logistics API: the pages' actions for other systems, with the pages' permissions.

Couriers with their sheet layouts (read); shipping batches (create from filters, list,
progress, download the stored file, re-issue); courier file imports (upload, the dry-run
preview with its bad rows, apply, the error sheet); remittance lines of a COD import.
Writes go through ``logistics.services``; their ``DomainError`` answers 4xx with
``{code, message, fields}`` (``tvshop.api.errors``).
"""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from logistics import selectors
from logistics.api.serializers import (
    CourierSerializer,
    ExportInputSerializer,
    ImportUploadSerializer,
    LogisticsImportSerializer,
    ReissueInputSerializer,
    RemittanceLineSerializer,
    ShipmentBatchSerializer,
)
from logistics.models import RemittanceLine
from logistics.services import exports, imports
from tvshop.api.permissions import HasPerm
from tvshop.catalog.models import Courier

VIEW_BATCHES = "logistics.view_shipmentbatch"
VIEW_IMPORTS = "logistics.view_logisticsimport"
VIEW_LINES = "logistics.view_remittanceline"
FILE = {(200, "application/octet-stream"): OpenApiTypes.BINARY}


def _file(field, name: str):
    if not field:
        raise Http404(_("There is no file."))
    return FileResponse(field.open("rb"), as_attachment=True, filename=name)


class CourierViewSet(viewsets.ReadOnlyModelViewSet):
    """Couriers and their export templates (ordered columns)."""

    serializer_class = CourierSerializer
    permission_classes = [HasPerm.of(VIEW_BATCHES)]

    def get_queryset(self):
        return (
            Courier.objects.select_related("export_template")
            .prefetch_related("export_template__columns")
            .order_by("name")
        )


@extend_schema_view(
    create=extend_schema(
        request=ExportInputSerializer,
        responses={201: ShipmentBatchSerializer(many=True)},
        summary="Start one shipping batch per courier for the filtered orders",
    )
)
class ShipmentBatchViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Shipping batches: the detail carries the progress of a running export."""

    serializer_class = ShipmentBatchSerializer

    def get_permissions(self):
        if self.action in ("create", "reissue"):
            return [HasPerm.of(VIEW_BATCHES, exports.EXPORT_PERM)()]
        return [HasPerm.of(VIEW_BATCHES)()]

    def get_queryset(self):
        return selectors.batch_list()

    def create(self, request, *args, **kwargs):
        serializer = ExportInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        batches = exports.shipment_export_start(
            actor=request.user,
            courier=data.get("courier"),
            province_id=data["province"].pk if data.get("province") else None,
            station_id=data["station"].pk if data.get("station") else None,
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            file_format=data.get("file_format") or None,
        )
        out = self.get_queryset().filter(pk__in=[b.pk for b in batches])
        return Response(self.get_serializer(out, many=True).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses=FILE, summary="The stored sheet, the same bytes every time")
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        batch = self.get_object()
        return _file(batch.file, batch.file_name)

    @extend_schema(
        request=ReissueInputSerializer,
        responses={200: ShipmentBatchSerializer},
        summary="Void a finished batch so its orders can be exported again (audited)",
    )
    @action(detail=True, methods=["post"])
    def reissue(self, request, pk=None):
        batch = self.get_object()
        serializer = ReissueInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        exports.shipment_batch_reissue(
            actor=request.user, batch_id=batch.pk, reason=serializer.validated_data["reason"]
        )
        return Response(self.get_serializer(self.get_queryset().get(pk=batch.pk)).data)


@extend_schema_view(
    create=extend_schema(
        request={"multipart/form-data": ImportUploadSerializer},
        responses={201: LogisticsImportSerializer},
        summary="Upload a courier file; its dry run (check) is queued",
    ),
    retrieve=extend_schema(summary="The import with its dry-run counts and bad rows"),
)
class LogisticsImportViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Courier files: waybills, delivery statuses and COD remittances."""

    serializer_class = LogisticsImportSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_permissions(self):
        if self.action == "lines":
            return [HasPerm.of(VIEW_IMPORTS, VIEW_LINES)()]
        return [HasPerm.of(VIEW_IMPORTS)()]

    def get_queryset(self):
        return selectors.import_list()

    def create(self, request, *args, **kwargs):
        serializer = ImportUploadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        imp = imports.logistics_import_upload(
            actor=request.user, kind=data["kind"], courier=data.get("courier"), upload=data["file"]
        )
        imp = self.get_queryset().get(pk=imp.pk)
        return Response(self.get_serializer(imp).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={202: LogisticsImportSerializer},
        summary="Apply a checked file (once; atomic, idempotent, audited)",
    )
    @action(detail=True, methods=["post"])
    def apply(self, request, pk=None):
        imp = self.get_object()
        imports.logistics_import_apply_start(actor=request.user, import_id=imp.pk)
        imp = self.get_queryset().get(pk=imp.pk)
        return Response(self.get_serializer(imp).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={**FILE, 404: OpenApiResponse(description="No bad rows")},
        summary="The uploaded sheet with an error column added",
    )
    @action(detail=True, methods=["get"])
    def errors(self, request, pk=None):
        imp = self.get_object()
        return _file(imp.error_file, imp.error_file.name.rsplit("/", 1)[-1])

    @extend_schema(responses=RemittanceLineSerializer(many=True))
    @action(detail=True, methods=["get"])
    def lines(self, request, pk=None):
        """The remittance lines of a COD import with their result (matched, short …)."""
        imp = self.get_object()
        lines = (
            RemittanceLine.objects.filter(source=imp).select_related("order").order_by("row", "id")
        )
        page = self.paginate_queryset(lines)
        serializer = RemittanceLineSerializer(page, many=True)
        return self.get_paginated_response(serializer.data)


def register(router) -> None:
    router.register("couriers", CourierViewSet, basename="logistics-courier")
    router.register("batches", ShipmentBatchViewSet, basename="logistics-batch")
    router.register("imports", LogisticsImportViewSet, basename="logistics-import")
