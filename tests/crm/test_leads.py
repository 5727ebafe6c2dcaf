"""Inbound leads (进线): the per-call upsert, assignment strategies, list, export, API."""

from __future__ import annotations

import csv
import datetime as dt
import io
import threading
from collections import Counter
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from openpyxl import load_workbook

from crm.models import Lead
from crm.services.leads import cell_safe, lead_assign, lead_record_call, lead_set_status
from tests.crm.factories_contacts import LeadFactory, staff_user
from tests.factories import CustomerFactory, CustomerPhoneFactory, HotlineFactory, StationFactory
from tvshop.audit.models import AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, tzinfo=SH)


# --- the per-call upsert ------------------------------------------------------------------


def test_two_calls_same_day_make_one_lead_the_next_day_a_new_one():
    hotline = HotlineFactory()

    first = lead_record_call(phone="13800138000", hotline=hotline, at=at(2, 9))
    again = lead_record_call(phone="+86 138 0013 8000", hotline=None, at=at(2, 21, 30))
    tomorrow = lead_record_call(phone="138-0013-8000", hotline=hotline, at=at(3, 8))

    assert first.pk == again.pk != tomorrow.pk
    lead = Lead.objects.get(pk=first.pk)
    assert lead.phone == "+8613800138000"
    assert lead.call_count == 2
    assert (lead.first_at, lead.last_at) == (at(2, 9), at(2, 21, 30))
    assert (lead.hotline, lead.station) == (hotline, hotline.station)
    assert Lead.objects.get(pk=tomorrow.pk).call_count == 1


def test_the_day_is_the_shanghai_date():
    # 23:30 UTC on the 1st is 07:30 on the 2nd in Shanghai.
    lead = lead_record_call(phone="13800138000", at=dt.datetime(2026, 3, 1, 23, 30, tzinfo=dt.UTC))
    assert lead.day == dt.date(2026, 3, 2)


def test_the_customer_and_the_hotline_by_number_are_linked():
    phone = CustomerPhoneFactory(number="+8613900139000")
    hotline = HotlineFactory(number="4008009999")

    lead = lead_record_call(phone="13900139000", hotline="4008009999", at=at(2, 10))

    assert lead.customer == phone.customer
    assert lead.station == hotline.station
    assert AuditEntry.objects.filter(action="create", object_id=str(lead.pk)).exists()


def test_a_call_without_caller_number_is_refused():
    with pytest.raises(DomainError):
        lead_record_call(phone="anonymous", at=at(2, 10))
    assert not Lead.objects.exists()


def test_the_lost_insert_race_counts_on_the_winners_row(monkeypatch):
    """The path taken when another call inserted the same (number, day) in between."""
    lead_record_call(phone="13800138000", at=at(2, 9))
    real = Lead.objects

    class BlindFirstLookup:
        """The first lookup misses the row, as if the other insert was not yet committed."""

        calls = 0

        def select_for_update(self):
            BlindFirstLookup.calls += 1
            return real.none() if BlindFirstLookup.calls == 1 else real.select_for_update()

        def create(self, **kwargs):
            return real.create(**kwargs)

    monkeypatch.setattr(Lead, "objects", BlindFirstLookup(), raising=False)
    try:
        lead = lead_record_call(phone="13800138000", at=at(2, 10))
    finally:
        monkeypatch.undo()

    assert Lead.objects.count() == 1
    assert Lead.objects.get(pk=lead.pk).call_count == 2


@pytest.mark.django_db(transaction=True)
def test_simultaneous_calls_of_one_number_make_one_lead():
    barrier = threading.Barrier(4)
    errors = []

    def call():
        try:
            barrier.wait(timeout=10)
            lead_record_call(phone="13700137000", at=at(5, 12))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert errors == []
    lead = Lead.objects.get()
    assert lead.call_count == 4


# --- assignment ---------------------------------------------------------------------------


