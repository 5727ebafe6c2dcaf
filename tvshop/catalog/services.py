"""Writes to the catalog: products, gifts, suppliers. Each call is one audited transaction."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tvshop.audit.crud import apply_changes, audited_delete, audited_save
from tvshop.catalog.models import Courier, Gift, Product, Supplier

SUPPLIER_FIELDS = ("name", "contact", "phone", "note", "active")
PRODUCT_FIELDS = (
    "sku",
    "name",
    "price",
    "cost",
    "weight_kg",
    "on_sale",
    "supplier",
    "description",
)
GIFT_FIELDS = ("sku", "name", "value", "stock", "on_offer", "supplier")


# --- suppliers ---------------------------------------------------------------------------
def supplier_create(
    *,
    actor,
    name: str,
    contact: str = "",
    phone: str = "",
    note: str = "",
    active: bool = True,
) -> Supplier:
    supplier = Supplier(name=name, contact=contact, phone=phone, note=note, active=active)
    return audited_save(actor=actor, instance=supplier)


def supplier_update(*, actor, supplier: Supplier, **changes: Any) -> Supplier:
    apply_changes(instance=supplier, changes=changes, allowed=SUPPLIER_FIELDS)
    return audited_save(actor=actor, instance=supplier)


def supplier_delete(*, actor, supplier: Supplier) -> None:
    """Refused (Conflict) while products or gifts still name the supplier."""
    audited_delete(actor=actor, instance=supplier)


# --- products ----------------------------------------------------------------------------
def product_create(
    *,
    actor,
    sku: str,
    name: str,
    price: Decimal,
    cost: Decimal = Decimal("0"),
    weight_kg: Decimal = Decimal("0.5"),
    on_sale: bool = True,
    supplier: Supplier | None = None,
    description: str = "",
) -> Product:
    product = Product(
        sku=sku,
        name=name,
        price=price,
        cost=cost,
        weight_kg=weight_kg,
        on_sale=on_sale,
        supplier=supplier,
        description=description,
    )
    return audited_save(actor=actor, instance=product)


def product_update(*, actor, product: Product, **changes: Any) -> Product:
    apply_changes(instance=product, changes=changes, allowed=PRODUCT_FIELDS)
    return audited_save(actor=actor, instance=product)


def product_delete(*, actor, product: Product) -> None:
    """Refused (Conflict) while airing slots or orders use the product; take it off sale."""
    audited_delete(actor=actor, instance=product)


# --- gifts -------------------------------------------------------------------------------
def gift_create(
    *,
    actor,
    sku: str,
    name: str,
    value: Decimal,
    stock: int = 0,
    on_offer: bool = True,
    supplier: Supplier | None = None,
) -> Gift:
    gift = Gift(sku=sku, name=name, value=value, stock=stock, on_offer=on_offer, supplier=supplier)
    return audited_save(actor=actor, instance=gift)


def gift_update(*, actor, gift: Gift, **changes: Any) -> Gift:
    apply_changes(instance=gift, changes=changes, allowed=GIFT_FIELDS)
    return audited_save(actor=actor, instance=gift)


def gift_delete(*, actor, gift: Gift) -> None:
    audited_delete(actor=actor, instance=gift)


# --- couriers (base data shared by orders and logistics) ---------------------------------
COURIER_FIELDS = ("code", "name", "supports_cod", "active", "note")


def courier_create(
    *,
    actor,
    code: str,
    name: str,
    supports_cod: bool = True,
    active: bool = True,
    note: str = "",
) -> Courier:
    courier = Courier(code=code, name=name, supports_cod=supports_cod, active=active, note=note)
    return audited_save(actor=actor, instance=courier)


def courier_update(*, actor, courier: Courier, **changes: Any) -> Courier:
    apply_changes(instance=courier, changes=changes, allowed=COURIER_FIELDS)
    return audited_save(actor=actor, instance=courier)


def courier_delete(*, actor, courier: Courier) -> None:
    """Refused (Conflict) while orders or batches name the courier; make it inactive."""
    audited_delete(actor=actor, instance=courier)
