"""The merge page: mergeable siblings of an order and the merge button."""

from __future__ import annotations

import pytest
from django.urls import reverse

from orders.choices import OrderStatus
from orders.models import Order
from tests.crm.factories import beijing_haidian, make_customer
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


def family():
    customer = make_customer()
    return {
        "order": make_order(customer=customer, status=OrderStatus.SUBMITTED),
        "sibling": make_order(customer=customer, status=OrderStatus.FIRST_APPROVED),
        "elsewhere": make_order(
            customer=customer, status=OrderStatus.SUBMITTED, divisions=beijing_haidian()
        ),
        "exported": make_order(customer=customer, status=OrderStatus.EXPORTED),
        "stranger": make_order(status=OrderStatus.SUBMITTED),
    }


def test_page_lists_only_mergeable_siblings(client_for):
    orders = family()

    body = client_for("reviewer2").get(reverse("orders:order_merge", args=[orders["order"].pk]))

    text = body.content.decode()
    assert body.status_code == 200
    assert orders["sibling"].number in text
    for other in ("elsewhere", "exported", "stranger"):
        assert orders[other].number not in text


def test_merge_button_merges_into_the_oldest(client_for):
    orders = family()
    client = client_for("supervisor")

    response = client.post(
        reverse("orders:order_merge", args=[orders["sibling"].pk]),
        {"orders": [orders["order"].pk]},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("orders:order_detail", args=[orders["order"].pk])
    sibling = Order.objects.get(pk=orders["sibling"].pk)
    assert (sibling.status, sibling.merged_into_id) == (OrderStatus.MERGED, orders["order"].pk)


def test_an_order_that_is_not_a_sibling_cannot_be_posted(client_for):
    orders = family()

    response = client_for("reviewer2").post(
        reverse("orders:order_merge", args=[orders["order"].pk]),
        {"orders": [orders["elsewhere"].pk]},
    )

    assert response.status_code == 400
    assert not Order.objects.filter(status=OrderStatus.MERGED).exists()


@pytest.mark.parametrize("role", ["agent", "reviewer1", "finance", "logistics"])
def test_merge_page_needs_the_merge_permission(client_for, role):
    orders = family()
    client = client_for(role)
    url = reverse("orders:order_merge", args=[orders["order"].pk])

    assert client.get(url).status_code == 403
    assert client.post(url, {"orders": [orders["sibling"].pk]}).status_code == 403
    assert not Order.objects.filter(status=OrderStatus.MERGED).exists()


def test_csrf_is_enforced(make_user):
    from django.test import Client

    orders = family()
    client = Client(enforce_csrf_checks=True)
    client.force_login(make_user("reviewer2"))

    response = client.post(
        reverse("orders:order_merge", args=[orders["order"].pk]), {"orders": [orders["sibling"].pk]}
    )

    assert response.status_code == 403
    assert not Order.objects.filter(status=OrderStatus.MERGED).exists()