def test_round_robin_is_even():
    boss = staff_user("supervisor")
    agents = [staff_user("agent") for _ in range(3)]
    leads = LeadFactory.create_batch(10)

    given = lead_assign(actor=boss, leads=leads, strategy="round_robin", agents=agents)

    counts = Counter(Lead.objects.values_list("assigned_to", flat=True))
    assert sorted(counts.values()) == [3, 3, 4]
    assert given == dict(counts)
    assert set(Lead.objects.values_list("status", flat=True)) == {"assigned"}
    assert AuditEntry.objects.filter(action="assign").count() == 10


def test_by_station_gives_each_stations_leads_to_its_agents():
    boss = staff_user("supervisor")
    a1, a2, b1 = (staff_user("agent") for _ in range(3))
    station_a, station_b = StationFactory(), StationFactory()
    leads_a = LeadFactory.create_batch(4, station=station_a)
    leads_b = LeadFactory.create_batch(3, station=station_b)

    lead_assign(
        actor=boss,
        leads=[*leads_a, *leads_b],
        strategy="by_station",
        station_agents={station_a.pk: [a1, a2], station_b.pk: [b1]},
    )

    got_a = Counter(Lead.objects.filter(station=station_a).values_list("assigned_to", flat=True))
    assert got_a == {a1.pk: 2, a2.pk: 2}
    assert set(Lead.objects.filter(station=station_b).values_list("assigned_to", flat=True)) == {
        b1.pk
    }


def test_by_station_refuses_when_a_station_has_no_agents_and_changes_nothing():
    boss = staff_user("supervisor")
    agent = staff_user("agent")
    station_a, station_b = StationFactory(), StationFactory()
    LeadFactory(station=station_a)
    LeadFactory(station=station_b)

    with pytest.raises(DomainError):
        lead_assign(
            actor=boss,
            leads=Lead.objects.all(),
            strategy="by_station",
            station_agents={station_a.pk: [agent]},
        )

    assert not Lead.objects.filter(assigned_to__isnull=False).exists()
    assert not AuditEntry.objects.filter(action="assign").exists()


def test_manual_needs_exactly_one_agent():
    boss = staff_user("supervisor")
    agents = [staff_user("agent"), staff_user("agent")]
    leads = LeadFactory.create_batch(2)

    with pytest.raises(DomainError):
        lead_assign(actor=boss, leads=leads, strategy="manual", agents=agents)
    lead_assign(actor=boss, leads=leads, strategy="manual", agents=agents[:1])

    assert set(Lead.objects.values_list("assigned_to", flat=True)) == {agents[0].pk}


def test_assignment_refusals():
    boss = staff_user("supervisor")
    agent = staff_user("agent")
    closed = LeadFactory(status="closed")
    fresh = LeadFactory()

    with pytest.raises(Forbidden):
        lead_assign(actor=agent, leads=[fresh], strategy="manual", agents=[agent])
    with pytest.raises(Conflict):
        lead_assign(actor=boss, leads=[fresh, closed], strategy="manual", agents=[agent])
    with pytest.raises(DomainError):  # finance cannot take leads
        lead_assign(actor=boss, leads=[fresh], strategy="manual", agents=[staff_user("finance")])

    assert not Lead.objects.filter(assigned_to__isnull=False).exists()


def test_agent_marks_own_lead_contacted_but_not_others():
    agent, other = staff_user("agent"), staff_user("agent")
    mine = LeadFactory(assigned_to=agent, status="assigned")
    theirs = LeadFactory(assigned_to=other, status="assigned")

    lead_set_status(actor=agent, lead=mine, to_status="contacted")
    with pytest.raises(Forbidden):
        lead_set_status(actor=agent, lead=theirs, to_status="contacted")
    with pytest.raises(Conflict):
        lead_set_status(actor=agent, lead=mine, to_status="new")

    assert Lead.objects.get(pk=mine.pk).status == "contacted"
    assert Lead.objects.get(pk=theirs.pk).status == "assigned"


# --- pages --------------------------------------------------------------------------------


def test_agent_sees_only_the_leads_assigned_to_them(client_for):
    c = client_for("agent")
    LeadFactory(phone="+8613811110001", assigned_to=c.user)
    LeadFactory(phone="+8613822220002")

    page = c.get(reverse("crm:lead_list")).content.decode()

    assert "0001" in page
    assert "0002" not in page
    assert "138****0001" in page  # masked for agents
    assert "lead-assign-form" not in page
    assert "export-xlsx" not in page


