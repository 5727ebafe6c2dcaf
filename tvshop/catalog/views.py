"""Catalog pages: products, gifts and suppliers (lists for every role with view rights,
create/edit for administrators). Writes go through ``tvshop.catalog.services``."""

from __future__ import annotations

from tvshop.audit.pages import ListPage, ServiceFormPage, model_fields
from tvshop.catalog import selectors, services
from tvshop.catalog.filters import CourierFilter, GiftFilter, ProductFilter, SupplierFilter
from tvshop.catalog.forms import CourierForm, GiftForm, ProductForm, SupplierForm
from tvshop.catalog.models import Courier, Gift, Product, Supplier


class ProductListView(ListPage):
    permission_required = "catalog.view_product"
    filterset_class = ProductFilter
    template_name = "catalog/product_list.html"
    results_template_name = "catalog/_product_results.html"

    def base_queryset(self):
        return selectors.product_list()


class ProductFormView(ServiceFormPage):
    model = Product
    form_class = ProductForm
    cancel_url_name = "catalog:product_list"

    def get_permission_required(self):
        return ["catalog.change_product" if "pk" in self.kwargs else "catalog.add_product"]

    def save(self, form):
        data = model_fields(form, services.PRODUCT_FIELDS)
        if self.object is None:
            return services.product_create(actor=self.request.user, **data)
        return services.product_update(actor=self.request.user, product=self.object, **data)


class GiftListView(ListPage):
    permission_required = "catalog.view_gift"
    filterset_class = GiftFilter
    template_name = "catalog/gift_list.html"
    results_template_name = "catalog/_gift_results.html"

    def base_queryset(self):
        return selectors.gift_list()


class GiftFormView(ServiceFormPage):
    model = Gift
    form_class = GiftForm
    cancel_url_name = "catalog:gift_list"

    def get_permission_required(self):
        return ["catalog.change_gift" if "pk" in self.kwargs else "catalog.add_gift"]

    def save(self, form):
        data = model_fields(form, services.GIFT_FIELDS)
        if self.object is None:
            return services.gift_create(actor=self.request.user, **data)
        return services.gift_update(actor=self.request.user, gift=self.object, **data)


class SupplierListView(ListPage):
    permission_required = "catalog.view_supplier"
    filterset_class = SupplierFilter
    template_name = "catalog/supplier_list.html"
    results_template_name = "catalog/_supplier_results.html"

    def base_queryset(self):
        return selectors.supplier_list()


class SupplierFormView(ServiceFormPage):
    model = Supplier
    form_class = SupplierForm
    cancel_url_name = "catalog:supplier_list"

    def get_permission_required(self):
        return ["catalog.change_supplier" if "pk" in self.kwargs else "catalog.add_supplier"]

    def save(self, form):
        data = model_fields(form, services.SUPPLIER_FIELDS)
        if self.object is None:
            return services.supplier_create(actor=self.request.user, **data)
        return services.supplier_update(actor=self.request.user, supplier=self.object, **data)


class CourierListView(ListPage):
    permission_required = "catalog.view_courier"
    filterset_class = CourierFilter
    template_name = "catalog/courier_list.html"
    results_template_name = "catalog/_courier_results.html"

    def base_queryset(self):
        return selectors.courier_list()


class CourierFormView(ServiceFormPage):
    model = Courier
    form_class = CourierForm
    cancel_url_name = "catalog:courier_list"

    def get_permission_required(self):
        return ["catalog.change_courier" if "pk" in self.kwargs else "catalog.add_courier"]

    def save(self, form):
        data = model_fields(form, services.COURIER_FIELDS)
        if self.object is None:
            return services.courier_create(actor=self.request.user, **data)
        return services.courier_update(actor=self.request.user, courier=self.object, **data)
