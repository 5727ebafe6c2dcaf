"""The demo loader (`make run`) and the customer generator (benchmark)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.db.models import Count, Q
from django.test import Client
from django.urls import reverse

from crm import demo
from crm.choices import CustomerLevel, DivisionLevel, PhoneKind, ScriptStage
from crm.models import FAQ, Address, Customer, CustomerPhone, Script
from crm.selectors.customers import customer_find_by_phone
from tvshop.accounts.roles import Role
from tvshop.catalog.models import Gift, Product
from tvshop.media.models import AiringSlot, Hotline, Station

pytestmark = pytest.mark.django_db
E164_MOBILE = re.compile(r"^\+861[3-9]\d{9}$")


@pytest.fixture(autouse=True)
def password_file(tmp_path, monkeypatch):
    """Keep the generated password out of the checkout's var/ during tests."""
    path = tmp_path / "demo_password"
    monkeypatch.setattr(demo, "demo_password_path", lambda: path)
    return path


def run(*args) -> str:
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def counts() -> dict[str, int]:
    User = get_user_model()
    return {
        "users": User.objects.count(),
        "stations": Station.objects.count(),
        "hotlines": Hotline.objects.count(),
        "products": Product.objects.count(),
        "gifts": Gift.objects.count(),
        "slots": AiringSlot.objects.count(),
        "customers": Customer.objects.count(),
        "phones": CustomerPhone.objects.count(),
        "addresses": Address.objects.count(),
        "scripts": Script.objects.count(),
        "faqs": FAQ.objects.count(),
    }


def test_load_demo_creates_the_promised_data():
    # given an empty database (migrated: roles and divisions only)
    assert Customer.objects.count() == 0

    # when
    run()

    # then base data
    assert Station.objects.count() == 5
    assert Hotline.objects.count() == 8
    hotline = Hotline.objects.select_related("station").get(number="4008001234")
    assert hotline.station.name.endswith("卫视") and hotline.queue_name
    assert all(h.number.startswith("400") for h in Hotline.objects.all())
    assert Product.objects.count() == 20
    assert Product.objects.filter(supplier__isnull=True).count() == 0
    product = Product.objects.get(sku="TV-KT-001")
    assert isinstance(product.price, Decimal) and product.price > product.cost > 0
    assert Gift.objects.count() == 10 and not Gift.objects.filter(stock=0).exists()
    slots = AiringSlot.objects.select_related("hotline")
    assert slots.exists()
    assert all(s.hotline.station_id == s.station_id and s.end > s.start for s in slots)
    from django.utils import timezone

    now = timezone.now()
    assert slots.filter(start__lt=now - timezone.timedelta(days=5)).exists()
    assert slots.filter(start__gt=now + timezone.timedelta(days=1)).exists()

    # then knowledge: a script per product and stage, 50 searchable FAQ entries
    assert FAQ.objects.count() == 50
    assert not FAQ.objects.filter(search_terms="").exists()
    assert FAQ.objects.filter(question__contains="退货").count() >= 3
    stages = [ScriptStage.OPENING, ScriptStage.PITCH, ScriptStage.OBJECTION, ScriptStage.CLOSING]
    for stage in stages:
        assert Script.objects.filter(stage=stage, product__isnull=False).count() == 20
    assert Script.objects.filter(stage=ScriptStage.GREETING_RETURNING).exists()

    # then customers
    assert Customer.objects.count() == 2000
    assert Customer.objects.filter(level=CustomerLevel.VIP).count() >= 20
    assert Customer.objects.filter(level=CustomerLevel.BLACKLISTED).count() >= 1
    assert not Customer.objects.filter(Q(member_no__isnull=True) | Q(name="")).exists()
    primaries = Customer.objects.annotate(n=Count("phones", filter=Q(phones__is_primary=True)))
    assert set(primaries.values_list("n", flat=True)) == {1}
    defaults = Customer.objects.annotate(n=Count("addresses", filter=Q(addresses__is_default=True)))
    assert set(defaults.values_list("n", flat=True)) == {1}
    mobiles = CustomerPhone.objects.filter(kind=PhoneKind.MOBILE)
    assert mobiles.count() >= 2000
    assert all(E164_MOBILE.match(n) for n in mobiles.values_list("number", flat=True))
    assert mobiles.exclude(province="").count() == mobiles.count()
    address = Address.objects.select_related("province", "city", "district").first()
    assert address.district.level == DivisionLevel.DISTRICT
    assert address.district.parent_id == address.city_id
    assert address.city.parent_id == address.province_id


