"""The audit log: search page, read-only API and admin, append-only entries."""

import datetime as dt
from decimal import Decimal

import pytest
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import timezone

from tests.factories import ProductFactory, StationFactory
from tvshop.audit.models import AuditEntry
from tvshop.audit.services import audit_record
from tvshop.catalog import services as catalog
from tvshop.media import services as media

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(make_user):
    """An administrator changed a product's price; a supervisor created a station."""
    admin = make_user("administrator", username="wang.admin", full_name="王管理")
    supervisor = make_user("supervisor", username="li.sup", full_name="李主管")
    product = ProductFactory(price=Decimal("199.00"))
    catalog.product_update(actor=admin, product=product, price=Decimal("99.00"))
    station = media.station_create(actor=supervisor, code="zjtv", name="浙江卫视")
    return {"admin": admin, "supervisor": supervisor, "product": product, "station": station}


def _entries(response):
    return list(response.context["object_list"])


def test_search_by_user_object_type_object_and_action(client_for, history):
    c = client_for("supervisor")
    url = reverse("audit:entry_list")
    product_id = str(history["product"].pk)

    by_user = _entries(c.get(url, {"user": "王管"}))
    by_type = _entries(c.get(url, {"object_type": "media.station"}))
    by_object = _entries(c.get(url, {"object_type": "catalog.product", "object_id": product_id}))
    by_action = _entries(c.get(url, {"action": "create", "user": "li.sup"}))

    assert [e.actor for e in by_user] == [history["admin"]]
    assert [e.object_id for e in by_type] == [str(history["station"].pk)]
    assert [e.action for e in by_object] == ["update"]
    assert [e.object_repr for e in by_action] == ["浙江卫视"]


def test_search_by_time_range_uses_shanghai_days(client_for, history):
    c = client_for("supervisor")
    today = timezone.localdate()
    yesterday = today - dt.timedelta(days=1)

    todays = _entries(c.get(reverse("audit:entry_list"), {"date_from": today, "date_to": today}))
    none = _entries(
        c.get(reverse("audit:entry_list"), {"date_from": yesterday, "date_to": yesterday})
    )

    assert {e.action for e in todays} >= {"update", "create"}
    assert none == []


def test_each_entry_shows_its_before_and_after_values(client_for, history):
    c = client_for("supervisor", language="en")

    response = c.get(
        reverse("audit:entry_list"),
        {"object_type": "catalog.product", "object_id": history["product"].pk},
    )

    html = response.content.decode()
    entry = _entries(response)[0]
    assert [(r["field"], r["label"], r["before"], r["after"]) for r in entry.change_rows] == [
        ("price", "price", "199.00", "99.00")
    ]
    assert "<del>199.00</del>" in html and "<ins>99.00</ins>" in html


def test_object_type_choices_are_our_models(client_for):
    c = client_for("supervisor")

    form = c.get(reverse("audit:entry_list")).context["filter"].form
    values = {value for value, _label in form.fields["object_type"].choices}

    assert {"catalog.product", "media.airingslot", "accounts.user", "crm.customer"} <= values
    assert "sessions.session" not in values


def test_audit_page_pages_with_few_queries(client_for, django_assert_max_num_queries, make_user):
    c = client_for("supervisor")
    for i in range(60):
        audit_record(
            actor=make_user() if i % 20 == 0 else c.user,
            action="update",
            obj=c.user,
            before={"full_name": str(i)},
            after={"full_name": str(i + 1)},
        )

    with django_assert_max_num_queries(8):
        first = c.get(reverse("audit:entry_list"))

    assert len(first.context["object_list"]) == 50
    assert first.context["page_obj"].has_next()


# --- API -------------------------------------------------------------------------------
def test_api_lists_and_filters_entries(api_for, history, django_assert_max_num_queries):
    api = api_for("supervisor")

    with django_assert_max_num_queries(7):
        listing = api.get("/api/audit/entries/")
    filtered = api.get("/api/audit/entries/", {"object_type": "catalog.product"})
    one = api.get(f"/api/audit/entries/{filtered.data['results'][0]['id']}/")

    assert listing.status_code == 200 and listing.data["count"] >= 2
    assert [e["action"] for e in filtered.data["results"]] == ["update"]
    assert [(c["field"], c["before"], c["after"]) for c in one.data["changes"]] == [
        ("price", "199.00", "99.00")
    ]
    assert one.data["actor_name"] == "王管理"
    assert one.data["object_type"] == "catalog.product"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_api_cannot_write_entries_even_for_administrators(api_for, history, method):
    api = api_for("administrator")
    entry = AuditEntry.objects.filter(action="update").first()
    before = (AuditEntry.objects.count(), entry.after, entry.note)
    url = "/api/audit/entries/" if method == "post" else f"/api/audit/entries/{entry.pk}/"

    response = getattr(api, method)(url, {"note": "tampered", "after": {}}, format="json")

    assert response.status_code in (403, 405)
    entry.refresh_from_db()
    assert (AuditEntry.objects.count(), entry.after, entry.note) == before


