"""Role boundaries: every role is refused (403) at least one thing on a page AND on the API,
and the refused request changes no data. The navigation shows only what a role may use."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.base.factories import AiringSlotFactory
from tests.factories import HotlineFactory, ProductFactory
from tvshop.accounts.context_processors import NAV_ITEMS
from tvshop.accounts.roles import Role
from tvshop.accounts.services import full_phone_roles
from tvshop.audit.models import AuditEntry
from tvshop.catalog.models import Product
from tvshop.media.models import AiringSlot, Hotline

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(make_user):
    hotline = HotlineFactory(queue_name="before")
    product = ProductFactory(price=Decimal("100.00"))
    slot = AiringSlotFactory(hotline=hotline, product=product)
    entry = AuditEntry.objects.create(action="update", object_repr="x", note="original")
    return {"hotline": hotline, "product": product, "slot": slot, "entry": entry}


def state(world) -> dict[str, Any]:
    """Everything a refused request might have touched."""
    hotline = Hotline.objects.get(pk=world["hotline"].pk)
    slot = AiringSlot.objects.get(pk=world["slot"].pk)
    entry = AuditEntry.objects.get(pk=world["entry"].pk)
    return {
        "products": list(Product.objects.values_list("sku", "price").order_by("sku")),
        "slots": AiringSlot.objects.count(),
        "slot": (slot.start, slot.end, slot.cost),
        "hotline": (hotline.queue_name, hotline.station_id, hotline.active),
        "users": get_user_model().objects.count(),
        "full_phone_roles": full_phone_roles(),
        "entry": (entry.note, entry.after, AuditEntry.objects.filter(pk=entry.pk).exists()),
        "entries": AuditEntry.objects.count(),
    }


@dataclass
class Refusal:
    role: str
    surface: str  # "page" or "api"
    what: str
    method: str
    url: Any  # callable(world) -> str
    data: dict = field(default_factory=dict)
    staff: bool = False

    def __str__(self):
        return f"{self.role}-{self.surface}-{self.what}"


def _slot_data(world):
    return {
        "station": world["hotline"].station_id,
        "product": world["product"].pk,
        "hotline": world["hotline"].pk,
        "start": "2026-04-01T20:00",
        "end": "2026-04-01T20:30",
        "cost": "1.00",
    }


NEW_PRODUCT = {"sku": "NOPE-1", "name": "不该存在", "price": "1.00", "cost": "0", "weight_kg": "1"}
NEW_USER = {
    "username": "intruder",
    "language": "zh-hans",
    "roles": ["administrator"],
    "is_active": "on",
    "password": "Tiger-lamp-2026!",
    "password_confirm": "Tiger-lamp-2026!",
}
HOTLINE_EDIT = {"queue_name": "after", "active": False}

CASES = [
    # agent: no product creation, no schedule editing
    Refusal(
        "agent",
        "page",
        "create product",
        "post",
        lambda w: reverse("catalog:product_create"),
        NEW_PRODUCT,
    ),
    Refusal(
        "agent", "api", "create product", "post", lambda w: "/api/catalog/products/", NEW_PRODUCT
    ),
    Refusal(
        "agent",
        "page",
        "schedule slot",
        "post",
        lambda w: reverse("media:airingslot_create"),
        "slot",
    ),
    Refusal("agent", "api", "schedule slot", "post", lambda w: "/api/media/airing-slots/", "slot"),
    Refusal("agent", "page", "read audit log", "get", lambda w: reverse("audit:entry_list")),
    # reviewers: no masking, no audit log, no hotline changes
    Refusal(
        "reviewer1",
        "page",
        "manage masking",
        "post",
        lambda w: reverse("accounts:masking"),
        {"roles": ["reviewer1"]},
    ),
    Refusal("reviewer1", "api", "read audit log", "get", lambda w: "/api/audit/entries/"),
    Refusal(
        "reviewer2",
        "page",
        "manage masking",
        "post",
        lambda w: reverse("accounts:masking"),
        {"roles": ["reviewer2"]},
    ),
    Refusal(
        "reviewer2",
        "api",
        "change hotline",
        "patch",
        lambda w: f"/api/media/hotlines/{w['hotline'].pk}/",
        HOTLINE_EDIT,
    ),
    # logistics: no audit log, no schedule changes
    Refusal("logistics", "page", "read audit log", "get", lambda w: reverse("audit:entry_list")),
    Refusal("logistics", "api", "read audit log", "get", lambda w: "/api/audit/entries/"),
    Refusal(
        "logistics",
        "api",
        "move slot",
        "patch",
        lambda w: f"/api/media/airing-slots/{w['slot'].pk}/",
        {"cost": "0.00"},
    ),
    # finance: no hotline changes, no user list
    Refusal(
        "finance",
        "page",
        "change hotline",
        "post",
        lambda w: reverse("media:hotline_update", args=[w["hotline"].pk]),
        {"number": "4000000000", "station": "", "queue_name": "after"},
    ),
    Refusal(
        "finance",
        "api",
        "change hotline",
        "patch",
        lambda w: f"/api/media/hotlines/{w['hotline'].pk}/",
        HOTLINE_EDIT,
    ),
    Refusal("finance", "page", "list users", "get", lambda w: reverse("accounts:user_list")),
    # supervisor: no users, no products, no slot deletion, no masking
    Refusal(
        "supervisor",
        "page",
        "create user",
        "post",
        lambda w: reverse("accounts:user_create"),
        NEW_USER,
    ),
    Refusal(
        "supervisor",
        "page",
        "manage masking",
        "post",
        lambda w: reverse("accounts:masking"),
        {"roles": []},
    ),
    Refusal(
        "supervisor",
        "api",
        "create product",
        "post",
        lambda w: "/api/catalog/products/",
        NEW_PRODUCT,
    ),
    Refusal(
        "supervisor",
        "api",
        "delete slot",
        "delete",
        lambda w: f"/api/media/airing-slots/{w['slot'].pk}/",
    ),
    Refusal(
        "supervisor",
        "page",
        "delete slot",
        "post",
        lambda w: reverse("media:airingslot_delete", args=[w["slot"].pk]),
    ),
    # administrator: audit entries are read-only for everyone
    Refusal(
        "administrator",
        "api",
        "edit audit entry",
        "patch",
        lambda w: f"/api/audit/entries/{w['entry'].pk}/",
        {"note": "tampered"},
    ),
    Refusal(
        "administrator",
        "api",
        "delete audit entry",
        "delete",
        lambda w: f"/api/audit/entries/{w['entry'].pk}/",
    ),
    Refusal(
        "administrator",
        "page",
        "edit audit entry in admin",
        "post",
        lambda w: reverse("admin:audit_auditentry_change", args=[w["entry"].pk]),
        {"note": "tampered"},
        staff=True,
    ),
    Refusal(
        "administrator",
        "page",
        "delete audit entry in admin",
        "post",
        lambda w: reverse("admin:audit_auditentry_delete", args=[w["entry"].pk]),
        {"post": "yes"},
        staff=True,
    ),
]


def _client(make_user, case: Refusal):
    user = make_user(case.role, is_staff=case.staff)
    if case.surface == "page":
        c = Client()
        c.force_login(user)
        return c
    token = Token.objects.create(user=user)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return c


@pytest.mark.parametrize("case", CASES, ids=str)
def test_role_is_refused_and_nothing_changes(case, world, make_user):
    c = _client(make_user, case)
    data = _slot_data(world) if case.data == "slot" else case.data
    url = case.url(world)
    before = state(world)

    if case.surface == "api":
        response = getattr(c, case.method)(url, data, format="json")
        allowed = {403, 405} if case.role == "administrator" else {403}
    else:
        response = getattr(c, case.method)(url, data)
        allowed = {403}

    assert response.status_code in allowed, response.content[:300]
    assert state(world) == before  # no data changed, no audit entry written


def test_every_role_has_a_page_and_an_api_refusal():
    covered = {(c.role, c.surface) for c in CASES}
    for role in Role:
        assert (role.value, "page") in covered, role
        assert (role.value, "api") in covered, role


def test_refusal_table_would_notice_an_allowed_action(world, make_user):
    """The same request that is refused for an agent succeeds for an administrator, so the
    table above can fail."""
    c = _client(make_user, Refusal("administrator", "api", "", "post", None))

    response = c.post("/api/catalog/products/", NEW_PRODUCT, format="json")

    assert response.status_code == 201
    assert state(world)["products"] != [(world["product"].sku, Decimal("100.00"))]


# --- navigation ------------------------------------------------------------------------
EXPECTED_NAV = {
    "agent": {
        "catalog:product_list",
        "catalog:gift_list",
        "media:station_list",
        "media:hotline_list",
        "media:airingslot_list",
    },
    "logistics": {"catalog:product_list", "media:airingslot_list"},
    "finance": {"catalog:product_list", "media:hotline_list"},
    "supervisor": {"media:airingslot_list", "audit:entry_list"},
    "administrator": {
        "audit:entry_list",
        "accounts:masking",
        "accounts:user_list",
        "catalog:product_list",
    },
}
NOT_EXPECTED_NAV = {
    "agent": {"audit:entry_list", "accounts:masking", "accounts:user_list"},
    "reviewer1": {"audit:entry_list", "accounts:masking", "accounts:user_list"},
    "reviewer2": {"audit:entry_list", "accounts:masking", "accounts:user_list"},
    "logistics": {"audit:entry_list", "accounts:masking", "accounts:user_list"},
    "finance": {"audit:entry_list", "accounts:masking", "accounts:user_list"},
    "supervisor": {"accounts:masking", "accounts:user_list"},
    "administrator": set(),
}


@pytest.mark.parametrize("role", [r.value for r in Role])
def test_navigation_shows_only_allowed_items(client_for, role):
    c = client_for(role)

    response = c.get(reverse("home"))

    html = response.content.decode()
    shown = {url for url_name in _our_nav() if (url := reverse(url_name)) in html}
    expected = {reverse(n) for n in EXPECTED_NAV.get(role, set())}
    hidden = {reverse(n) for n in NOT_EXPECTED_NAV[role]}
    assert expected <= shown
    assert not (hidden & shown)
    for url_name in _our_nav():
        perm = next(p for _s, _l, name, p in NAV_ITEMS if name == url_name)
        assert (reverse(url_name) in shown) == c.user.has_perm(perm), url_name


def _our_nav() -> list[str]:
    ours = ("catalog:", "media:", "audit:", "accounts:")
    return [name for _s, _l, name, _p in NAV_ITEMS if name.startswith(ours)]


def test_anonymous_users_are_sent_to_log_in_and_refused_by_the_api(world):
    page = Client().get(reverse("catalog:product_list"))
    api = APIClient().get("/api/catalog/products/")

    assert page.status_code == 302 and reverse("login") in page["Location"]
    assert api.status_code in (401, 403)


def test_role_groups_exist():
    assert set(Group.objects.values_list("name", flat=True)) >= {r.value for r in Role}
