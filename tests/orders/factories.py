"""Order rows for tests of other areas (logistics, statistics, callbacks).

``make_order`` writes rows directly, in any status, without the entry service's checks,
so a test can start from "an order second-approved yesterday". Tests of order entry and
review go through the services instead.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.utils import timezone

from crm.models import Customer, Division
from orders.choices import OrderStatus, PaymentMethod
from orders.models import Order, OrderLine
from tests.crm.factories import make_customer, shenzhen_nanshan
from tests.factories import ProductFactory, UserFactory

_number = itertools.count(1)


def next_order_number() -> str:
    return f"T{timezone.localdate():%Y%m%d}{next(_number):06d}"


def make_order(
    *,
    customer: Customer | None = None,
    agent=None,
    status: str = OrderStatus.SECOND_APPROVED,
    products: list[tuple] | None = None,
    freight: Decimal = Decimal("0.00"),
    payment_method: str = PaymentMethod.COD,
    divisions: dict[str, Division] | None = None,
    **fields,
) -> Order:
    """An order with lines; ``products`` is ``[(product, quantity, unit_price), ...]``
    (default: one new product at 199.00 × 1). Amounts are computed like entry does."""
    customer = customer or make_customer()
    agent = agent or UserFactory()
    products = products or [(ProductFactory(price=Decimal("199.00")), 1, Decimal("199.00"))]
    goods = sum((Decimal(price) * qty for _, qty, price in products), Decimal("0.00"))
    total = goods + freight
    now = timezone.now()
    order = Order.objects.create(
        number=fields.pop("number", None) or next_order_number(),
        status=status,
        customer=customer,
        agent=agent,
        recipient=fields.pop("recipient", customer.name),
        phone=fields.pop("phone", "+8613900000000"),
        street=fields.pop("street", "科技园南路 1 号"),
        payment_method=payment_method,
        goods_amount=goods,
        freight=freight,
        total=total,
        cod_amount=total if payment_method == PaymentMethod.COD else Decimal("0.00"),
        submitted_at=fields.pop("submitted_at", now),
        status_at=fields.pop("status_at", now),
        **(divisions or shenzhen_nanshan()),
        **fields,
    )
    OrderLine.objects.bulk_create(
        OrderLine(
            order=order,
            product=product,
            sku=product.sku,
            name=product.name,
            list_price=product.price,
            unit_price=Decimal(price),
            quantity=qty,
            amount=Decimal(price) * qty,
        )
        for product, qty, price in products
    )
    return order
