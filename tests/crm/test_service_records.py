"""Service records (服务记录): the service, the customer-page fragment, the list, the API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import ServiceRecord
from crm.services.contacts import service_record_create
from tests.crm.factories_contacts import ServiceRecordFactory, staff_user
from tests.factories import CustomerFactory, CustomerPhoneFactory
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError

pytestmark = pytest.mark.django_db


# --- service ------------------------------------------------------------------------------


def test_create_writes_the_note_and_an_audit_entry():
    agent = staff_user("agent")
    customer = CustomerFactory()

    record = service_record_create(
        actor=agent, customer=customer, content="  询问发货时间  ", channel="inbound"
    )

    assert record.agent == agent
    assert record.content == "询问发货时间"
    assert abs((timezone.now() - record.at).total_seconds()) < 5
    entry = AuditEntry.objects.get(object_id=str(record.pk), action="create")
    assert entry.actor == agent
    assert entry.after["content"] == "询问发货时间"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"content": "   "}, "content"),
        ({"content": "x" * 4001}, "content"),
        ({"channel": "fax"}, "channel"),
        ({"at": timezone.now() + dt.timedelta(hours=1)}, "at"),
    ],
)
def test_bad_input_is_refused_and_nothing_saved(kwargs, field):
    agent = staff_user("agent")
    customer = CustomerFactory()
    args = {"content": "ok", "channel": "inbound", **kwargs}

    with pytest.raises(DomainError) as exc:
        service_record_create(actor=agent, customer=customer, **args)

    assert field in exc.value.fields
    assert not ServiceRecord.objects.exists()
    assert not AuditEntry.objects.filter(action="create").exists()


def test_a_merged_customer_takes_no_notes():
    survivor = CustomerFactory()
    merged = CustomerFactory(merged_into=survivor)

    with pytest.raises(DomainError):
        service_record_create(
            actor=staff_user("agent"), customer=merged, content="x", channel="inbound"
        )
    assert not ServiceRecord.objects.exists()


# --- customer-page fragment ---------------------------------------------------------------


def test_fragment_lists_the_customers_notes_newest_first_with_an_add_form(client_for):
    c = client_for("agent")
    customer = CustomerFactory()
    now = timezone.now()
    ServiceRecordFactory(customer=customer, content="第一次来电", at=now - dt.timedelta(days=2))
    ServiceRecordFactory(customer=customer, content="第二次来电", at=now - dt.timedelta(days=1))
    ServiceRecordFactory(content="别人的记录")

    response = c.get(reverse("crm:customer_service_records", args=[customer.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert html.index("第二次来电") < html.index("第一次来电")
    assert "别人的记录" not in html
    assert 'name="content"' in html
    assert 'name="channel"' in html
    assert 'id="add-service-record"' in html
    assert "hx-post" in html


def test_fragment_post_adds_a_note_and_rerenders(client_for):
    c = client_for("agent")
    customer = CustomerFactory()

    response = c.post(
        reverse("crm:customer_service_records", args=[customer.pk]),
        {"content": "客户要求换货", "channel": "outbound"},
        HTTP_HX_REQUEST="true",
    )

    assert response.status_code == 200
    assert "客户要求换货" in response.content.decode()
    record = ServiceRecord.objects.get()
    assert (record.customer, record.agent, record.channel) == (customer, c.user, "outbound")


def test_fragment_post_with_an_empty_note_is_a_400_with_the_message(client_for):
    c = client_for("agent")
    customer = CustomerFactory()

    response = c.post(
        reverse("crm:customer_service_records", args=[customer.pk]),
        {"content": "", "channel": "inbound"},
    )

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert not ServiceRecord.objects.exists()


def test_fragment_is_paginated(client_for):
    c = client_for("agent")
    customer = CustomerFactory()
    ServiceRecordFactory.create_batch(12, customer=customer)

    first = c.get(reverse("crm:customer_service_records", args=[customer.pk])).content.decode()
    second = c.get(
        reverse("crm:customer_service_records", args=[customer.pk]) + "?page=2"
    ).content.decode()

    assert first.count('class="service-record"') == 10
    assert second.count('class="service-record"') == 2


def test_finance_cannot_see_or_add_service_records(client_for):
    c = client_for("finance")
    customer = CustomerFactory()
    url = reverse("crm:customer_service_records", args=[customer.pk])

    assert c.get(url).status_code == 403
    assert c.post(url, {"content": "x", "channel": "inbound"}).status_code == 403
    assert c.get(reverse("crm:servicerecord_list")).status_code == 403
    assert not ServiceRecord.objects.exists()


# --- list page ----------------------------------------------------------------------------


def test_list_filters_by_agent_channel_dates_and_customer(client_for):
    c = client_for("supervisor")
    agent = staff_user("agent")
    wang = CustomerFactory(name="王小明")
    CustomerPhoneFactory(customer=wang, number="+8613912345678")
    now = timezone.now()
    ServiceRecordFactory(customer=wang, agent=agent, channel="sms", content="短信回访")
    ServiceRecordFactory(content="上周的记录", at=now - dt.timedelta(days=8))
    ServiceRecordFactory(content="其他客户")
    url = reverse("crm:servicerecord_list")

    def shown(params):
        return c.get(url, params).content.decode()

    assert "短信回访" in shown({"agent": agent.pk})
    assert "其他客户" not in shown({"agent": agent.pk})
    assert "其他客户" not in shown({"channel": "sms"})
    week_ago = (timezone.localdate() - dt.timedelta(days=8)).isoformat()
    page = shown({"date_from": week_ago, "date_to": week_ago})
    assert "上周的记录" in page and "短信回访" not in page
    assert "短信回访" in shown({"q": "王小"})
    assert "其他客户" not in shown({"q": "王小"})
    assert "短信回访" in shown({"q": "2345678"})


def test_list_page_query_count_does_not_grow_with_rows(client_for, django_assert_max_num_queries):
    c = client_for("agent")
    ServiceRecordFactory.create_batch(30)

    with django_assert_max_num_queries(9):
        response = c.get(reverse("crm:servicerecord_list"))

    assert response.status_code == 200


def test_fragment_query_count_does_not_grow_with_rows(client_for, django_assert_max_num_queries):
    c = client_for("agent")
    customer = CustomerFactory()
    ServiceRecordFactory.create_batch(10, customer=customer)

    with django_assert_max_num_queries(9):
        response = c.get(reverse("crm:customer_service_records", args=[customer.pk]))
    assert response.status_code == 200


# --- API ----------------------------------------------------------------------------------


def test_api_create_writes_as_the_requesting_agent(api_for):
    api = api_for("agent")
    customer = CustomerFactory()

    response = api.post(
        "/api/crm/service-records/",
        {"customer": customer.pk, "content": "API 记录", "channel": "wechat", "agent": 999},
        format="json",
    )

    assert response.status_code == 201, response.content
    record = ServiceRecord.objects.get()
    assert record.agent == api.user
    assert response.json()["agent"] == api.user.pk


def test_api_bad_input_is_a_400_json_error(api_for):
    api = api_for("agent")
    customer = CustomerFactory()

    response = api.post(
        "/api/crm/service-records/",
        {"customer": customer.pk, "content": "   ", "channel": "inbound"},
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"code", "message", "fields"}
    assert "content" in body["fields"]
    assert not ServiceRecord.objects.exists()


def test_api_finance_is_refused(api_for):
    api = api_for("finance")
    customer = CustomerFactory()

    assert api.get("/api/crm/service-records/").status_code == 403
    response = api.post(
        "/api/crm/service-records/",
        {"customer": customer.pk, "content": "x", "channel": "inbound"},
        format="json",
    )
    assert response.status_code == 403
    assert response.json()["code"]
    assert not ServiceRecord.objects.exists()


def test_api_list_filters_and_query_count(api_for, django_assert_max_num_queries):
    api = api_for("agent")
    customer = CustomerFactory()
    ServiceRecordFactory.create_batch(5, customer=customer)
    ServiceRecordFactory.create_batch(25)

    with django_assert_max_num_queries(7):
        response = api.get("/api/crm/service-records/", {"customer": customer.pk})

    assert response.status_code == 200
    assert response.json()["count"] == 5
