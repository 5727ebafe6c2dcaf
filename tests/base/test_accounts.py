"""Phone masking per role, the users page, and role defaults that respect the masking."""

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.urls import reverse

from tvshop.accounts.roles import FULL_PHONE_DEFAULT_ROLES, Role, roles_sync
from tvshop.accounts.services import full_phone_roles
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db
User = get_user_model()
STRONG = "Tiger-lamp-2026!"


def group_has_full_phone(name: str) -> bool:
    return (
        Group.objects.get(name=name)
        .permissions.filter(content_type__app_label="crm", codename="view_full_phone")
        .exists()
    )


# --- masking ---------------------------------------------------------------------------
def test_new_database_grants_full_numbers_to_the_default_roles():
    assert full_phone_roles() == [r.value for r in FULL_PHONE_DEFAULT_ROLES]
    assert AuditEntry.objects.filter(action="permission", actor=None).exists()


def test_masking_page_shows_roles_with_translated_labels(client_for):
    admin = client_for("administrator", language="en")

    response = admin.get(reverse("accounts:masking"))

    assert response.status_code == 200
    labels = dict(response.context["form"].fields["roles"].choices)
    assert set(labels) == {r.value for r in Role}
    assert labels["agent"] == "Agent" and labels["reviewer1"] == "First reviewer"
    assert response.context["form"].initial["roles"] == ["logistics", "supervisor"]


def test_administrator_chooses_which_roles_see_full_numbers(client_for):
    admin = client_for("administrator")

    response = admin.post(reverse("accounts:masking"), {"roles": ["agent", "logistics"]})

    assert response.status_code == 302
    assert group_has_full_phone("agent") and group_has_full_phone("logistics")
    assert not group_has_full_phone("supervisor")
    entry = AuditEntry.objects.filter(action="permission", actor=admin.user).get()
    assert entry.before == {"full_phone_roles": ["logistics", "supervisor"]}
    assert entry.after == {"full_phone_roles": ["agent", "logistics"]}


def test_masking_choice_survives_the_next_migrate(client_for):
    admin = client_for("administrator")
    admin.post(reverse("accounts:masking"), {"roles": []})

    roles_sync(group_model=Group, permission_model=Permission)  # what post_migrate runs

    assert full_phone_roles() == []
    assert not group_has_full_phone("supervisor")
    assert not group_has_full_phone("logistics")


def test_other_role_defaults_are_still_resynced():
    agent = Group.objects.get(name="agent")
    agent.permissions.remove(Permission.objects.get(codename="view_product"))

    roles_sync(group_model=Group, permission_model=Permission)

    assert agent.permissions.filter(codename="view_product").exists()


def test_user_with_full_phone_role_has_the_permission(make_user, client_for):
    admin = client_for("administrator")
    agent = make_user("agent")
    assert not agent.has_perm("crm.view_full_phone")

    admin.post(reverse("accounts:masking"), {"roles": ["agent"]})

    agent = User.objects.get(pk=agent.pk)  # fresh permission cache
    assert agent.has_perm("crm.view_full_phone")


def test_unknown_role_is_refused_without_change(client_for):
    admin = client_for("administrator")

    response = admin.post(reverse("accounts:masking"), {"roles": ["agent", "boss"]})

    assert response.status_code == 400
    assert full_phone_roles() == ["logistics", "supervisor"]


# --- users -----------------------------------------------------------------------------
def test_user_list_shows_roles_and_searches(client_for, make_user, django_assert_max_num_queries):
    admin = client_for("administrator", language="en")
    make_user("agent", "reviewer1", username="zhang.san", full_name="张三")
    for _ in range(20):
        make_user("agent")

    with django_assert_max_num_queries(8):
        listing = admin.get(reverse("accounts:user_list"))
    found = admin.get(reverse("accounts:user_list"), {"q": "张三"})
    agents = admin.get(reverse("accounts:user_list"), {"role": "reviewer1"})

    assert listing.status_code == 200 and len(listing.context["object_list"]) == 22
    [zhang] = found.context["object_list"]
    assert zhang.role_labels == ["Agent", "First reviewer"]
    assert [u.username for u in agents.context["object_list"]] == ["zhang.san"]
    assert "First reviewer" in found.content.decode()


def test_administrator_creates_a_user_with_roles(client_for):
    admin = client_for("administrator")

    response = admin.post(
        reverse("accounts:user_create"),
        {
            "username": "new.agent",
            "full_name": "新座席",
            "employee_no": "A100",
            "language": "zh-hans",
            "roles": ["agent", "reviewer1"],
            "is_active": "on",
            "password": STRONG,
            "password_confirm": STRONG,
        },
    )

    assert response.status_code == 302
    user = User.objects.get(username="new.agent")
    assert set(user.groups.values_list("name", flat=True)) == {"agent", "reviewer1"}
    assert user.check_password(STRONG)
    assert not user.is_staff
    entry = AuditEntry.objects.get(action="create", content_type__model="user")
    assert entry.after["roles"] == ["agent", "reviewer1"]
    assert "password" not in entry.after


@pytest.mark.parametrize(
    ("password", "confirm"),
    [("12345678", "12345678"), ("short", "short"), ("new.agent1", "new.agent1"), (STRONG, "x")],
)
def test_weak_or_mismatched_passwords_are_refused(client_for, password, confirm):
    admin = client_for("administrator")

    response = admin.post(
        reverse("accounts:user_create"),
        {
            "username": "new.agent",
            "language": "zh-hans",
            "roles": ["agent"],
            "password": password,
            "password_confirm": confirm,
        },
    )

    assert response.status_code == 400
    assert response.context["form"].errors
    assert not User.objects.filter(username="new.agent").exists()


def test_administrator_edits_roles_and_deactivates_a_user(client_for, make_user):
    admin = client_for("administrator")
    user = make_user("agent", username="old.agent")

    response = admin.post(
        reverse("accounts:user_update", args=[user.pk]),
        {
            "username": "old.agent",
            "full_name": "老座席",
            "language": "en",
            "roles": ["supervisor", "administrator"],
            "password": "",
            "password_confirm": "",
        },
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert set(user.groups.values_list("name", flat=True)) == {"supervisor", "administrator"}
    assert not user.is_active and user.is_staff and user.language == "en"
    entry = AuditEntry.objects.get(action="update", object_id=str(user.pk))
    assert entry.before["roles"] == ["agent"]
    assert entry.after["is_active"] is False


def test_administrator_cannot_lock_themselves_out(client_for):
    admin = client_for("administrator", username="boss")

    response = admin.post(
        reverse("accounts:user_update", args=[admin.user.pk]),
        {"username": "boss", "language": "zh-hans", "roles": ["agent"], "is_active": "on"},
    )

    assert response.status_code == 400
    assert "roles" in response.context["form"].errors
    assert admin.user.groups.filter(name="administrator").exists()


def test_duplicate_user_name_is_refused(client_for, make_user):
    admin = client_for("administrator")
    make_user(username="taken")

    response = admin.post(
        reverse("accounts:user_create"),
        {
            "username": "taken",
            "language": "zh-hans",
            "roles": [],
            "password": STRONG,
            "password_confirm": STRONG,
        },
    )

    assert response.status_code == 400
    assert "username" in response.context["form"].errors
    assert User.objects.filter(username="taken").count() == 1


def test_language_choice_still_works(client_for):
    c = client_for("agent")

    response = c.post(reverse("accounts:language"), {"language": "en", "next": "/"})

    assert response.status_code == 302
    c.user.refresh_from_db()
    assert c.user.language == "en"
