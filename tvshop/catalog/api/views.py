"""Catalog API: products, gifts, suppliers. Permissions: Django model permissions
(``view`` for reads); writes go through ``tvshop.catalog.services``."""

from tvshop.catalog import selectors, services
from tvshop.catalog.api.base import ServiceModelViewSet
from tvshop.catalog.api.serializers import GiftSerializer, ProductSerializer, SupplierSerializer
from tvshop.catalog.filters import GiftFilter, ProductFilter, SupplierFilter


class SupplierViewSet(ServiceModelViewSet):
    serializer_class = SupplierSerializer
    filterset_class = SupplierFilter
    search_fields = ["name", "contact"]
    ordering_fields = ["name", "id"]
    create_service = staticmethod(services.supplier_create)
    update_service = staticmethod(services.supplier_update)
    delete_service = staticmethod(services.supplier_delete)
    instance_arg = "supplier"

    def get_queryset(self):
        return selectors.supplier_list()


class ProductViewSet(ServiceModelViewSet):
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "price", "updated_at", "id"]
    create_service = staticmethod(services.product_create)
    update_service = staticmethod(services.product_update)
    delete_service = staticmethod(services.product_delete)
    instance_arg = "product"

    def get_queryset(self):
        return selectors.product_list()


class GiftViewSet(ServiceModelViewSet):
    serializer_class = GiftSerializer
    filterset_class = GiftFilter
    search_fields = ["sku", "name"]
    ordering_fields = ["sku", "name", "stock", "value", "id"]
    create_service = staticmethod(services.gift_create)
    update_service = staticmethod(services.gift_update)
    delete_service = staticmethod(services.gift_delete)
    instance_arg = "gift"

    def get_queryset(self):
        return selectors.gift_list()
