"""Customer services and selectors: create, unique phones, addresses, search, lookup."""

import pytest
from django.contrib.auth.hashers import check_password
from django.db import connection

from crm.models import Address, Customer, CustomerPhone
from crm.selectors.customers import customer_find_by_phone, customer_search
from crm.services.customers import (
    address_add,
    address_set_default,
    address_update,
    customer_create,
    customer_phone_add,
    customer_phone_remove,
    customer_update,
)
from tests.crm.factories import beijing_haidian, make_customer, next_mobile, shenzhen_nanshan
from tests.factories import StationFactory
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError

pytestmark = pytest.mark.django_db


def test_create_normalises_phones_hashes_pin_generates_member_no_and_audits(make_user):
    # given an agent
    agent = make_user("agent")
    # when a customer is created with two spellings of numbers and an address
    customer = customer_create(
        actor=agent,
        name=" 李四 ",
        phones=["138-0013-8000", "0755 8888 1234", "+86 138 0013 8000"],
        pin="1234",
        address={**shenzhen_nanshan(), "street": "科技园1号", "postal_code": "518000"},
    )
    # then numbers are stored once each in E.164, the first one primary
    numbers = list(customer.phones.order_by("id").values_list("number", "is_primary"))
    assert numbers == [("+8613800138000", True), ("+8675588881234", False)]
    assert customer.name == "李四"
    assert customer.member_no == f"M{customer.pk:08d}"
    assert customer.pin_hash != "1234" and check_password("1234", customer.pin_hash)
    address = customer.addresses.get()
    assert address.is_default and address.district.name == "南山区"
    entry = AuditEntry.objects.get(
        action="create", object_id=str(customer.pk), content_type__model="customer", actor=agent
    )
    assert "pin_hash" not in entry.after
    assert AuditEntry.objects.filter(
        action="create", object_id=str(address.pk), content_type__model="address"
    ).exists()


def test_a_number_belongs_to_one_customer_only_and_nothing_is_saved(make_user):
    agent = make_user("agent")
    first = make_customer(actor=agent, phones=["13800138000"])
    before = (Customer.objects.count(), CustomerPhone.objects.count(), AuditEntry.objects.count())
    # when another customer is created with the same number spelled differently
    with pytest.raises(DomainError) as info:
        customer_create(actor=agent, name="王五", phones=[next_mobile(), "+86 138 0013 8000"])
    # then a clear error names the owner and nothing is saved
    assert "phones" in info.value.fields
    assert str(first.pk) in info.value.message
    after = (Customer.objects.count(), CustomerPhone.objects.count(), AuditEntry.objects.count())
    assert after == before


def test_create_refuses_bad_input_without_saving(make_user):
    agent = make_user("agent")
    count = Customer.objects.count()
    for kwargs, field in [
        ({"name": "", "phones": [next_mobile()]}, "name"),
        ({"name": "x", "phones": []}, "phones"),
        ({"name": "x", "phones": ["garbage"]}, "phones"),
        ({"name": "x", "phones": [next_mobile()], "pin": "12"}, "pin"),
        ({"name": "x", "phones": [next_mobile()], "level": "king"}, "level"),
    ]:
        with pytest.raises(DomainError) as info:
            customer_create(actor=agent, **kwargs)
        assert field in info.value.fields
    with pytest.raises(DomainError) as info:
        customer_create(
            actor=agent,
            name="x",
            phones=[next_mobile()],
            address={**shenzhen_nanshan(), "city": beijing_haidian()["city"], "street": "x"},
        )
    assert "city" in info.value.fields
    assert Customer.objects.count() == count


def test_member_no_unique(make_user):
    agent = make_user("agent")
    make_customer(actor=agent, member_no="VIP001")
    with pytest.raises(DomainError) as info:
        make_customer(actor=agent, member_no="VIP001")
    assert "member_no" in info.value.fields


def test_update_audits_before_and_after(make_user):
    agent = make_user("agent")
    customer = make_customer(actor=agent)
    customer_update(actor=agent, customer=customer, level="vip", notes="likes tea", pin="5678")
    customer.refresh_from_db()
    assert customer.level == "vip" and check_password("5678", customer.pin_hash)
    entry = AuditEntry.objects.get(
        action="update", object_id=str(customer.pk), content_type__model="customer"
    )
    assert entry.before["level"] == "normal" and entry.after["level"] == "vip"


