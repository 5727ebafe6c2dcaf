"""Customer API: masking, filters, paging, create/update through services, lookup,
phones and addresses, role refusals."""

import pytest

from crm.models import Customer
from tests.crm.factories import make_customer
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
URL = "/api/crm/customers/"


def test_list_masks_for_agents_and_not_for_supervisors(api_for, make_user):
    make_customer(actor=make_user("agent"), name="冯一", phones=["13800138000"])
    agent_data = api_for("agent").get(URL).json()
    assert agent_data["count"] == 1
    assert agent_data["results"][0]["phones"][0]["number"] == "138****8000"
    assert "13800138000" not in str(agent_data)
    sup = api_for("supervisor").get(URL).json()
    assert sup["results"][0]["phones"][0]["number"] == "13800138000"
    assert "pin" not in sup["results"][0] and "pin_hash" not in sup["results"][0]


def test_list_search_filter_paging_and_query_count(
    api_for, make_user, django_assert_max_num_queries
):
    actor = make_user("agent")
    for i in range(12):
        make_customer(
            actor=actor,
            name=f"陈{i}",
            phones=[f"1370000{i:04d}"],
            level="vip" if i % 2 else "normal",
        )
    c = api_for("agent")
    with django_assert_max_num_queries(8):
        data = c.get(URL, {"page_size": 5}).json()
    assert data["count"] == 12 and len(data["results"]) == 5
    assert c.get(URL, {"level": "vip"}).json()["count"] == 6
    assert c.get(URL, {"q": "13700000003"}).json()["count"] == 1
    assert c.get(URL, {"q": "陈1"}).json()["count"] == 3  # 陈1, 陈10, 陈11


def test_create_and_update_through_services(api_for):
    c = api_for("agent")
    response = c.post(
        URL,
        {"name": "褚二", "phone_numbers": ["+86 138 0013 8000"], "pin": "1234"},
        format="json",
    )
    assert response.status_code == 201, response.content
    customer = Customer.objects.get(name="褚二")
    assert customer.phones.get().number == "+8613800138000"
    assert AuditEntry.objects.filter(action="create", object_id=str(customer.pk)).exists()
    response = c.patch(f"{URL}{customer.pk}/", {"level": "vip"}, format="json")
    assert response.status_code == 200 and response.json()["level"] == "vip"


def test_bad_input_is_400_with_the_error_contract(api_for, make_user):
    make_customer(actor=make_user("agent"), phones=["13800138000"])
    c = api_for("agent")
    count = Customer.objects.count()
    for phones in [["garbage"], ["138-0013-8000"], []]:
        response = c.post(URL, {"name": "卫三", "phone_numbers": phones}, format="json")
        assert response.status_code in (400, 409), response.content
        body = response.json()
        assert set(body) == {"code", "message", "fields"} and "phones" in body["fields"]
    assert Customer.objects.count() == count


def test_lookup_by_phone(api_for, make_user):
    customer = make_customer(actor=make_user("agent"), phones=["0755-88881234"])
    c = api_for("agent")
    response = c.get(f"{URL}lookup/", {"phone": "075588881234"})
    assert response.status_code == 200 and response.json()["id"] == customer.pk
    assert response.json()["phones"][0]["number"] == "0755-****1234"
    missing = c.get(f"{URL}lookup/", {"phone": "13900000000"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_phones_and_addresses_endpoints(api_for, make_user):
    customer = make_customer(actor=make_user("agent"), phones=["13800138000"])
    c = api_for("agent")
    response = c.post(
        "/api/crm/phones/", {"customer": customer.pk, "number": "010-12345678"}, format="json"
    )
    assert response.status_code == 201 and response.json()["number"] == "010-****5678"
    phone_id = response.json()["id"]
    revealed = c.post(f"/api/crm/phones/{phone_id}/reveal/")
    assert revealed.status_code == 200 and revealed.json()["number"] == "+861012345678"
    assert AuditEntry.objects.filter(action="reveal", object_id=str(phone_id)).exists()
    assert c.delete(f"/api/crm/phones/{phone_id}/").status_code == 204
    response = c.post(
        "/api/crm/addresses/",
        {
            "customer": customer.pk,
            "province": "44",
            "city": "4403",
            "district": "110108",
            "street": "x",
        },
        format="json",
    )
    assert response.status_code == 400 and "district" in response.json()["fields"]
    response = c.post(
        "/api/crm/addresses/",
        {
            "customer": customer.pk,
            "province": "44",
            "city": "4403",
            "district": "440305",
            "street": "科技园",
        },
        format="json",
    )
    assert response.status_code == 201 and response.json()["is_default"] is True


def test_role_refusals(api_for, make_user):
    customer = make_customer(actor=make_user("agent"))
    phone = customer.phones.get()
    finance = api_for("finance")
    assert finance.get(URL).status_code == 200
    response = finance.post(URL, {"name": "x", "phone_numbers": ["13800138000"]}, format="json")
    assert response.status_code == 403
    assert finance.patch(f"{URL}{customer.pk}/", {"name": "x"}, format="json").status_code == 403
    assert finance.post(f"/api/crm/phones/{phone.pk}/reveal/").status_code == 403
    assert finance.delete(f"/api/crm/phones/{phone.pk}/").status_code == 403
    assert api_for("agent").delete(f"{URL}{customer.pk}/").status_code in (403, 405)
    customer.refresh_from_db()
    assert customer.name == "张三" and Customer.objects.count() == 1
    assert not AuditEntry.objects.filter(action="reveal").exists()
