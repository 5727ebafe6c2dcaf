"""Helpers for the order entry and review tests: customers with an address, products,
gift rules, discount limits, and orders taken through the entry service."""

from __future__ import annotations

import contextlib
from decimal import Decimal

from django.contrib.auth.models import Group

from crm.services.customers import address_add
from orders.choices import GiftRuleKind, ReviewStage
from orders.models import DiscountLimit, GiftRule
from orders.services.entry import LineInput, order_create
from orders.services.review import order_review_approve
from tests.crm.factories import make_customer, shenzhen_nanshan
from tests.factories import GiftFactory, ProductFactory
from tvshop.catalog.models import Courier

D = Decimal


def customer_with_address(*, street: str = "科技园南路 88 号 3 栋 501", **kwargs):
    customer = make_customer(**kwargs)
    address_add(
        actor=None, customer=customer, street=street, recipient="张三", **shenzhen_nanshan()
    )
    return customer


def product(price: str = "199.00", **kwargs):
    return ProductFactory(price=D(price), **kwargs)


def lines_of(*pairs) -> list[LineInput]:
    """``lines_of((product, 2), (other, 1))``."""
    return [LineInput(product_id=p.pk, quantity=q) for p, q in pairs]


def discount_limit(role: str, percent: str) -> DiscountLimit:
    group = Group.objects.get(name=role)
    limit, _ = DiscountLimit.objects.update_or_create(
        group=group, defaults={"max_percent": D(percent)}
    )
    return limit


def gift_rule(kind=GiftRuleKind.BY_PRODUCT, *, gift=None, stock=10, **kwargs) -> GiftRule:
    gift = gift or GiftFactory(stock=stock)
    return GiftRule.objects.create(
        name=kwargs.pop("name", f"rule {gift.sku}"), kind=kind, gift=gift, **kwargs
    )


def take(agent, customer=None, *pairs, **kwargs):
    """An order through the entry service, at the customer's default address."""
    customer = customer or customer_with_address()
    pairs = pairs or ((product(), 1),)
    kwargs.setdefault("address", customer.addresses.first())
    return order_create(customer=customer, agent=agent, lines=lines_of(*pairs), **kwargs)


def courier(code="sf", **kwargs) -> Courier:
    return Courier.objects.get_or_create(code=code, defaults={"name": code.upper(), **kwargs})[0]


def first_approved(order, reviewer):
    return order_review_approve(order_id=order.pk, reviewer=reviewer, stage=ReviewStage.FIRST)


@contextlib.contextmanager
def providers(*, freight=None, default_courier=None):
    """Install freight/default-courier providers for a test, then put back what was
    installed before (logistics installs its own in ``AppConfig.ready``)."""
    from orders import hooks

    saved = (hooks._freight, hooks._default_courier)
    if freight is not None:
        hooks.freight_provider_set(freight)
    if default_courier is not None:
        hooks.default_courier_provider_set(default_courier)
    try:
        yield
    finally:
        hooks.freight_provider_set(saved[0])
        hooks.default_courier_provider_set(saved[1])