def test_list_search_and_one_row_per_number(client_for):
    c = client_for("supervisor")
    station = StationFactory()
    for day in (1, 2, 3):
        LeadFactory(
            phone="+8613800138000", day=dt.date(2026, 3, day), call_count=2, station=station
        )
    LeadFactory(phone="+8613911112222", day=dt.date(2026, 3, 2))
    url = reverse("crm:lead_list")

    page = c.get(url, {"phone": "0013800"}).content.decode()
    assert page.count("<tr>") - 1 == 3
    assert "1112222" not in page

    grouped = c.get(url, {"view": "by_number", "date_from": "2026-03-01", "date_to": "2026-03-03"})
    rows = grouped.context["page_obj"].object_list
    by_phone = {r["phone"]: r for r in rows}
    assert by_phone["+8613800138000"]["days"] == 3
    assert by_phone["+8613800138000"]["calls"] == 6
    assert by_phone["+8613911112222"]["days"] == 1

    only_station = c.get(url, {"station": station.pk}).context["page_obj"].paginator.count
    assert only_station == 3
    one_day = c.get(url, {"date_from": "2026-03-02", "date_to": "2026-03-02"})
    assert one_day.context["page_obj"].paginator.count == 2


def test_list_page_query_count(client_for, django_assert_max_num_queries):
    c = client_for("supervisor")
    customer = CustomerFactory()
    hotline = HotlineFactory()
    StationFactory.create_batch(4)  # one agent select per station: still one agents query
    HotlineFactory.create_batch(3)  # hotline choices name their station: no query per row
    LeadFactory.create_batch(30, customer=customer, hotline=hotline, station=hotline.station)

    with django_assert_max_num_queries(12):
        assert c.get(reverse("crm:lead_list")).status_code == 200
    with django_assert_max_num_queries(12):
        assert c.get(reverse("crm:lead_list"), {"view": "by_number"}).status_code == 200


def test_supervisor_assigns_from_the_list_page(client_for):
    c = client_for("supervisor")
    agents = [staff_user("agent"), staff_user("agent")]
    leads = LeadFactory.create_batch(4)

    response = c.post(
        reverse("crm:lead_assign"),
        {
            "leads": [lead.pk for lead in leads],
            "strategy": "round_robin",
            "agents": [a.pk for a in agents],
            "scope": "selected",
        },
    )

    assert response.status_code == 302
    assert Counter(Lead.objects.values_list("assigned_to", flat=True)) == {
        agents[0].pk: 2,
        agents[1].pk: 2,
    }


def test_assign_page_errors_are_400_without_change(client_for):
    c = client_for("supervisor")
    LeadFactory()

    response = c.post(
        reverse("crm:lead_assign"),
        {"leads": [], "strategy": "round_robin", "agents": [], "scope": "selected"},
    )

    assert response.status_code == 400
    assert not Lead.objects.filter(assigned_to__isnull=False).exists()


def test_an_agent_cannot_assign_or_export_leads(client_for):
    c = client_for("agent")
    lead = LeadFactory()

    response = c.post(
        reverse("crm:lead_assign"),
        {"leads": [lead.pk], "strategy": "manual", "agents": [c.user.pk]},
    )
    assert response.status_code == 403
    assert c.get(reverse("crm:lead_export"), {"format": "csv"}).status_code == 403
    lead.refresh_from_db()
    assert lead.assigned_to is None
    assert not AuditEntry.objects.filter(action="export").exists()


# --- export -------------------------------------------------------------------------------


def _exporter(client_for, *, full: bool):
    c = client_for("supervisor") if full else client_for("agent")
    if not full:
        c.user.user_permissions.add(
            Permission.objects.get(codename="export_lead"),
            Permission.objects.get(codename="assign_lead"),  # sees every lead
        )
    return c


