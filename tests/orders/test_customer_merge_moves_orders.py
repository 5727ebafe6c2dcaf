"""A customer merge (crm) carries the duplicate's orders, calls and callbacks along."""

import pytest
from django.utils import timezone

from crm.services.customers import customer_merge
from orders.models import Order
from telephony.callbacks.models import CallbackRequest
from telephony.models import Call
from tests.crm.factories import make_customer
from tests.orders.factories import make_order

pytestmark = pytest.mark.django_db


def test_merging_customers_moves_their_orders_calls_and_callbacks(make_user):
    # given two records of one person, the duplicate with an order, a call and a callback
    supervisor = make_user("supervisor")
    survivor = make_customer(actor=supervisor, phones=["13800138000"])
    duplicate = make_customer(actor=supervisor, phones=["13900139000"])
    order = make_order(customer=duplicate)
    call = Call.objects.create(
        uuid="merge-call-1",
        direction="inbound",
        caller="+8613900139000",
        customer=duplicate,
        created_at=timezone.now(),
    )
    callback = CallbackRequest.objects.create(
        number="+8613900139000",
        customer=duplicate,
        first_call_at=timezone.now(),
        last_call_at=timezone.now(),
        next_attempt_at=timezone.now(),
    )

    # when the duplicate is merged into the survivor
    customer_merge(actor=supervisor, survivor=survivor, duplicate=duplicate)

    # then its order, call and callback belong to the survivor
    assert Order.objects.get(pk=order.pk).customer_id == survivor.pk
    assert Call.objects.get(pk=call.pk).customer_id == survivor.pk
    assert CallbackRequest.objects.get(pk=callback.pk).customer_id == survivor.pk
