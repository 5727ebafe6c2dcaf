"""Customer pages: search list, create, page with masking and reveal, edit, addresses."""

import re

import pytest
from django.urls import reverse

from crm.models import Customer
from tests.crm.factories import give_points, make_customer, shenzhen_nanshan
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


def test_list_finds_by_partial_number_and_masks_for_agents(client_for, make_user):
    # given two customers
    actor = make_user("supervisor")
    wanted = make_customer(actor=actor, name="赵六", phones=["13800138000"])
    make_customer(actor=actor, name="钱七", phones=["13912345678"])
    c = client_for("agent")
    # when an agent searches part of a number
    page = c.get(reverse("crm:customer_list"), {"q": "0013 8"})
    html = page.content.decode()
    # then one row links to the customer, with the number masked
    assert page.status_code == 200
    assert 'id="customer-search"' in html and 'name="q"' in html
    assert html.count('class="customer-row"') == 1
    assert reverse("crm:customer_detail", args=[wanted.pk]) in html
    assert "138****8000" in html and "13800138000" not in html
    # a supervisor sees the full number
    html = client_for("supervisor").get(reverse("crm:customer_list"), {"q": "赵"}).content.decode()
    assert "13800138000" in html


def test_list_htmx_returns_the_table_only(client_for, make_user):
    make_customer(actor=make_user("agent"), name="孙八")
    c = client_for("agent")
    response = c.get(
        reverse("crm:customer_list"),
        {"q": "孙"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="customer-results",
    )
    html = response.content.decode()
    assert "<html" not in html and 'class="customer-row"' in html


def test_list_query_count_does_not_grow_with_rows(
    client_for, make_user, django_assert_max_num_queries
):
    actor = make_user("agent")
    for i in range(30):
        make_customer(actor=actor, name=f"客户{i}", phones=[f"1370000{i:04d}", f"1360000{i:04d}"])
    c = client_for("agent")
    # session, user, 2 x permissions, count, rows, phones
    with django_assert_max_num_queries(7):
        response = c.get(reverse("crm:customer_list"))
    assert response.content.decode().count('class="customer-row"') == 25


def test_create_page_with_address(client_for):
    c = client_for("agent")
    chain = shenzhen_nanshan()
    assert (
        "13800138000"
        in c.get(reverse("crm:customer_create"), {"phone": "13800138000"}).content.decode()
    )  # the screen pop pre-fills the number
    response = c.post(
        reverse("crm:customer_create"),
        {
            "name": "周九",
            "level": "normal",
            "phones": "138-0013-8000; 0755 8888 1234",
            "province": chain["province"].pk,
            "city": chain["city"].pk,
            "district": chain["district"].pk,
            "street": "科技园",
        },
    )
    assert response.status_code == 302
    customer = Customer.objects.get(name="周九")
    assert response["Location"] == reverse("crm:customer_detail", args=[customer.pk])
    assert customer.phones.count() == 2 and customer.addresses.get().is_default


def test_create_page_shows_errors_and_saves_nothing(client_for, make_user):
    make_customer(actor=make_user("agent"), phones=["13800138000"])
    c = client_for("agent")
    count = Customer.objects.count()
    for phones in ["not a number", "13800138000"]:
        response = c.post(
            reverse("crm:customer_create"), {"name": "吴十", "level": "normal", "phones": phones}
        )
        assert response.status_code == 200
        assert 'class="error"' in response.content.decode()
    assert Customer.objects.count() == count


@pytest.mark.parametrize("role", ["finance", "logistics"])
def test_roles_without_add_permission_cannot_create(client_for, role):
    c = client_for(role)
    count = Customer.objects.count()
    assert c.get(reverse("crm:customer_create")).status_code == 403
    response = c.post(
        reverse("crm:customer_create"),
        {"name": "x", "level": "normal", "phones": "13800138000"},
    )
    assert response.status_code == 403
    assert Customer.objects.count() == count


def test_detail_page_masks_and_reveal_is_audited(client_for, make_user):
    actor = make_user("supervisor")
    customer = make_customer(actor=actor, name="郑一", phones=["13800138000"], level="vip")
    give_points(customer, 30)
    phone = customer.phones.get()
    c = client_for("agent")
    html = c.get(reverse("crm:customer_detail", args=[customer.pk])).content.decode()
    assert "138****8000" in html and "13800138000" not in html
    assert reverse("crm:phone_reveal", args=[phone.pk]) in html
    assert 'class="badge vip"' in html
    assert reverse("crm:customer_points", args=[customer.pk]) in html
    # when the agent reveals the number
    response = c.post(reverse("crm:phone_reveal", args=[phone.pk]))
    # then the fragment carries the full number and an audit entry says who saw it
    assert response.status_code == 200
    assert "13800138000" in response.content.decode()
    assert AuditEntry.objects.filter(
        action="reveal", actor=c.user, object_id=str(phone.pk)
    ).exists()
    # reveal is POST only
    assert c.get(reverse("crm:phone_reveal", args=[phone.pk])).status_code == 405
    points = c.get(reverse("crm:customer_points", args=[customer.pk])).content.decode()
    assert "+30" in points


def test_reveal_refused_without_permission(client_for, make_user):
    customer = make_customer(actor=make_user("agent"))
    phone = customer.phones.get()
    c = client_for("finance")
    html = c.get(reverse("crm:customer_detail", args=[customer.pk])).content.decode()
    assert reverse("crm:phone_reveal", args=[phone.pk]) not in html
    assert c.post(reverse("crm:phone_reveal", args=[phone.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action="reveal").exists()


def test_edit_page(client_for, make_user):
    customer = make_customer(actor=make_user("agent"), name="王二")
    c = client_for("agent")
    url = reverse("crm:customer_edit", args=[customer.pk])
    assert c.get(url).status_code == 200
    response = c.post(
        url, {"name": "王二麻", "level": "vip", "member_no": customer.member_no, "notes": "x"}
    )
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.name == "王二麻" and customer.level == "vip"
    finance = client_for("finance")
    assert (
        finance.post(url, {"name": "hack", "level": "normal", "member_no": "x"}).status_code == 403
    )
    customer.refresh_from_db()
    assert customer.name == "王二麻"


def test_phone_add_and_remove_pages(client_for, make_user):
    customer = make_customer(actor=make_user("agent"), phones=["13800138000"])
    c = client_for("agent")
    c.post(reverse("crm:phone_add", args=[customer.pk]), {"number": "010-12345678"})
    assert customer.phones.count() == 2
    phone = customer.phones.get(number="+861012345678")
    c.post(reverse("crm:phone_remove", args=[phone.pk]))
    assert customer.phones.count() == 1


def test_address_pages_and_division_cascade(client_for, make_user):
    customer = make_customer(actor=make_user("agent"))
    c = client_for("agent")
    options = c.get(reverse("crm:division_children"), {"province": "44"}).content.decode()
    assert "深圳市" in options and "南山区" not in options
    options = c.get(reverse("crm:division_children"), {"city": "4403"}).content.decode()
    assert "南山区" in options
    form = c.get(reverse("crm:address_add", args=[customer.pk])).content.decode()
    assert reverse("crm:division_children") in form
    response = c.post(
        reverse("crm:address_add", args=[customer.pk]),
        {"province": "44", "city": "4403", "district": "110108", "street": "x"},
    )
    assert response.status_code == 200 and customer.addresses.count() == 0
    response = c.post(
        reverse("crm:address_add", args=[customer.pk]),
        {"province": "44", "city": "4403", "district": "440305", "street": "科技园"},
    )
    assert response.status_code == 302
    second = c.post(
        reverse("crm:address_add", args=[customer.pk]),
        {"province": "11", "city": "1101", "district": "110108", "street": "中关村"},
    )
    assert second.status_code == 302
    new = customer.addresses.get(street="中关村")
    assert not new.is_default
    c.post(reverse("crm:address_set_default", args=[new.pk]))
    new.refresh_from_db()
    assert new.is_default
    html = c.get(reverse("crm:customer_detail", args=[customer.pk])).content.decode()
    assert re.search(r"中关村.*badge", html, re.S)
