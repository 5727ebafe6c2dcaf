"""The read-only statistics API: permission, the pages' filters, the same numbers as the
selectors, 400 on bad filters, and the endpoints in the OpenAPI schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import include, path
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from tests.factories import HotlineFactory, ProductFactory
from tests.reports.helpers import local, make_call
from tvshop.media.models import AiringSlot
from tvshop.reports.services import rollups_refresh

pytestmark = pytest.mark.django_db
PERIOD = {"first": "2026-11-20", "last": "2026-11-20"}
ENDPOINTS = ["curve", "queues", "agents", "media"]


@pytest.fixture
def data():
    hotline = HotlineFactory(queue_name="q1")
    AiringSlot.objects.create(
        station=hotline.station,
        product=ProductFactory(),
        hotline=hotline,
        start=local(2026, 11, 20, 20, 0),
        end=local(2026, 11, 20, 20, 5),
        cost=Decimal("800"),
    )
    for minute in range(4):
        make_call(
            at=local(2026, 11, 20, 20, minute),
            hotline=hotline,
            answered=5,
            ended=65,
            caller=f"1390000000{minute % 2}",
        )
    make_call(at=local(2026, 11, 20, 21, 0), hotline=hotline, ended=9, outcome="abandoned")
    rollups_refresh()
    return hotline


@pytest.mark.parametrize("name", ENDPOINTS)
def test_every_endpoint_needs_the_statistics_permission(client, client_for, name):
    url = f"/api/reports/{name}/"
    assert client.get(url, PERIOD).status_code in (401, 403)
    assert client_for("agent").get(url, PERIOD).status_code == 403
    assert client_for("supervisor").get(url, PERIOD).status_code == 200


def test_curve_by_hour_with_the_slots(client_for, data):
    station = data.station_id
    body = (
        client_for("supervisor")
        .get("/api/reports/curve/", {**PERIOD, "stations": station, "resolution": "hour"})
        .json()
    )
    assert len(body["buckets"]) == 24
    (series,) = body["series"]
    assert series["station"] == station
    assert series["data"][20] == 4 and series["data"][21] == 1 and sum(series["data"]) == 5
    assert body["slots"][0]["cost"] == "800.00"


def test_queue_kpis_with_the_pages_filters(client_for, data):
    sup = client_for("supervisor")
    body = sup.get("/api/reports/queues/", {**PERIOD, "group": "hour", "threshold": 10}).json()
    assert body["source"] == "raw"  # another threshold than the roll-ups: raw records
    total = body["rows"][-1]
    assert (total["inbound"], total["answered"], total["abandoned"]) == (5, 4, 1)
    assert total["abandoned_counted"] == 0  # waited 9 s < 10 s
    assert [c["key"] for c in body["columns"]][:3] == ["key", "inbound", "answered"]
    body = sup.get("/api/reports/queues/", {**PERIOD, "queue": "nope"}).json()
    assert body["rows"] == []


def test_media_table_and_agents(client_for, data):
    sup = client_for("supervisor")
    body = sup.get("/api/reports/media/", {**PERIOD, "stations": data.station_id}).json()
    station, total = body["stations"]["rows"]
    assert (station["calls"], station["unique_callers"], station["cost"]) == (5, 3, "800.00")
    assert total["total"] is True
    (slot,) = body["slots"]["rows"]
    assert (slot["calls"], slot["unique_callers"]) == (4, 2)
    assert sup.get("/api/reports/agents/", PERIOD).json()["name"] == "agents"


def test_bad_filters_are_400_with_the_error_contract(client_for, data):
    sup = client_for("supervisor")
    response = sup.get("/api/reports/curve/", {"first": "2026-11-20", "last": "2026-11-01"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "last" in response.json()["fields"]
    response = sup.get(
        "/api/reports/curve/", {**PERIOD, "resolution": "minute", "last": "2026-11-25"}
    )
    assert response.status_code == 400
    assert sup.get("/api/reports/queues/", {**PERIOD, "threshold": "x"}).status_code == 400


def test_the_endpoints_are_in_the_schema_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    schema = SchemaGenerator(
        patterns=[path("api/reports/", include("tvshop.reports.api"))]
    ).get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    for name in ENDPOINTS:
        assert f"/api/reports/{name}/" in schema["paths"]
