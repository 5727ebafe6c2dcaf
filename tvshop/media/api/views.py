"""Media API: stations, hotlines, airing slots. Permissions: Django model permissions
(``view`` for reads); writes go through ``tvshop.media.services``."""

from django.utils import timezone
from django.utils.translation import gettext as _

from tvshop.catalog.api.base import ServiceModelViewSet
from tvshop.media import selectors, services
from tvshop.media.api.serializers import (
    AiringSlotSerializer,
    HotlineSerializer,
    StationSerializer,
)
from tvshop.media.filters import AiringSlotFilter, HotlineFilter, StationFilter


class StationViewSet(ServiceModelViewSet):
    serializer_class = StationSerializer
    filterset_class = StationFilter
    search_fields = ["code", "name", "region"]
    ordering_fields = ["name", "code", "id"]
    create_service = staticmethod(services.station_create)
    update_service = staticmethod(services.station_update)
    delete_service = staticmethod(services.station_delete)
    instance_arg = "station"

    def get_queryset(self):
        return selectors.station_list()


class HotlineViewSet(ServiceModelViewSet):
    serializer_class = HotlineSerializer
    filterset_class = HotlineFilter
    search_fields = ["number", "queue_name", "station__name"]
    ordering_fields = ["number", "queue_name", "id"]
    create_service = staticmethod(services.hotline_create)
    update_service = staticmethod(services.hotline_update)
    delete_service = staticmethod(services.hotline_delete)
    instance_arg = "hotline"

    def get_queryset(self):
        return selectors.hotline_list()


class AiringSlotViewSet(ServiceModelViewSet):
    serializer_class = AiringSlotSerializer
    filterset_class = AiringSlotFilter
    search_fields = ["product__name", "product__sku", "station__name", "hotline__number"]
    ordering_fields = ["start", "end", "cost", "id"]
    create_service = staticmethod(services.airing_slot_create)
    update_service = staticmethod(services.airing_slot_update)
    delete_service = staticmethod(services.airing_slot_delete)
    instance_arg = "slot"

    def get_queryset(self):
        return selectors.airing_slot_list().order_by("-start", "id")

    def _attach_warnings(self, slot) -> None:
        slot.warnings = [
            _("Overlaps slot %(id)s: %(start)s–%(end)s %(product)s")
            % {
                "id": other.pk,
                "start": timezone.localtime(other.start).strftime("%Y-%m-%d %H:%M"),
                "end": timezone.localtime(other.end).strftime("%H:%M"),
                "product": other.product.name,
            }
            for other in selectors.airing_slot_overlaps(slot=slot)
        ]
        slot.has_overlap = bool(slot.warnings)

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self._attach_warnings(serializer.instance)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        self._attach_warnings(serializer.instance)