def test_csv_export_masks_phones_and_neutralises_formulas(client_for):
    c = _exporter(client_for, full=False)
    customer = CustomerFactory(name='=HYPERLINK("http://evil","x")')
    LeadFactory(phone="+8613800138000", customer=customer)

    response = c.get(reverse("crm:lead_export"), {"format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][1] == "138****8000"
    assert rows[1][2].startswith("'=")
    assert "13800138000" not in response.content.decode("utf-8-sig")
    entry = AuditEntry.objects.get(action="export")
    assert entry.actor == c.user


def test_xlsx_export_shows_full_numbers_to_roles_allowed(client_for):
    c = _exporter(client_for, full=True)
    LeadFactory(phone="+8613800138000", customer=CustomerFactory(name="@SUM(A1)"))

    response = c.get(reverse("crm:lead_export"), {"format": "xlsx"})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    row = [cell.value for cell in next(sheet.iter_rows(min_row=2, max_row=2))]
    assert "13800138000" in row[1].replace(" ", "").replace("-", "")
    assert "*" not in row[1]
    assert row[2] == "'@SUM(A1)"


def test_export_filters_like_the_list(client_for):
    c = _exporter(client_for, full=True)
    station = StationFactory()
    LeadFactory(station=station)
    LeadFactory()

    response = c.get(reverse("crm:lead_export"), {"format": "csv", "station": station.pk})

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2-3", "'-2-3"),
        ("@cmd", "'@cmd"),
        ("\tx", "'\tx"),
        ("+86138****8000", "+86138****8000"),
        ("-12.5", "-12.5"),
        ("王小明", "王小明"),
        (3, 3),
    ],
)
def test_cell_safe(value, expected):
    assert cell_safe(value) == expected


# --- API ----------------------------------------------------------------------------------


def test_api_lists_masked_numbers_and_only_own_leads_for_agents(
    api_for, django_assert_max_num_queries
):
    api = api_for("agent")
    LeadFactory.create_batch(15, assigned_to=api.user)
    LeadFactory.create_batch(5)

    with django_assert_max_num_queries(8):
        response = api.get("/api/crm/leads/")

    body = response.json()
    assert response.status_code == 200
    assert body["count"] == 15
    assert all("****" in row["phone"] for row in body["results"])


def test_api_assign_round_robin(api_for):
    api = api_for("supervisor")
    agents = [staff_user("agent"), staff_user("agent")]
    leads = LeadFactory.create_batch(4)

    response = api.post(
        "/api/crm/leads/assign/",
        {
            "leads": [lead.pk for lead in leads],
            "strategy": "round_robin",
            "agents": [a.pk for a in agents],
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json()["assigned"] == {str(agents[0].pk): 2, str(agents[1].pk): 2}


def test_api_assign_by_station(api_for):
    api = api_for("supervisor")
    agent = staff_user("agent")
    station = StationFactory()
    lead = LeadFactory(station=station)

    response = api.post(
        "/api/crm/leads/assign/",
        {
            "leads": [lead.pk],
            "strategy": "by_station",
            "station_agents": {str(station.pk): [agent.pk]},
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    lead.refresh_from_db()
    assert lead.assigned_to == agent


def test_api_agent_cannot_assign(api_for):
    api = api_for("agent")
    lead = LeadFactory(assigned_to=None)

    response = api.post(
        "/api/crm/leads/assign/",
        {"leads": [lead.pk], "strategy": "manual", "agents": [api.user.pk]},
        format="json",
    )

    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "fields"}
    lead.refresh_from_db()
    assert lead.assigned_to is None


def test_api_assign_errors_are_4xx_json(api_for):
    api = api_for("supervisor")
    lead = LeadFactory(status="closed")

    bad = api.post("/api/crm/leads/assign/", {"leads": [], "strategy": "x"}, format="json")
    assert bad.status_code == 400
    assert "strategy" in bad.json()["fields"]

    conflict = api.post(
        "/api/crm/leads/assign/",
        {"leads": [lead.pk], "strategy": "manual", "agents": [api.user.pk]},
        format="json",
    )
    assert conflict.status_code == 409
    assert conflict.json()["code"] == "conflict"
