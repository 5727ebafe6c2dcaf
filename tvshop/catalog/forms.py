from django import forms

from tvshop.catalog.models import Courier, Gift, Product, Supplier
from tvshop.catalog.services import (
    COURIER_FIELDS,
    GIFT_FIELDS,
    PRODUCT_FIELDS,
    SUPPLIER_FIELDS,
)


class SupplierForm(forms.ModelForm):
    class Meta:
        model = Supplier
        fields = SUPPLIER_FIELDS
        widgets = {"note": forms.Textarea(attrs={"rows": 3})}


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = PRODUCT_FIELDS
        widgets = {"description": forms.Textarea(attrs={"rows": 4})}


class GiftForm(forms.ModelForm):
    class Meta:
        model = Gift
        fields = GIFT_FIELDS


class CourierForm(forms.ModelForm):
    class Meta:
        model = Courier
        fields = COURIER_FIELDS
