"""Masking: one function, the same on pages, API and exports (those are tested in
test_customers_pages, test_customers_api and test_customer_import_export)."""

import pytest

from crm.masking import phone_for_user, phone_mask

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+8613800138000", "138****8000"),
        ("+8675588881234", "0755-****1234"),
        ("+861012345678", "010-****5678"),
        ("+864008001234", "400-***1234"),
        ("+85291234567", "+852****4567"),
        ("", ""),
    ],
)
def test_phone_mask(number, masked):
    assert phone_mask(number) == masked


def test_full_number_only_for_roles_with_view_full_phone(make_user):
    agent = make_user("agent")
    supervisor = make_user("supervisor")
    logistics = make_user("logistics")
    assert phone_for_user("+8613800138000", agent) == "138****8000"
    assert phone_for_user("+8613800138000", supervisor) == "13800138000"
    assert phone_for_user("+8613800138000", logistics) == "13800138000"


def test_anonymous_sees_masked():
    from django.contrib.auth.models import AnonymousUser

    assert phone_for_user("+8613800138000", AnonymousUser()) == "138****8000"
