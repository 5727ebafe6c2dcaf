"""Return pages: list with filters, record a return; permissions; bad input 400."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.choices import OrderStatus
from orders.models import OrderReturn
from orders.services.returns import order_return_create
from tests.factories import GiftFactory
from tests.orders.finance_factories import add_gift, order_of

pytestmark = pytest.mark.django_db

LIST = "/orders/finance/returns/"


@pytest.mark.parametrize(
    ("role", "status"),
    [("finance", 200), ("supervisor", 200), ("agent", 403), ("reviewer1", 403), ("logistics", 403)],
)
def test_return_list_permissions(client_for, role, status):
    assert client_for(role).get(LIST).status_code == status


def test_return_list_shows_items_and_filters_by_reason(
    client_for, make_user, django_assert_max_num_queries
):
    finance = make_user("finance")
    refused = order_of(OrderStatus.REFUSED, ("10.00", 1))
    delivered = order_of(OrderStatus.DELIVERED, ("10.00", 1))
    order_return_create(
        order=refused, reason="refused", items=[(refused.lines.get(), 1)], actor=finance
    )
    order_return_create(
        order=delivered, reason="quality", items=[(delivered.lines.get(), 1)], actor=finance
    )
    client = client_for("finance")
    client.get(LIST)

    with django_assert_max_num_queries(12):
        body = client.get(LIST, {"reason": "quality"}).content.decode()

    assert delivered.number in body and refused.number not in body
    assert delivered.lines.get().name in body


def test_record_a_return_on_the_page(client_for):
    client = client_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("30.00", 2))
    gift = GiftFactory(stock=1)
    order_gift = add_gift(order, gift=gift, quantity=1)
    line = order.lines.get()
    url = reverse("orders:return_create", args=[order.pk])

    page = client.get(url)
    response = client.post(
        url,
        {
            "reason": "quality",
            "note": "屏幕坏",
            f"line_{line.pk}": "1",
            f"gift_{order_gift.pk}": "1",
            "refund_amount": "0",
            "refund_channel": "",
        },
    )

    assert page.status_code == 200
    assert f'name="line_{line.pk}"' in page.content.decode()
    assert response.status_code == 302
    order_return = OrderReturn.objects.get()
    assert {(i.line_id, i.gift_id, i.quantity) for i in order_return.items.all()} == {
        (line.pk, None, 1),
        (None, order_gift.pk, 1),
    }
    gift.refresh_from_db()
    assert gift.stock == 1
    order.refresh_from_db()
    assert order.status == OrderStatus.DELIVERED  # one of two units still with the customer


@pytest.mark.parametrize(
    "change",
    [
        {"reason": ""},
        {"line": "5"},
        {"line": "0"},
        {"line": "-1"},
        {"refund_amount": "10", "refund_channel": ""},
        {"refund_amount": "1000", "refund_channel": "cod"},
    ],
)
def test_bad_return_input_is_400_and_nothing_saved(client_for, change):
    client = client_for("finance")
    order = order_of(OrderStatus.DELIVERED, ("30.00", 2))
    line = order.lines.get()
    data = {"reason": "quality", f"line_{line.pk}": change.pop("line", "1"), **change}

    response = client.post(reverse("orders:return_create", args=[order.pk]), data)

    assert response.status_code == 400
    assert not OrderReturn.objects.exists()


def test_order_not_returnable_shows_a_notice(client_for):
    client = client_for("finance")
    order = order_of(OrderStatus.SHIPPED)
    url = reverse("orders:return_create", args=[order.pk])

    page = client.get(url)
    post = client.post(url, {"reason": "quality", f"line_{order.lines.get().pk}": "1"})

    assert 'id="not-returnable"' in page.content.decode()
    assert 'id="return-form"' not in page.content.decode()
    assert post.status_code == 400
    assert not OrderReturn.objects.exists()


@pytest.mark.parametrize("role", ["agent", "reviewer2", "supervisor", "logistics"])
def test_record_return_needs_add_permission(client_for, role):
    order = order_of(OrderStatus.DELIVERED)
    client = client_for(role)
    url = reverse("orders:return_create", args=[order.pk])

    assert client.get(url).status_code == 403
    assert (
        client.post(url, {"reason": "quality", f"line_{order.lines.get().pk}": "1"}).status_code
        == 403
    )
    assert not OrderReturn.objects.exists()
