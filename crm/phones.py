"""Phone numbers: one canonical form (E.164) for every way a caller's number is written.

``phone_normalize`` accepts what agents type and what trunks deliver — ``13800138000``,
``+86 138 0013 8000``, ``138-0013-8000``, ``008613800138000``, ``010-12345678``,
``0755 8888 1234``, ``4008001234`` — and returns the E.164 number (``+8613800138000``),
its kind and its home province/city (号码归属地, phonenumbers' offline geocoder).

Policy for numbers outside mainland China: a number that phonenumbers holds valid for its
region (Hong Kong, Macao, Taiwan, abroad; written with ``+`` or ``00``) is accepted as kind
"other", with the region's name (e.g. 香港) as its province. Short codes (95588, 10086),
extensions and anything with letters are refused.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import phonenumbers
from django.utils.translation import gettext_lazy as _
from phonenumbers import PhoneNumberType, geocoder

from crm.choices import PhoneKind
from tvshop.errors import DomainError

_DIVISIONS = Path(__file__).resolve().parent / "data" / "divisions.json"
_ALLOWED = re.compile(r"^\+?[\d\s\-().]+$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
# The suffixes geocoder descriptions drop ("广西南宁市" for 广西壮族自治区).
_PROVINCE_SUFFIXES = ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "省", "市")


class InvalidPhone(DomainError):
    code = "invalid_phone"

    def __init__(self, raw: str, *, field: str = "phone"):
        message = _("“%(number)s” is not a valid phone number.") % {"number": raw}
        super().__init__(message, fields={field: [message]})
        self.raw = raw


@dataclass(frozen=True)
class NormalizedPhone:
    number: str  # E.164, e.g. "+8613800138000"
    kind: str  # crm.choices.PhoneKind
    province: str
    city: str


def _clean(raw: str) -> str:
    # Full-width digits and spaces (１３８…) as typed with a Chinese IME.
    return unicodedata.normalize("NFKC", raw or "").strip()


def _parse(raw: str) -> phonenumbers.PhoneNumber:
    text = _clean(raw)
    if not text or not _ALLOWED.match(text):
        raise InvalidPhone(raw)
    try:
        parsed = phonenumbers.parse(text, "CN")
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone(raw) from exc
    if parsed.extension or not phonenumbers.is_valid_number(parsed):
        raise InvalidPhone(raw)
    return parsed


def phone_canonical(raw: str) -> str:
    """The E.164 form of ``raw`` without geocoding; raises ``InvalidPhone``."""
    return phonenumbers.format_number(_parse(raw), phonenumbers.PhoneNumberFormat.E164)


def phone_lookup_key(raw: str) -> str | None:
    """The E.164 key to look ``raw`` up by, or None if it cannot be a stored number.

    The screen pop's hot path: a plain 11-digit mainland mobile (what trunks deliver)
    skips the parser; everything else goes through ``phone_canonical``.
    """
    text = (raw or "").strip()
    if _CN_MOBILE.match(text):
        return "+86" + text
    try:
        return phone_canonical(text)
    except InvalidPhone:
        return None


def _kind(parsed: phonenumbers.PhoneNumber) -> str:
    if parsed.country_code != 86:
        return PhoneKind.OTHER
    kind = phonenumbers.number_type(parsed)
    if kind == PhoneNumberType.MOBILE:
        return PhoneKind.MOBILE
    if kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE):
        return PhoneKind.LANDLINE
    if kind in (PhoneNumberType.TOLL_FREE, PhoneNumberType.SHARED_COST):
        return PhoneKind.SERVICE
    return PhoneKind.OTHER


@lru_cache(maxsize=1)
def _provinces() -> list[tuple[str, str]]:
    """(prefix as the geocoder writes it, official province name), longest first.

    Read from the same file the Division table is loaded from (crm/data/divisions.json),
    so normalising a number never queries the database.
    """
    rows = json.loads(_DIVISIONS.read_text(encoding="utf-8"))["rows"]
    pairs: set[tuple[str, str]] = set()
    for _code, name, parent in rows:
        if parent is not None:
            continue
        pairs.add((name, name))
        for suffix in _PROVINCE_SUFFIXES:
            if name.endswith(suffix) and len(name) > len(suffix) + 1:
                pairs.add((name[: -len(suffix)], name))
                break
    return sorted(pairs, key=lambda p: -len(p[0]))


def split_region(description: str) -> tuple[str, str]:
    """Split a geocoder description into (province, city) by official division names.

    "广东省深圳市" → ("广东省", "深圳市"); "北京市" → ("北京市", "北京市");
    "广西南宁市" → ("广西壮族自治区", "南宁市"); "中国" → ("", "").
    """
    if not description or description == "中国":
        return "", ""
    for prefix, province in _provinces():
        if description.startswith(prefix):
            city = description[len(prefix) :]
            if not city and province.endswith("市"):
                city = province  # municipalities: the city is the province
            return province, city[:30]
    return description[:30], ""


def phone_normalize(raw: str) -> NormalizedPhone:
    """Parse, validate and describe a phone number; raises ``InvalidPhone``."""
    parsed = _parse(raw)
    number = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    description = geocoder.description_for_number(parsed, "zh")
    if parsed.country_code == 86:
        province, city = split_region(description)
    else:
        province, city = description[:30], ""
    return NormalizedPhone(number=number, kind=_kind(parsed), province=province, city=city)


def _cn_parts(number: str) -> tuple[str, str] | None:
    """(prefix, rest) of a stored +86 number for display: mobile 138|00138000,
    landline 0755|88881234, service 400|8001234. None for other numbers."""
    if not number.startswith("+86"):
        return None
    nsn = number[3:]
    if not nsn.isdigit():
        return None
    if len(nsn) == 11 and nsn.startswith("1"):
        return nsn[:3], nsn[3:]
    if len(nsn) == 10 and nsn[:3] in ("400", "800"):
        return nsn[:3], nsn[3:]
    area = 2 if nsn.startswith(("10", "2")) else 3
    return "0" + nsn[:area], nsn[area:]


def phone_display(number: str) -> str:
    """A readable national form: 13800138000, 0755-88881234, 400-800-1234; foreign
    numbers in international form (+852 9123 4567)."""
    parts = _cn_parts(number or "")
    if parts is None:
        try:
            parsed = phonenumbers.parse(number, None)
        except phonenumbers.NumberParseException:
            return number or ""
        return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    prefix, rest = parts
    if prefix.startswith("1"):
        return prefix + rest
    if prefix in ("400", "800"):
        return f"{prefix}-{rest[:3]}-{rest[3:]}"
    return f"{prefix}-{rest}"


def split_phone_list(text: str) -> list[str]:
    """Split "138…; 0755-… / 400…" (import cells, form fields) into raw numbers."""
    return [p.strip() for p in re.split(r"[;/；、,，\n]+", text or "") if p.strip()]
