"""Tickets: the transition table, history, assignment, pages and API."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from crm.models import Ticket, TicketEvent
from crm.services.tickets import (
    TICKET_TRANSITIONS,
    ticket_assign,
    ticket_comment,
    ticket_create,
    ticket_set_status,
)
from tests.crm.factories_contacts import TicketFactory, staff_user
from tests.factories import CustomerFactory
from tvshop.audit.models import AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden

pytestmark = pytest.mark.django_db


def _new_ticket(actor, **kwargs):
    args = {"customer": CustomerFactory(), "kind": "complaint", "title": "快递破损", **kwargs}
    return ticket_create(actor=actor, **args)


# --- create -------------------------------------------------------------------------------


def test_create_starts_the_history_and_is_audited():
    agent = staff_user("agent")

    ticket = _new_ticket(agent, priority="urgent")

    assert ticket.status == "open"
    assert ticket.created_by == agent
    # Urgent tickets are due in 4 hours unless told otherwise.
    assert (
        dt.timedelta(hours=3, minutes=59) < ticket.due_at - timezone.now() <= dt.timedelta(hours=4)
    )
    event = ticket.events.get()
    assert (event.kind, event.to_status, event.actor) == ("created", "open", agent)
    assert AuditEntry.objects.filter(action="create", object_id=str(ticket.pk)).exists()


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"kind": "praise"}, "kind"),
        ({"title": "  "}, "title"),
        ({"priority": "asap"}, "priority"),
        ({"due_at": timezone.now() - dt.timedelta(hours=1)}, "due_at"),
    ],
)
def test_create_refuses_bad_input_and_saves_nothing(kwargs, field):
    with pytest.raises(DomainError) as exc:
        _new_ticket(staff_user("agent"), **kwargs)
    assert field in exc.value.fields
    assert not Ticket.objects.exists()
    assert not TicketEvent.objects.exists()


def test_create_refuses_an_assignee_who_cannot_work_on_tickets():
    with pytest.raises(DomainError) as exc:
        _new_ticket(staff_user("agent"), assignee=staff_user("finance"))
    assert "assignee" in exc.value.fields
    assert not Ticket.objects.exists()


# --- transitions --------------------------------------------------------------------------


def test_the_whole_workflow_with_reopen():
    agent = staff_user("agent")
    ticket = _new_ticket(agent)

    ticket = ticket_set_status(actor=agent, ticket=ticket, to_status="in_progress")
    assert ticket.assignee == agent  # taking an unassigned ticket assigns it
    ticket = ticket_set_status(actor=agent, ticket=ticket, to_status="resolved", note="已换货")
    ticket = ticket_set_status(actor=agent, ticket=ticket, to_status="closed")
    assert ticket.closed_at is not None
    ticket = ticket_set_status(actor=agent, ticket=ticket, to_status="in_progress", note="又坏了")
    assert ticket.closed_at is None

    ticket.refresh_from_db()
    assert ticket.status == "in_progress"
    steps = list(
        ticket.events.filter(kind="status").values_list("from_status", "to_status", "note")
    )
    assert steps == [
        ("open", "in_progress", ""),
        ("in_progress", "resolved", "已换货"),
        ("resolved", "closed", ""),
        ("closed", "in_progress", "又坏了"),
    ]
    assert AuditEntry.objects.filter(action="status", object_id=str(ticket.pk)).count() == 4


@pytest.mark.parametrize(
    ("start", "target"),
    [
        ("open", "resolved"),
        ("open", "closed"),
        ("in_progress", "open"),
        ("in_progress", "closed"),
        ("closed", "resolved"),
        ("resolved", "open"),
        ("open", "open"),
    ],
)
def test_illegal_transitions_are_refused_without_change(start, target):
    agent = staff_user("agent")
    ticket = TicketFactory(status=start)
    assert (start, target) not in TICKET_TRANSITIONS

    with pytest.raises(Conflict) as exc:
        ticket_set_status(actor=agent, ticket=ticket, to_status=target, note="x")

    assert exc.value.code == "illegal_transition"
    ticket.refresh_from_db()
    assert ticket.status == start
    assert not ticket.events.exists()
    assert not AuditEntry.objects.filter(action="status").exists()


def test_resolving_needs_a_note():
    agent = staff_user("agent")
    ticket = TicketFactory(status="in_progress", assignee=agent)

    with pytest.raises(DomainError) as exc:
        ticket_set_status(actor=agent, ticket=ticket, to_status="resolved", note=" ")

    assert "note" in exc.value.fields
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"


def test_a_role_without_change_permission_cannot_move_a_ticket():
    ticket = TicketFactory()

    with pytest.raises(Forbidden):
        ticket_set_status(actor=staff_user("reviewer1"), ticket=ticket, to_status="in_progress")

    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_a_stale_copy_cannot_apply_a_step_twice():
    """The row is locked and re-read: a second click from the same old status is refused."""
    agent = staff_user("agent")
    ticket = TicketFactory()
    stale = Ticket.objects.get(pk=ticket.pk)

    ticket_set_status(actor=agent, ticket=ticket, to_status="in_progress")
    with pytest.raises(Conflict):
        ticket_set_status(actor=agent, ticket=stale, to_status="in_progress")

    assert TicketEvent.objects.filter(kind="status").count() == 1


# --- assign and comment -------------------------------------------------------------------


def test_reassignment_and_comments_are_history_rows():
    agent, other = staff_user("agent"), staff_user("agent")
    ticket = TicketFactory(assignee=agent)

    ticket_assign(actor=agent, ticket=ticket, assignee=other, note="请跟进")
    ticket_assign(actor=agent, ticket=ticket, assignee=other)  # no change, no row
    ticket_comment(actor=other, ticket=ticket, note="已致电客户")

    rows = list(ticket.events.values_list("kind", "assignee", "note"))
    assert rows == [("assign", other.pk, "请跟进"), ("comment", None, "已致电客户")]
    ticket.refresh_from_db()
    assert ticket.assignee == other
    assert AuditEntry.objects.filter(action="assign", object_id=str(ticket.pk)).count() == 1


def test_an_empty_comment_is_refused():
    ticket = TicketFactory()
    with pytest.raises(DomainError):
        ticket_comment(actor=staff_user("agent"), ticket=ticket, note="")
    assert not ticket.events.exists()


# --- pages --------------------------------------------------------------------------------


def test_agent_opens_a_ticket_from_a_customer(client_for):
    c = client_for("agent")
    customer = CustomerFactory()
    url = reverse("crm:ticket_create") + f"?customer={customer.pk}"

    assert c.get(url).status_code == 200
    response = c.post(
        url, {"kind": "after_sales", "title": "需要维修", "priority": "high", "description": ""}
    )

    ticket = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("crm:ticket_detail", args=[ticket.pk])
    assert (ticket.customer, ticket.kind, ticket.created_by) == (customer, "after_sales", c.user)


def test_ticket_form_refuses_a_past_due_time_with_a_400(client_for):
    c = client_for("agent")
    customer = CustomerFactory()
    past = (timezone.localtime() - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    response = c.post(
        reverse("crm:ticket_create") + f"?customer={customer.pk}",
        {"kind": "complaint", "title": "x", "priority": "normal", "due_at": past},
    )

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()
    assert not Ticket.objects.exists()


def test_finance_cannot_open_a_ticket(client_for):
    c = client_for("finance")
    customer = CustomerFactory()
    url = reverse("crm:ticket_create") + f"?customer={customer.pk}"

    assert c.get(url).status_code == 403
    assert c.post(url, {"kind": "complaint", "title": "x", "priority": "normal"}).status_code == 403
    assert not Ticket.objects.exists()


def test_detail_page_shows_history_and_moves_the_ticket(client_for):
    c = client_for("agent")
    ticket = _new_ticket(c.user)

    page = c.get(reverse("crm:ticket_detail", args=[ticket.pk])).content.decode()
    assert ticket.title in page
    assert 'value="in_progress"' in page
    assert 'value="resolved"' not in page  # not a next step from "open"

    response = c.post(
        reverse("crm:ticket_set_status", args=[ticket.pk]), {"to_status": "in_progress"}
    )
    assert response.status_code == 302
    ticket.refresh_from_db()
    assert ticket.status == "in_progress"


def test_detail_page_refuses_an_illegal_step_with_409(client_for):
    c = client_for("agent")
    ticket = TicketFactory()

    response = c.post(
        reverse("crm:ticket_set_status", args=[ticket.pk]), {"to_status": "closed", "note": "x"}
    )

    assert response.status_code == 409
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_reviewer_can_read_but_not_change_tickets(client_for):
    c = client_for("reviewer1")
    ticket = TicketFactory()

    assert c.get(reverse("crm:ticket_detail", args=[ticket.pk])).status_code == 200
    for name, data in [
        ("crm:ticket_set_status", {"to_status": "in_progress"}),
        ("crm:ticket_assign", {"assignee": c.user.pk}),
        ("crm:ticket_comment", {"note": "x"}),
    ]:
        assert c.post(reverse(name, args=[ticket.pk]), data).status_code == 403
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == ("open", None)
    assert not ticket.events.exists()


def test_list_filters_and_overdue_highlight(client_for):
    c = client_for("agent")
    other = staff_user("agent")
    late = TicketFactory(
        title="逾期退款单", assignee=c.user, due_at=timezone.now() - dt.timedelta(hours=1)
    )
    TicketFactory(title="别人的咨询", kind="consultation", assignee=other)
    TicketFactory(title="已关闭的", status="closed", due_at=timezone.now() - dt.timedelta(days=1))
    url = reverse("crm:ticket_list")

    def shown(params):
        return c.get(url, params).content.decode()

    page = shown({})
    assert 'class="overdue"' in page
    mine = shown({"mine": "true"})
    assert "逾期退款单" in mine and "别人的咨询" not in mine
    overdue = shown({"overdue": "true"})
    assert "逾期退款单" in overdue and "已关闭的" not in overdue and "别人的咨询" not in overdue
    assert "逾期退款单" not in shown({"kind": "consultation"})
    assert "别人的咨询" in shown({"assignee": other.pk})
    active = shown({"status": "active"})
    assert "已关闭的" not in active and late.title in active
    assert "已关闭的" in shown({"status": "closed"})


def test_list_page_query_count(client_for, django_assert_max_num_queries):
    c = client_for("agent")
    TicketFactory.create_batch(30)

    with django_assert_max_num_queries(9):
        assert c.get(reverse("crm:ticket_list")).status_code == 200


def test_customer_tickets_fragment(client_for, django_assert_max_num_queries):
    c = client_for("agent")
    customer = CustomerFactory()
    TicketFactory.create_batch(3, customer=customer, title="本客户工单")
    TicketFactory(title="其他客户工单")

    with django_assert_max_num_queries(9):
        response = c.get(reverse("crm:customer_tickets", args=[customer.pk]))

    html = response.content.decode()
    assert html.count("本客户工单") == 3
    assert "其他客户工单" not in html
    assert f"{reverse('crm:ticket_create')}?customer={customer.pk}" in html


# --- API ----------------------------------------------------------------------------------


def test_api_create_and_set_status(api_for):
    api = api_for("agent")
    customer = CustomerFactory()

    created = api.post(
        "/api/crm/tickets/",
        {"customer": customer.pk, "kind": "consultation", "title": "怎么用"},
        format="json",
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    assert created.json()["status"] == "open"

    moved = api.post(f"/api/crm/tickets/{pk}/set-status/", {"to_status": "in_progress"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["status"] == "in_progress"
    assert [e["kind"] for e in moved.json()["events"]] == ["created", "status"]


def test_api_illegal_transition_is_a_409_json_error(api_for):
    api = api_for("agent")
    ticket = TicketFactory()

    response = api.post(
        f"/api/crm/tickets/{ticket.pk}/set-status/", {"to_status": "closed"}, format="json"
    )

    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "illegal_transition"
    assert "to_status" in body["fields"]
    ticket.refresh_from_db()
    assert ticket.status == "open"


def test_api_status_cannot_be_written_directly(api_for):
    api = api_for("agent")
    customer = CustomerFactory()

    response = api.post(
        "/api/crm/tickets/",
        {"customer": customer.pk, "kind": "complaint", "title": "x", "status": "closed"},
        format="json",
    )

    assert response.status_code == 201
    assert Ticket.objects.get().status == "open"


def test_api_role_refusals(api_for):
    customer = CustomerFactory()
    ticket = TicketFactory()

    finance = api_for("finance")
    response = finance.post(
        "/api/crm/tickets/",
        {"customer": customer.pk, "kind": "complaint", "title": "x"},
        format="json",
    )
    assert response.status_code == 403
    assert finance.get("/api/crm/tickets/").status_code == 403

    reviewer = api_for("reviewer1")
    assert reviewer.get(f"/api/crm/tickets/{ticket.pk}/").status_code == 200
    response = reviewer.post(
        f"/api/crm/tickets/{ticket.pk}/set-status/", {"to_status": "in_progress"}
    )
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "fields"}
    ticket.refresh_from_db()
    assert ticket.status == "open"
    assert Ticket.objects.count() == 1


def test_api_bad_input_is_a_400_with_fields(api_for):
    api = api_for("agent")

    response = api.post("/api/crm/tickets/", {"kind": "nope"}, format="json")

    assert response.status_code == 400
    fields = response.json()["fields"]
    assert {"customer", "kind", "title"} <= set(fields)


def test_api_list_filters_and_query_count(api_for, django_assert_max_num_queries):
    api = api_for("agent")
    TicketFactory.create_batch(20, assignee=api.user)
    TicketFactory.create_batch(5)

    with django_assert_max_num_queries(7):
        response = api.get("/api/crm/tickets/", {"mine": "true"})

    assert response.status_code == 200
    assert response.json()["count"] == 20
