"""Helpers for the payments, returns, merge, points and orders-API tests (helper O2)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from orders.models import Order, OrderGift
from tests.factories import GiftFactory, ProductFactory
from tests.orders.factories import make_order


def D(value: str) -> Decimal:
    return Decimal(value)


def add_gift(order: Order, *, gift=None, quantity: int = 1, points_spent: int = 0, rule=None):
    """A gift on ``order`` (its stock is taken as reserved: the gift's stock is lowered)."""
    gift = gift or GiftFactory(stock=10)
    gift.stock -= quantity
    gift.save(update_fields=["stock"])
    return OrderGift.objects.create(
        order=order,
        gift=gift,
        rule=rule,
        sku=gift.sku,
        name=gift.name,
        quantity=quantity,
        value=Decimal("0.00"),
        points_spent=points_spent,
    )


def order_of(status: str, *lines: tuple[str, int], **fields) -> Order:
    """An order in ``status`` with lines ``("199.00", 2), …`` of new products."""
    products = [(ProductFactory(price=D(p)), q, D(p)) for p, q in lines or [("199.00", 1)]]
    return make_order(status=status, products=products, **fields)


def an_hour_ago() -> dt.datetime:
    return timezone.now() - dt.timedelta(hours=1)
