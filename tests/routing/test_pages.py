"""Routing policy pages: permissions, the audited settings form, holidays."""

from __future__ import annotations

import pytest
from django.urls import reverse

from telephony.routing.models import Holiday, RoutingPolicy
from tests.factories import HotlineFactory
from tvshop.audit.models import AuditEntry

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_switch(settings):
    settings.ROUTING_PUSH_ON_CHANGE = False


def _form_data(policy: RoutingPolicy, **changes) -> dict:
    data = {
        "trunk_capacity": policy.trunk_capacity,
        "overflow_threshold_pct": policy.overflow_threshold_pct,
        "hysteresis_pct": policy.hysteresis_pct,
        "max_wait_seconds": policy.max_wait_seconds,
        "max_queued": policy.max_queued,
        "recording": policy.recording,
        "recording_share_pct": policy.recording_share_pct,
        "ring_strategy": policy.ring_strategy,
        "ring_timeout_seconds": policy.ring_timeout_seconds,
    }
    for day in range(7):
        data[f"hours_{day}"] = "08:00-22:00"
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_list_shows_every_hotline_for_supervisors(client_for, django_assert_max_num_queries):
    HotlineFactory.create_batch(3)
    client = client_for("supervisor")
    client.get(reverse("routing:policy_list"))  # creates the missing policy rows
    with django_assert_max_num_queries(12):
        response = client.get(reverse("routing:policy_list"))
    assert response.status_code == 200
    assert response.content.count(b"data-policy=") == 3
    assert RoutingPolicy.objects.count() == 3


@pytest.mark.parametrize("role", ["agent", "finance", "logistics"])
def test_other_roles_may_not_see_or_change(client_for, role):
    policy = RoutingPolicy.objects.create(hotline=HotlineFactory())
    client = client_for(role)
    assert client.get(reverse("routing:policy_list")).status_code == 403
    assert client.get(reverse("routing:policy_edit", args=[policy.pk])).status_code == 403
    response = client.post(reverse("routing:policy_edit", args=[policy.pk]), _form_data(policy))
    assert response.status_code == 403
    response = client.post(reverse("routing:holiday_add", args=[policy.pk]), {"date": "2026-10-01"})
    assert response.status_code == 403
    assert not Holiday.objects.exists()


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("routing:policy_list"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_supervisor_changes_the_policy_audited(client_for):
    policy = RoutingPolicy.objects.create(hotline=HotlineFactory())
    client = client_for("supervisor")
    response = client.post(
        reverse("routing:policy_edit", args=[policy.pk]),
        _form_data(
            policy,
            trunk_capacity=120,
            overflow_threshold_pct=80,
            recording="random",
            recording_share_pct=30,
            hours_enabled="on",
            hours_6="",
        ),
    )
    assert response.status_code == 302
    policy.refresh_from_db()
    assert policy.trunk_capacity == 120 and policy.overflow_threshold_pct == 80
    assert policy.recording == "random" and policy.recording_share_pct == 30
    assert policy.hours_enabled and policy.work_hours["0"] == "08:00-22:00"
    assert policy.work_hours["6"] == ""
    entry = AuditEntry.objects.get(object_id=str(policy.pk), action="update")
    assert entry.actor == client.user
    assert entry.before["trunk_capacity"] == 90 and entry.after["trunk_capacity"] == 120


def test_administrator_may_change_too(client_for):
    policy = RoutingPolicy.objects.create(hotline=HotlineFactory())
    client = client_for("administrator")
    response = client.post(
        reverse("routing:policy_edit", args=[policy.pk]), _form_data(policy, max_queued=40)
    )
    assert response.status_code == 302
    assert RoutingPolicy.objects.get().max_queued == 40


@pytest.mark.parametrize(
    "changes",
    [
        {"hours_0": "22:00-08:00"},
        {"hours_1": "8 to 10"},
        {"overflow_threshold_pct": 120},
        {"trunk_capacity": 0},
        {"ring_strategy": "nonsense"},
    ],
)
def test_bad_input_is_a_400_and_nothing_is_saved(client_for, changes):
    policy = RoutingPolicy.objects.create(hotline=HotlineFactory())
    client = client_for("supervisor")
    response = client.post(
        reverse("routing:policy_edit", args=[policy.pk]),
        _form_data(policy, trunk_capacity=55) | changes,
    )
    assert response.status_code == 400
    assert RoutingPolicy.objects.get().trunk_capacity == 90
    assert not AuditEntry.objects.filter(object_id=str(policy.pk)).exists()


def test_holidays_added_and_removed_audited(client_for):
    policy = RoutingPolicy.objects.create(hotline=HotlineFactory())
    client = client_for("supervisor")
    url = reverse("routing:holiday_add", args=[policy.pk])
    assert client.post(url, {"date": "2026-10-01", "note": "国庆"}).status_code == 302
    assert client.post(url, {"date": "2026-10-01"}).status_code == 302  # no duplicate
    holiday = Holiday.objects.get()
    page = client.get(reverse("routing:policy_edit", args=[policy.pk]))
    assert b"2026-10-01" in page.content
    response = client.post(reverse("routing:holiday_delete", args=[policy.pk, holiday.pk]))
    assert response.status_code == 302
    assert not Holiday.objects.exists()
    actions = sorted(
        AuditEntry.objects.filter(object_id=str(holiday.pk)).values_list("action", flat=True)
    )
    assert actions == ["create", "delete"]
