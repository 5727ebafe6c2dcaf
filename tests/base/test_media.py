"""Media: stations, hotlines, the airing schedule (validation, overlaps, time zone)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.base.factories import AiringSlotFactory, local
from tests.factories import HotlineFactory, ProductFactory, StationFactory
from tvshop.audit.models import AuditEntry
from tvshop.errors import DomainError
from tvshop.media import selectors, services
from tvshop.media.models import AiringSlot, Hotline, Station

pytestmark = pytest.mark.django_db


def slot_form(slot_station, hotline, product, start="2026-03-02T20:00", end="2026-03-02T20:30"):
    return {
        "station": slot_station.pk,
        "product": product.pk,
        "hotline": hotline.pk,
        "start": start,
        "end": end,
        "cost": "8000.00",
        "note": "",
    }


# --- services --------------------------------------------------------------------------
def test_airing_slot_end_must_follow_start(make_user):
    supervisor = make_user("supervisor")
    hotline = HotlineFactory()

    with pytest.raises(DomainError) as exc:
        services.airing_slot_create(
            actor=supervisor,
            station=hotline.station,
            product=ProductFactory(),
            hotline=hotline,
            start=local(2026, 3, 2, 20),
            end=local(2026, 3, 2, 20),
        )

    assert "end" in exc.value.fields
    assert not AiringSlot.objects.exists()


def test_airing_slot_hotline_must_belong_to_the_station(make_user):
    supervisor = make_user("supervisor")
    hotline = HotlineFactory()
    other_station = StationFactory()

    with pytest.raises(DomainError) as exc:
        services.airing_slot_create(
            actor=supervisor,
            station=other_station,
            product=ProductFactory(),
            hotline=hotline,
            start=local(2026, 3, 2, 20),
            end=local(2026, 3, 2, 21),
        )

    assert "hotline" in exc.value.fields
    assert not AiringSlot.objects.exists()


def test_airing_slot_create_update_delete_are_audited(make_user):
    supervisor, admin = make_user("supervisor"), make_user("administrator")
    hotline = HotlineFactory()

    slot = services.airing_slot_create(
        actor=supervisor,
        station=hotline.station,
        product=ProductFactory(),
        hotline=hotline,
        start=local(2026, 3, 2, 20),
        end=local(2026, 3, 2, 20, 30),
        cost=Decimal("9000"),
    )
    services.airing_slot_update(actor=supervisor, slot=slot, cost=Decimal("9500.00"))
    services.airing_slot_delete(actor=admin, slot=slot)

    actions = list(
        AuditEntry.objects.filter(content_type__model="airingslot", object_id=str(slot.pk))
        .order_by("id")
        .values_list("action", flat=True)
    )
    assert actions == ["create", "update", "delete"]
    update = AuditEntry.objects.get(action="update", object_id=str(slot.pk))
    assert update.changes == [("cost", "9000.00", "9500.00")]


def test_overlaps_are_found_on_the_same_station_only():
    slot = AiringSlotFactory(start=local(2026, 3, 2, 20), end=local(2026, 3, 2, 20, 30))
    overlapping = AiringSlotFactory(
        hotline=slot.hotline, start=local(2026, 3, 2, 20, 10), end=local(2026, 3, 2, 20, 25)
    )
    AiringSlotFactory(  # back to back: no overlap
        hotline=slot.hotline, start=local(2026, 3, 2, 20, 30), end=local(2026, 3, 2, 21)
    )
    AiringSlotFactory(start=local(2026, 3, 2, 20), end=local(2026, 3, 2, 20, 30))  # other station

    assert list(selectors.airing_slot_overlaps(slot=slot)) == [overlapping]
    flags = dict(selectors.airing_slot_list().values_list("pk", "has_overlap"))
    assert flags[slot.pk] and flags[overlapping.pk]
    assert sum(flags.values()) == 2


def test_station_and_hotline_services_are_audited_and_protected(make_user):
    admin = make_user("administrator")
    station = services.station_create(actor=admin, code="hntv", name="湖南卫视")
    hotline = services.hotline_create(
        actor=admin, number="4008001234", station=station, queue_name="hunan"
    )

    with pytest.raises(DomainError):
        services.station_delete(actor=admin, station=station)
    with pytest.raises(DomainError) as bad:
        services.hotline_update(actor=admin, hotline=hotline, number="400-800")

    assert Station.objects.filter(pk=station.pk).exists()
    assert "number" in bad.value.fields
    hotline.refresh_from_db()
    assert hotline.number == "4008001234"
    assert AuditEntry.objects.filter(action="create").count() == 2


# --- pages -----------------------------------------------------------------------------
def test_schedule_filters_by_station_and_date_range_in_shanghai_time(
    client_for, django_assert_max_num_queries
):
    agent = client_for("agent")
    station = StationFactory()
    hotline = HotlineFactory(station=station)
    early = AiringSlotFactory(hotline=hotline, start=local(2026, 3, 2, 0, 30))  # 3/1 16:30 UTC
    late = AiringSlotFactory(hotline=hotline, start=local(2026, 3, 2, 23, 30))
    AiringSlotFactory(hotline=hotline, start=local(2026, 3, 3, 0, 0))
    AiringSlotFactory(start=local(2026, 3, 2, 12))  # another station
    AiringSlotFactory.create_batch(20)

    with django_assert_max_num_queries(10):
        response = agent.get(
            reverse("media:airingslot_list"),
            {"station": station.pk, "date_from": "2026-03-02", "date_to": "2026-03-02"},
        )

    assert response.status_code == 200
    assert list(response.context["object_list"]) == [early, late]
    assert "2026-03-02 00:30" in response.content.decode()


def test_station_and_hotline_lists(client_for, django_assert_max_num_queries):
    agent = client_for("agent")
    station = StationFactory(name="东方卫视")
    HotlineFactory(number="4001110000", station=station, product=ProductFactory(name="按摩椅"))
    for _ in range(20):
        HotlineFactory(product=ProductFactory())

    with django_assert_max_num_queries(8):
        stations = agent.get(reverse("media:station_list"), {"q": "东方"})
    with django_assert_max_num_queries(9):
        hotlines = agent.get(reverse("media:hotline_list"), {"station": station.pk})

    assert [s.name for s in stations.context["object_list"]] == ["东方卫视"]
    assert stations.context["object_list"][0].hotline_count == 1
    html = hotlines.content.decode()
    assert "4001110000" in html and "东方卫视" in html and "按摩椅" in html
    assert len(hotlines.context["object_list"]) == 1


def test_supervisor_schedules_a_slot_and_is_warned_about_an_overlap(client_for):
    supervisor = client_for("supervisor")
    hotline = HotlineFactory()
    product = ProductFactory()
    AiringSlotFactory(
        hotline=hotline, start=local(2026, 3, 2, 20, 15), end=local(2026, 3, 2, 20, 45)
    )

    response = supervisor.post(
        reverse("media:airingslot_create"),
        slot_form(hotline.station, hotline, product),
        follow=True,
    )

    assert response.status_code == 200
    slot = AiringSlot.objects.get(product=product)
    assert slot.start == local(2026, 3, 2, 20)
    warnings = [m for m in response.context["messages"] if m.level_tag == "warning"]
    assert len(warnings) == 1
    assert AuditEntry.objects.filter(
        action="create", object_id=str(slot.pk), actor=supervisor.user
    ).exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"end": "2026-03-02T19:00"}, "end"),
        ({"hotline": "other"}, "hotline"),
    ],
)
def test_slot_page_refuses_bad_times_and_foreign_hotlines(client_for, change, field):
    supervisor = client_for("supervisor")
    hotline = HotlineFactory()
    data = slot_form(hotline.station, hotline, ProductFactory())
    if change.get("hotline") == "other":
        change = {"hotline": HotlineFactory().pk}
    data.update(change)

    response = supervisor.post(reverse("media:airingslot_create"), data)

    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not AiringSlot.objects.exists()


def test_supervisor_edits_a_slot_but_cannot_delete_it(client_for):
    supervisor = client_for("supervisor")
    slot = AiringSlotFactory()
    data = slot_form(slot.station, slot.hotline, slot.product)

    edited = supervisor.post(reverse("media:airingslot_update", args=[slot.pk]), data)
    refused = supervisor.post(reverse("media:airingslot_delete", args=[slot.pk]))

    assert edited.status_code == 302
    assert refused.status_code == 403
    slot.refresh_from_db()
    assert slot.start == local(2026, 3, 2, 20)


def test_administrator_deletes_a_slot_and_creates_a_hotline(client_for):
    admin = client_for("administrator")
    slot = AiringSlotFactory()
    station = StationFactory()

    deleted = admin.post(reverse("media:airingslot_delete", args=[slot.pk]))
    created = admin.post(
        reverse("media:hotline_create"),
        {"number": "4009990000", "station": station.pk, "queue_name": "q-new", "active": "on"},
    )
    station_edit = admin.post(
        reverse("media:station_update", args=[station.pk]),
        {"code": station.code, "name": "新名字", "region": "上海", "active": "on", "note": ""},
    )

    assert deleted.status_code == 302 and not AiringSlot.objects.filter(pk=slot.pk).exists()
    assert created.status_code == 302
    assert Hotline.objects.get(number="4009990000").station == station
    assert station_edit.status_code == 302
    station.refresh_from_db()
    assert station.name == "新名字"


# --- API -------------------------------------------------------------------------------
def test_airing_slot_api_lists_filters_and_counts_queries(api_for, django_assert_max_num_queries):
    api = api_for("agent")
    station = StationFactory()
    hotline = HotlineFactory(station=station)
    mine = AiringSlotFactory(hotline=hotline, start=local(2026, 3, 5, 21))
    AiringSlotFactory.create_batch(30)

    with django_assert_max_num_queries(6):
        listing = api.get("/api/media/airing-slots/")
    filtered = api.get(
        "/api/media/airing-slots/",
        {"station": station.pk, "date_from": "2026-03-05", "date_to": "2026-03-05"},
    )

    assert listing.status_code == 200 and listing.data["count"] == 31
    assert [s["id"] for s in filtered.data["results"]] == [mine.pk]
    assert filtered.data["results"][0]["hotline_number"] == hotline.number
    assert filtered.data["results"][0]["has_overlap"] is False


def test_airing_slot_api_create_warns_about_overlaps_and_validates(api_for):
    api = api_for("supervisor")
    hotline = HotlineFactory()
    AiringSlotFactory(hotline=hotline, start=local(2026, 3, 2, 20), end=local(2026, 3, 2, 21))
    body = {
        "station": hotline.station.pk,
        "product": ProductFactory().pk,
        "hotline": hotline.pk,
        "start": "2026-03-02T20:30:00+08:00",
        "end": "2026-03-02T21:30:00+08:00",
        "cost": "100.00",
    }

    created = api.post("/api/media/airing-slots/", body, format="json")
    backwards = api.post(
        "/api/media/airing-slots/",
        {**body, "end": "2026-03-02T20:00:00+08:00"},
        format="json",
    )
    foreign = api.post(
        "/api/media/airing-slots/", {**body, "hotline": HotlineFactory().pk}, format="json"
    )

    assert created.status_code == 201, created.data
    assert len(created.data["warnings"]) == 1
    assert created.data["has_overlap"] is True
    assert backwards.status_code == 400 and "end" in backwards.data["fields"]
    assert foreign.status_code == 400 and "hotline" in foreign.data["fields"]
    assert backwards.data["code"] == "invalid" and backwards.data["message"]
    assert AiringSlot.objects.count() == 2


def test_station_and_hotline_api(api_for, django_assert_max_num_queries):
    admin = api_for("administrator")
    for _ in range(10):
        HotlineFactory(product=ProductFactory())

    with django_assert_max_num_queries(6):
        hotlines = admin.get("/api/media/hotlines/")
    with django_assert_max_num_queries(6):
        stations = admin.get("/api/media/stations/", {"search": "电视台"})
    station = admin.post("/api/media/stations/", {"code": "cctv", "name": "央视"}, format="json")
    hotline = admin.post(
        "/api/media/hotlines/",
        {"number": "4001234567", "station": station.data["id"], "queue_name": "cctv"},
        format="json",
    )
    bad = admin.post(
        "/api/media/hotlines/",
        {"number": "abc", "station": station.data["id"], "queue_name": "Bad Queue"},
        format="json",
    )

    assert hotlines.data["count"] == 10 and hotlines.data["results"][0]["station_name"]
    assert stations.data["count"] == 10
    assert station.status_code == 201 and hotline.status_code == 201
    assert bad.status_code == 400 and set(bad.data["fields"]) >= {"number", "queue_name"}
    assert AuditEntry.objects.filter(action="create", content_type__app_label="media").count() == 2