def test_superuser_gets_405_on_writes(api_for, history):
    api = api_for(is_superuser=True)
    entry = AuditEntry.objects.filter(action="update").first()

    response = api.delete(f"/api/audit/entries/{entry.pk}/")

    assert response.status_code == 405
    assert AuditEntry.objects.filter(pk=entry.pk).exists()


def test_model_refuses_update_and_delete(history):
    entry = AuditEntry.objects.filter(action="update").first()

    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(note="x")
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).delete()
    entry.note = "changed"
    with pytest.raises(PermissionError):
        entry.save()


# --- admin -----------------------------------------------------------------------------
def test_admin_is_read_only_even_for_superusers(client, make_user, history):
    root = make_user(is_superuser=True, is_staff=True)
    client.force_login(root)
    entry = AuditEntry.objects.filter(action="update").first()
    count = AuditEntry.objects.count()

    listing = client.get(reverse("admin:audit_auditentry_changelist"))
    view = client.get(reverse("admin:audit_auditentry_change", args=[entry.pk]))
    add = client.get(reverse("admin:audit_auditentry_add"))
    change = client.post(
        reverse("admin:audit_auditentry_change", args=[entry.pk]), {"note": "tampered"}
    )
    delete = client.post(reverse("admin:audit_auditentry_delete", args=[entry.pk]), {"post": "yes"})
    bulk = client.post(
        reverse("admin:audit_auditentry_changelist"),
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )

    assert listing.status_code == 200 and view.status_code == 200
    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    assert bulk.status_code in (200, 302)  # "no action selected": the action does not exist
    entry.refresh_from_db()
    assert entry.note == "" and AuditEntry.objects.count() == count


def test_admin_saves_of_base_data_are_audited(client, make_user):
    admin = make_user("administrator", is_staff=True)
    client.force_login(admin)
    station = StationFactory(name="旧台名")

    changed = client.post(
        reverse("admin:media_station_change", args=[station.pk]),
        {"code": station.code, "name": "新台名", "region": "", "active": "on", "note": ""},
    )
    added = client.post(
        reverse("admin:catalog_supplier_add"),
        {"name": "新供应商", "contact": "", "phone": "", "note": "", "active": "on"},
    )
    deleted = client.post(reverse("admin:media_station_delete", args=[station.pk]), {"post": "yes"})

    assert (changed.status_code, added.status_code, deleted.status_code) == (302, 302, 302)
    station_ct = ContentType.objects.get(app_label="media", model="station")
    actions = list(
        AuditEntry.objects.filter(content_type=station_ct, object_id=str(station.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["update", "delete"]
    assert AuditEntry.objects.filter(
        action="create", content_type__model="supplier", actor=admin
    ).exists()


def test_values_are_shown_in_shanghai_time_and_words(client_for, make_user):
    from tests.base.factories import AiringSlotFactory, local

    c = client_for("supervisor", language="en")
    slot = AiringSlotFactory(start=local(2026, 3, 2, 20), end=local(2026, 3, 2, 20, 30))
    media.airing_slot_update(actor=c.user, slot=slot, end=local(2026, 3, 2, 21))
    media.hotline_update(actor=c.user, hotline=slot.hotline, active=False)

    response = c.get(reverse("audit:entry_list"), {"action": "update"})

    html = response.content.decode()
    assert "<del>2026-03-02 20:30:00</del>" in html and "<ins>2026-03-02 21:00:00</ins>" in html
    assert "<del>Yes</del>" in html and "<ins>No</ins>" in html


def test_admin_changes_of_role_permissions_and_users_are_audited(client, make_user):
    from django.contrib.auth.models import Group, Permission

    admin = make_user("administrator", is_staff=True)
    client.force_login(admin)
    finance = Group.objects.get(name="finance")
    before = set(finance.permissions.values_list("pk", flat=True))
    extra = Permission.objects.get(content_type__app_label="crm", codename="view_ticket")

    # when an administrator grants finance one more permission in the Django admin
    response = client.post(
        reverse("admin:auth_group_change", args=[finance.pk]),
        {"name": "finance", "permissions": [*before, extra.pk]},
    )
    # and deletes a user there
    victim = make_user("agent")
    deleted = client.post(reverse("admin:accounts_user_delete", args=[victim.pk]), {"post": "yes"})

    # then both are in the audit log with what changed
    assert (response.status_code, deleted.status_code) == (302, 302)
    entry = AuditEntry.objects.get(action="permission", object_id=str(finance.pk))
    assert "crm.view_ticket" in entry.after["permissions"]
    assert "crm.view_ticket" not in entry.before["permissions"]
    gone = AuditEntry.objects.get(action="delete", object_id=str(victim.pk))
    assert gone.content_type.model == "user" and gone.before["username"] == victim.username
