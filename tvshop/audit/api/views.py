"""The audit log, read-only: list and retrieve. No create, update or delete exists here,
and the model refuses them too (append-only)."""

from rest_framework import viewsets

from tvshop.audit.api.serializers import AuditEntrySerializer
from tvshop.audit.filters import AuditEntryFilter
from tvshop.audit.selectors import audit_entry_list


class AuditEntryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AuditEntrySerializer
    filterset_class = AuditEntryFilter
    search_fields = ["object_repr", "object_id", "note", "actor__username"]
    ordering_fields = ["at", "id"]

    def get_queryset(self):
        return audit_entry_list()