def test_load_demo_users_of_every_role_can_log_in(password_file):
    # given
    run()
    password = password_file.read_text().strip()
    validate_password(password)
    User = get_user_model()

    # then: 60 agents with Chinese names and employee numbers, an admin superuser
    agents = User.objects.filter(groups__name=Role.AGENT)
    assert agents.count() == 60
    assert not agents.filter(Q(full_name="") | Q(employee_no="")).exists()
    assert all(not n.isascii() for n in agents.values_list("full_name", flat=True))
    admin = User.objects.get(username="admin")
    assert admin.is_superuser and admin.groups.filter(name=Role.ADMINISTRATOR).exists()

    # when each role's first user logs in through the login form
    for role in Role:
        user = User.objects.filter(groups__name=role.value).order_by("username").first()
        assert user is not None, role
        client = Client()
        response = client.post(reverse("login"), {"username": user.username, "password": password})
        # then
        assert response.status_code == 302, (role, user.username)
        assert client.session["_auth_user_id"] == str(user.pk)

    # and a wrong password is refused
    response = Client().post(reverse("login"), {"username": "agent01", "password": "nope"})
    assert response.status_code == 200


def test_load_demo_is_idempotent_and_if_empty_does_nothing():
    # given a loaded demo
    run()
    before = counts()

    # when it runs again, and with --if-empty
    second = run()
    third = run("--if-empty")

    # then nothing is added
    assert counts() == before
    assert "customers" not in second.split(":")[-1]
    assert third.strip()  # says it did nothing
    assert counts() == before


def test_if_empty_leaves_a_database_with_customers_alone():
    # given a database someone already uses
    Customer.objects.create(name="真实客户")

    # when
    run("--if-empty")

    # then
    assert Station.objects.count() == 0
    assert Customer.objects.count() == 1


def test_print_logins_and_password(password_file):
    # given
    run()

    # when
    logins = run("--print-logins")
    password = run("--print-password").strip()

    # then one line per role, with the user names
    lines = [line for line in logins.splitlines() if line.strip()]
    assert len(lines) == len(Role)
    assert "agent01" in logins and "agent60" in logins
    for name in ("admin", "reviewer1", "reviewer2", "logistics", "finance", "supervisor"):
        assert name in logins
    assert password == password_file.read_text().strip()
    assert get_user_model().objects.get(username="agent07").check_password(password)


def test_lost_password_file_gets_a_new_password_that_works(password_file):
    # given a loaded demo whose var/demo_password was deleted
    run()
    old = password_file.read_text().strip()
    password_file.unlink()

    # when the password is asked for
    new = run("--print-password").strip()

    # then a new one was made and set on the demo users
    assert new != old
    assert get_user_model().objects.get(username="supervisor").check_password(new)


def test_generate_customers_makes_unique_findable_numbers():
    # given a few existing customers (the demo's numbers must not collide)
    run()
    before = Customer.objects.count()
    out = io.StringIO()

    # when
    call_command("generate_customers", "2000", "--batch-size", "700", stdout=out)

    # then
    assert Customer.objects.count() == before + 2000
    assert "2000" in out.getvalue() and "postgresql" in out.getvalue()
    new = CustomerPhone.objects.filter(
        customer_id__gt=Customer.objects.order_by("id")[before - 1].id
    )
    numbers = list(new.values_list("number", flat=True))
    assert len(numbers) == 2000 == len(set(numbers))
    assert all(E164_MOBILE.match(n) for n in numbers)
    # 归属地 from phonenumbers' geocoder, which knows most (not all) number blocks
    assert new.exclude(province="").count() >= 1800
    members = Customer.objects.filter(member_no__isnull=False).values_list("member_no", flat=True)
    assert len(set(members)) == before + 2000
    # and each is found by the screen-pop lookup, whatever the spelling
    for number in numbers[:: len(numbers) // 20]:
        national = number[3:]
        spellings = [
            national,
            f"+86 {national[:3]} {national[3:7]} {national[7:]}",
            f"{national[:3]}-{national[3:7]}-{national[7:]}",
            "0086" + national,
        ]
        owner = CustomerPhone.objects.get(number=number).customer_id
        for spelling in spellings:
            found = customer_find_by_phone(spelling)
            assert found is not None and found.pk == owner, spelling


def test_mobile_space_is_a_bijection_on_valid_numbers():
    import phonenumbers

    space = demo.MobileSpace()
    numbers = [space.national(i) for i in range(1, 20001)]
    assert len(set(numbers)) == len(numbers)
    for national in numbers[::997]:
        assert phonenumbers.is_valid_number(phonenumbers.parse(national, "CN"))


@pytest.mark.django_db
def test_demo_seats_are_created_once():
    from io import StringIO

    from telephony.models import Seat

    call_command("load_demo_seats", stdout=StringIO())
    call_command("load_demo_seats", stdout=StringIO())
    assert Seat.objects.count() == 60
    assert Seat.objects.filter(extension="1001").get().cc_agent == "1001@default"
