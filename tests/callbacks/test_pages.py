"""Callback pages and API: permissions on every page and endpoint, the agent's page
(claim, release, outcome), the supervisors' backlog (by station, reassign, pause/resume),
the xlsx export (masked, formula-safe, audited), query counts, the OpenAPI schema."""

from __future__ import annotations

import io

import pytest
from django.urls import include, path, reverse
from django.utils import timezone
from openpyxl import load_workbook

from telephony.callbacks.choices import CallbackStatus
from telephony.callbacks.models import CallbackControl, CallbackRequest
from telephony.callbacks.services import callback_claim
from tests.callbacks.support import agent_in_seat, capture
from tests.factories import CustomerFactory, CustomerPhoneFactory, StationFactory
from tvshop.audit.models import AuditAction, AuditEntry

pytestmark = pytest.mark.django_db


def _logged_in(client, user):
    client.force_login(user)
    return client


# --- permissions -------------------------------------------------------------------------------

AGENT_PAGES = ["callbacks:mine"]
SUPERVISOR_PAGES = ["callbacks:backlog", "callbacks:export"]


@pytest.mark.parametrize("role", ["logistics", "finance", "reviewer1"])
def test_roles_without_callback_permissions_get_403_everywhere(client_for, role):
    cb = capture()
    client = client_for(role)
    for name in AGENT_PAGES + SUPERVISOR_PAGES:
        assert client.get(reverse(name)).status_code == 403, name
    for name in ("callbacks:claim", "callbacks:release", "callbacks:dial", "callbacks:reassign"):
        assert client.post(reverse(name, args=[cb.pk])).status_code == 403, name
    assert client.post(reverse("callbacks:outcome", args=[cb.pk])).status_code == 403
    assert client.get(reverse("callbacks:detail", args=[cb.pk])).status_code == 403
    assert client.post(reverse("callbacks:dispatcher"), {"action": "pause"}).status_code == 403
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.PENDING
    assert not CallbackControl.objects.filter(dispatcher_paused=True).exists()