def test_phone_add_and_remove(make_user):
    agent = make_user("agent")
    customer = make_customer(actor=agent, phones=["13800138000"])
    other = make_customer(actor=agent)
    phone = customer_phone_add(actor=agent, customer=customer, number="010-12345678")
    assert phone.number == "+861012345678" and not phone.is_primary
    assert (phone.province, phone.city) == ("北京市", "北京市")
    with pytest.raises(DomainError):
        customer_phone_add(actor=agent, customer=other, number="01012345678")
    customer_phone_remove(actor=agent, phone=customer.phones.get(number="+8613800138000"))
    assert customer.phones.get().is_primary  # the remaining one became primary
    with pytest.raises(DomainError):
        customer_phone_remove(actor=agent, phone=customer.phones.get())
    assert customer.phones.count() == 1
    assert AuditEntry.objects.filter(action="delete", object_repr="+8613800138000").exists()


def test_addresses_one_default_and_consistent_divisions(make_user):
    agent = make_user("agent")
    customer = make_customer(actor=agent)
    first = address_add(actor=agent, customer=customer, street="a", **shenzhen_nanshan())
    second = address_add(actor=agent, customer=customer, street="b", **beijing_haidian())
    assert first.is_default and not second.is_default
    address_set_default(actor=agent, address=second)
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_default and not first.is_default
    # a district of another city is refused
    chain = {**shenzhen_nanshan(), "district": beijing_haidian()["district"]}
    with pytest.raises(DomainError) as info:
        address_update(actor=agent, address=first, street="c", **chain)
    assert "district" in info.value.fields
    first.refresh_from_db()
    assert first.street == "a"
    # codes work too (API)
    address_update(
        actor=agent, address=first, street="c", province="11", city="1101", district="110108"
    )
    assert Address.objects.get(pk=first.pk).city.name == "北京市"


def test_find_by_phone_any_spelling_one_query(make_user, django_assert_num_queries):
    agent = make_user("agent")
    customer = make_customer(actor=agent, phones=["13800138000", "0755-88881234"])
    for raw in ["13800138000", "+86 138 0013 8000", "008613800138000", "0755 8888 1234"]:
        with django_assert_num_queries(1):
            found = customer_find_by_phone(raw)
            assert found == customer
            assert found.source_station is None  # joined, no extra query
    assert customer_find_by_phone("13900000000") is None
    assert customer_find_by_phone("0755-88881234").matched_phone.number == "+8675588881234"


def test_find_by_phone_brings_the_source_station_along(make_user, django_assert_num_queries):
    station = StationFactory(name="湖南卫视")
    customer = make_customer(actor=make_user("agent"), phones=["13800138000"])
    customer_update(actor=None, customer=customer, source_station=station, level="vip")
    with django_assert_num_queries(1):
        found = customer_find_by_phone("138 0013 8000")
        assert found.pk == customer.pk and found.level == "vip"
        assert found.source_station.name == "湖南卫视"
        assert found.matched_phone.customer is found
    with django_assert_num_queries(0):
        assert customer_find_by_phone("garbage") is None


def test_find_by_phone_uses_the_unique_index(make_user):
    agent = make_user("agent")
    for _ in range(3):
        make_customer(actor=agent)
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute(
            "EXPLAIN SELECT * FROM crm_customerphone WHERE number = %s", ["+8613800138000"]
        )
        plan = " ".join(r[0] for r in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "crm_customerphone_number_key" in plan or "number_6f0751ca_like" in plan


def test_search_by_partial_number_name_and_member_no(make_user):
    agent = make_user("agent")
    a = make_customer(actor=agent, name="张伟", phones=["13800138000"], member_no="A100")
    b = make_customer(actor=agent, name="张敏", phones=["0755-88881234"])
    c = make_customer(actor=agent, name="Wang Fang", phones=["13912345678"])

    def ids(q, **kw):
        return set(customer_search(q, **kw).values_list("id", flat=True))

    assert ids("13800138000") == {a.pk}
    assert ids("138 0013 8000") == {a.pk}
    assert ids("8000") == {a.pk}  # partial, from the end
    assert ids("0013") == {a.pk}  # partial, from the middle
    assert ids("0755 8888") == {b.pk}  # with the trunk 0
    assert ids("88881234") == {b.pk}
    assert ids("张") == {a.pk, b.pk}
    assert ids("wang") == {c.pk}  # case-insensitive
    assert ids("A100") == {a.pk}
    assert ids("") >= {a.pk, b.pk, c.pk}
    assert ids("张", level="vip") == set()
    assert ids("13") == set()  # too short for a partial number


def test_partial_number_search_uses_the_trigram_index(make_user):
    agent = make_user("agent")
    make_customer(actor=agent)
    sql, params = customer_search("8000").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = " ".join(r[0] for r in cursor.fetchall())
        cursor.execute(
            "EXPLAIN " + customer_search("张伟").query.sql_with_params()[0],
            customer_search("张伟").query.sql_with_params()[1],
        )
        name_plan = " ".join(r[0] for r in cursor.fetchall())
        cursor.execute("SET enable_seqscan = on")
    assert "crm_customerphone_number_trgm" in plan
    assert "crm_customer_name_upper_trgm" in name_plan
