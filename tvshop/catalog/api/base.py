"""A model viewset whose writes go through service functions (shared by catalog and media)."""

from __future__ import annotations

from rest_framework import viewsets


class ServiceModelViewSet(viewsets.ModelViewSet):
    """Reads from ``get_queryset``; create/update/delete call the services named below.

    ``create_service(actor=..., **validated_data)``,
    ``update_service(actor=..., <instance_arg>=instance, **validated_data)``,
    ``delete_service(actor=..., <instance_arg>=instance)``; a DomainError from a service
    becomes ``{code, message, fields}`` with its 4xx status (tvshop.api.errors).
    """

    create_service = None
    update_service = None
    delete_service = None
    instance_arg = ""

    def perform_create(self, serializer):
        serializer.instance = self.create_service(
            actor=self.request.user, **serializer.validated_data
        )

    def perform_update(self, serializer):
        serializer.instance = self.update_service(
            actor=self.request.user,
            **{self.instance_arg: serializer.instance},
            **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        self.delete_service(actor=self.request.user, **{self.instance_arg: instance})
