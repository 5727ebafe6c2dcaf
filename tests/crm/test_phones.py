"""Phone normalisation: every usual spelling gives one E.164 number; garbage is refused."""

import pytest

from crm.choices import PhoneKind
from crm.phones import (
    InvalidPhone,
    phone_canonical,
    phone_display,
    phone_lookup_key,
    phone_normalize,
    split_phone_list,
    split_region,
)

SAME_MOBILE = [
    "13800138000",
    "+86 138 0013 8000",
    "138-0013-8000",
    "008613800138000",
    "+8613800138000",
    "(138) 0013-8000",
    "１３８００１３８０００",  # full-width digits from a Chinese IME
    " 138 0013 8000 ",
]


@pytest.mark.parametrize("raw", SAME_MOBILE)
def test_every_spelling_of_a_mobile_is_the_same_number(raw):
    # given a mobile number written one of the usual ways
    # when it is normalised
    phone = phone_normalize(raw)
    # then it is the one canonical E.164 number, a mobile
    assert phone.number == "+8613800138000"
    assert phone.kind == PhoneKind.MOBILE


def test_landline_with_area_code():
    phone = phone_normalize("0755 8888 1234")
    assert phone.number == "+8675588881234"
    assert phone.kind == PhoneKind.LANDLINE
    assert (phone.province, phone.city) == ("广东省", "深圳市")
    assert phone_normalize("075588881234").number == phone.number
    assert phone_normalize("0755-88881234").number == phone.number


def test_beijing_landline_is_a_municipality():
    phone = phone_normalize("010-12345678")
    assert phone.number == "+861012345678"
    assert phone.kind == PhoneKind.LANDLINE
    assert (phone.province, phone.city) == ("北京市", "北京市")


def test_400_and_800_numbers_are_service_numbers():
    assert phone_normalize("4008001234").number == "+864008001234"
    assert phone_normalize("4008001234").kind == PhoneKind.SERVICE
    assert phone_normalize("400-800-1234").number == "+864008001234"
    assert phone_normalize("8008001234").kind == PhoneKind.SERVICE


def test_home_location_uses_official_province_names():
    # The geocoder writes "广西南宁市"; the division table says 广西壮族自治区.
    phone = phone_normalize("13907710000")
    assert (phone.province, phone.city) == ("广西壮族自治区", "南宁市")
    assert split_region("广东省深圳市") == ("广东省", "深圳市")
    assert split_region("内蒙古呼和浩特市") == ("内蒙古自治区", "呼和浩特市")
    assert split_region("中国") == ("", "")


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "abc",
        "123",
        "13800138000a",
        "138001380001",
        "95588",
        "10086",
        "+86 138",
        "1380013800O",
        "138 0013 8000 ext. 5",
        "=13800138000",
        "12345678",
    ],
)
def test_garbage_and_invalid_numbers_are_refused_naming_the_input(raw):
    with pytest.raises(InvalidPhone) as info:
        phone_normalize(raw)
    assert raw.strip() in info.value.message or raw == ""
    assert info.value.fields  # shown beside the field


def test_foreign_numbers_are_accepted_as_other_with_their_region():
    # Policy: valid numbers outside mainland China (written with + or 00) are kept.
    phone = phone_normalize("+852 9123 4567")
    assert phone.number == "+85291234567"
    assert phone.kind == PhoneKind.OTHER
    assert phone.province == "香港"
    assert phone_normalize("0085291234567").number == "+85291234567"
    with pytest.raises(InvalidPhone):
        phone_normalize("+1 555 0000")  # not a valid US number


def test_display_forms():
    assert phone_display("+8613800138000") == "13800138000"
    assert phone_display("+8675588881234") == "0755-88881234"
    assert phone_display("+861012345678") == "010-12345678"
    assert phone_display("+864008001234") == "400-800-1234"
    assert phone_display("+85291234567") == "+852 9123 4567"


def test_lookup_key_fast_path_equals_the_parser():
    for raw in SAME_MOBILE:
        assert phone_lookup_key(raw) == phone_canonical(raw) == "+8613800138000"
    assert phone_lookup_key("garbage") is None


def test_split_phone_list():
    assert split_phone_list("13800138000; 0755-88881234 / 4008001234") == [
        "13800138000",
        "0755-88881234",
        "4008001234",
    ]
    assert split_phone_list("") == []