def test_anonymous_is_sent_to_log_in(client):
    response = client.get(reverse("callbacks:mine"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_agents_may_not_see_the_backlog_nor_pause(client_for):
    client = client_for("agent")
    assert client.get(reverse("callbacks:backlog")).status_code == 403
    assert client.get(reverse("callbacks:export")).status_code == 403
    assert client.post(reverse("callbacks:dispatcher"), {"action": "pause"}).status_code == 403
    assert client.post(reverse("callbacks:reassign", args=[capture().pk])).status_code == 403


def test_navigation_shows_callbacks_per_role(client_for):
    agent_html = client_for("agent").get(reverse("callbacks:mine")).content.decode()
    assert reverse("callbacks:mine") in agent_html
    assert reverse("callbacks:backlog") not in agent_html
    supervisor_html = client_for("supervisor").get(reverse("callbacks:backlog")).content.decode()
    assert reverse("callbacks:backlog") in supervisor_html


# --- the agent's page ------------------------------------------------------------------------


def test_agent_claims_from_the_list_and_records_an_outcome(client):
    # given a waiting callback of a known customer, and an agent
    customer = CustomerFactory(name="王芳")
    CustomerPhoneFactory(customer=customer, number="+8613800138000")
    cb = capture("+8613800138000")
    agent = agent_in_seat("1001")
    client = _logged_in(client, agent)
    # the list shows it with a masked number
    html = client.get(reverse("callbacks:mine")).content.decode()
    assert f'id="claim-{cb.pk}"' in html and "138****8000" in html
    assert "13800138000" not in html
    # when the agent claims it
    response = client.post(reverse("callbacks:claim", args=[cb.pk]))
    assert response.status_code == 302
    html = client.get(reverse("callbacks:mine")).content.decode()
    assert f'id="dial-{cb.pk}"' in html and "王芳" in html
    # and records "not interested"
    response = client.post(
        reverse("callbacks:outcome", args=[cb.pk]), {"outcome": "not_interested", "note": "x"}
    )
    assert response.status_code == 302
    cb.refresh_from_db()
    assert (cb.status, cb.outcome) == (CallbackStatus.DONE, "not_interested")
    assert AuditEntry.objects.filter(actor=agent, object_id=str(cb.pk)).count() == 2


def test_bad_outcome_input_is_a_400_and_changes_nothing(client):
    cb = capture()
    agent = agent_in_seat("1001")
    callback_claim(actor=agent, callback_id=cb.pk)
    client = _logged_in(client, agent)
    response = client.post(reverse("callbacks:outcome", args=[cb.pk]), {"outcome": "ordered"})
    assert response.status_code == 400
    assert "order" in response.content.decode().lower()
    response = client.post(reverse("callbacks:outcome", args=[cb.pk]), {"outcome": "bogus"})
    assert response.status_code == 400
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.OFFERED


def test_claiming_a_taken_callback_is_a_409(client):
    cb = capture()
    callback_claim(actor=agent_in_seat("1001"), callback_id=cb.pk)
    client = _logged_in(client, agent_in_seat("1002"))
    response = client.post(reverse("callbacks:claim", args=[cb.pk]))
    assert response.status_code == 409


def test_release_gives_it_back(client):
    cb = capture()
    agent = agent_in_seat("1001")
    callback_claim(actor=agent, callback_id=cb.pk)
    response = _logged_in(client, agent).post(reverse("callbacks:release", args=[cb.pk]))
    assert response.status_code == 302
    assert CallbackRequest.objects.get(pk=cb.pk).status == CallbackStatus.PENDING


def test_agent_page_query_count(client, django_assert_max_num_queries):
    for _ in range(15):
        capture()
    agent = agent_in_seat("1001")
    callback_claim(actor=agent, callback_id=CallbackRequest.objects.first().pk)
    client = _logged_in(client, agent)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("callbacks:mine")).status_code == 200


# --- the backlog -----------------------------------------------------------------------------


def test_backlog_by_station_age_and_attempts(client_for):
    station = StationFactory(name="湖南卫视")
    cb = capture()
    CallbackRequest.objects.filter(pk=cb.pk).update(
        station=station,
        attempts=2,
        first_call_at=timezone.now() - timezone.timedelta(minutes=90),
    )
    capture()
    html = client_for("supervisor").get(reverse("callbacks:backlog")).content.decode()
    assert "湖南卫视" in html and "backlog-by-station" in html
    # filter by at least 2 attempts
    html = (
        client_for("supervisor")
        .get(reverse("callbacks:backlog"), {"min_attempts": 2})
        .content.decode()
    )
    assert f'id="row-{cb.pk}"' in html and html.count('id="row-') == 1


def test_backlog_query_count(client_for, django_assert_max_num_queries):
    stations = [StationFactory() for _ in range(3)]
    for i in range(30):
        cb = capture()
        CallbackRequest.objects.filter(pk=cb.pk).update(station=stations[i % 3])
    client = client_for("supervisor")
    with django_assert_max_num_queries(16):
        assert client.get(reverse("callbacks:backlog")).status_code == 200


def test_backlog_updates_itself_by_polling_its_live_part(client_for, django_assert_max_num_queries):
    supervisor = client_for("supervisor")
    first = capture()
    html = supervisor.get(reverse("callbacks:backlog"), {"min_attempts": 0}).content.decode()
    # the live part polls the same page, with the page's filters, every few seconds
    assert 'id="backlog-live"' in html and 'hx-trigger="every 5s' in html
    assert "min_attempts=0&amp;live=1" in html
    assert "dispatcher-live-oob" not in html and html.count('id="dispatcher-state"') == 1
    assert f'id="row-{first.pk}"' in html

    # a callback captured since then is in the next poll; the poll is the fragment only,
    # with the dispatcher's line swapped out of band, and the default filter (open only)
    second = capture()
    CallbackRequest.objects.filter(pk=first.pk).update(status=CallbackStatus.DONE)
    with django_assert_max_num_queries(16):
        live = supervisor.get(reverse("callbacks:backlog"), {"live": "1"}, HTTP_HX_REQUEST="true")
    body = live.content.decode()
    assert live.status_code == 200 and "<html" not in body
    assert body.lstrip().startswith('<div id="backlog-live"')
    assert 'hx-swap-oob="innerHTML:#dispatcher-live"' in body
    assert f'id="row-{second.pk}"' in body and f'id="row-{first.pk}"' not in body
    assert body.count('id="dispatcher-state"') == 1

    # the poll is as protected as the page
    agent = client_for("agent")
    assert (
        agent.get(reverse("callbacks:backlog"), {"live": "1"}, HTTP_HX_REQUEST="true").status_code
        == 403
    )


def test_supervisor_reassigns_from_the_backlog(client_for):
    cb = capture()
    agent = agent_in_seat("1001")
    supervisor = client_for("supervisor")
    response = supervisor.post(reverse("callbacks:reassign", args=[cb.pk]), {"agent": agent.pk})
    assert response.status_code == 302
    cb.refresh_from_db()
    assert (cb.status, cb.assigned_agent) == (CallbackStatus.OFFERED, agent)
    # an unknown agent is a 400
    response = supervisor.post(reverse("callbacks:reassign", args=[cb.pk]), {"agent": 999999})
    assert response.status_code == 400


def test_supervisor_pauses_and_resumes_audited(client_for):
    supervisor = client_for("supervisor")
    response = supervisor.post(
        reverse("callbacks:dispatcher"), {"action": "pause", "reason": "drill"}
    )
    assert response.status_code == 302
    assert CallbackControl.objects.get(pk=1).dispatcher_paused
    html = supervisor.get(reverse("callbacks:backlog")).content.decode()
    assert 'id="dispatcher-resume"' in html
    supervisor.post(reverse("callbacks:dispatcher"), {"action": "resume"})
    assert not CallbackControl.objects.get(pk=1).dispatcher_paused
    notes = list(AuditEntry.objects.filter(actor=supervisor.user).values_list("note", flat=True))
    assert "dispatcher paused drill" in notes and "dispatcher resumed" in notes
    response = supervisor.post(reverse("callbacks:dispatcher"), {"action": "mode", "mode": "x"})
    assert response.status_code == 400


def test_export_is_masked_formula_safe_and_audited(client_for):
    customer = CustomerFactory(name="=HYPERLINK(1)")
    CustomerPhoneFactory(customer=customer, number="+8613800138000")
    capture("+8613800138000")
    client = client_for("supervisor")
    # supervisors see full numbers by default; an explicit masked reader is tested below
    response = client.get(reverse("callbacks:export"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][2] == "'=HYPERLINK(1)"
    assert AuditEntry.objects.filter(
        actor=client.user, action=AuditAction.EXPORT, note__startswith="xlsx"
    ).exists()


def test_export_masks_phones_for_roles_without_full_numbers(make_user, client):
    from django.contrib.auth.models import Permission

    capture("+8613800138000")
    user = make_user("agent")
    user.user_permissions.add(
        Permission.objects.get(codename="export_callbackrequest"),
        Permission.objects.get(codename="view_callbackrequest"),
    )
    response = _logged_in(client, user).get(reverse("callbacks:export"))
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert list(sheet.iter_rows(values_only=True))[1][1] == "138****8000"


# --- API ---------------------------------------------------------------------------------------


def test_api_backlog_for_supervisors_and_own_callbacks_for_agents(api_for):
    cb = capture("+8613800138000")
    other = capture()
    supervisor = api_for("supervisor")
    response = supervisor.get("/api/callbacks/requests/")
    assert response.status_code == 200
    assert {row["id"] for row in response.json()["results"]} == {cb.pk, other.pk}
    agent = api_for("agent")
    response = agent.post(f"/api/callbacks/requests/{cb.pk}/claim/")
    assert response.status_code == 200 and response.json()["status"] == "offered"
    assert response.json()["phone"] == "138****8000"
    # the other agent cannot record an outcome on it
    stranger = api_for("agent")
    response = stranger.post(
        f"/api/callbacks/requests/{cb.pk}/outcome/", {"outcome": "wrong_number"}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "forbidden"
    # the holder can
    response = agent.post(
        f"/api/callbacks/requests/{cb.pk}/outcome/", {"outcome": "wrong_number"}, format="json"
    )
    assert response.status_code == 200 and response.json()["status"] == "done"


def test_api_refusals_and_permissions(api_for):
    cb = capture()
    logistics = api_for("logistics")
    assert logistics.get("/api/callbacks/requests/").status_code == 403
    assert logistics.post(f"/api/callbacks/requests/{cb.pk}/claim/").status_code == 403
    assert logistics.get("/api/callbacks/dispatcher/").status_code == 403
    agent = api_for("agent")
    assert agent.post("/api/callbacks/dispatcher/", {"action": "pause"}).status_code == 403
    response = agent.post(
        f"/api/callbacks/requests/{cb.pk}/reassign/", {"agent": None}, format="json"
    )
    assert response.status_code == 403
    supervisor = api_for("supervisor")
    response = supervisor.post("/api/callbacks/dispatcher/", {"action": "pause"}, format="json")
    assert response.status_code == 200 and response.json()["dispatcher_paused"] is True
    response = agent.post(f"/api/callbacks/requests/{cb.pk}/release/")
    assert response.status_code == 409 and response.json()["code"] == "not_yours"


def test_api_list_query_count(api_for, django_assert_max_num_queries):
    for _ in range(20):
        capture()
    client = api_for("supervisor")
    with django_assert_max_num_queries(7):
        assert client.get("/api/callbacks/requests/").status_code == 200


def test_callback_endpoints_are_in_the_schema_without_warnings():
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    GENERATOR_STATS.reset()
    patterns = [path("api/callbacks/", include("telephony.callbacks.api"))]
    schema = SchemaGenerator(patterns=patterns).get_schema(request=None, public=True)
    validate_schema(schema)
    assert not GENERATOR_STATS._warn_cache, list(GENERATOR_STATS._warn_cache)
    assert not GENERATOR_STATS._error_cache, list(GENERATOR_STATS._error_cache)
    paths = schema["paths"]
    assert "/api/callbacks/requests/" in paths
    assert "post" in paths["/api/callbacks/requests/{id}/outcome/"]
    assert {"get", "post"} <= set(paths["/api/callbacks/dispatcher/"])
