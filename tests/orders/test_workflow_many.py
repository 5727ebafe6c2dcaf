"""The set-based transition: the same records as one by one, skips what moved meanwhile."""

import pytest
from django.contrib.auth.models import Permission

from orders.choices import OrderStatus
from orders.models import Order, OrderStatusChange
from orders.services import workflow
from orders.services.workflow import order_transition_many
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden

pytestmark = pytest.mark.django_db
S = OrderStatus


@pytest.fixture
def exporter(make_user):
    user = make_user("logistics")
    # the logistics role holds the export permission; say so rather than assume it
    assert user.has_perm("logistics.export_shipment")
    return user


def test_moves_all_in_the_expected_status_and_records_each(exporter):
    # given three approved orders and one cancelled meanwhile
    orders = [make_order(status=S.SECOND_APPROVED) for _ in range(3)]
    gone = make_order(status=S.CANCELLED)

    # when they are exported as a set
    moved = order_transition_many(
        order_ids=[o.pk for o in orders] + [gone.pk],
        to_status=S.EXPORTED,
        actor=exporter,
        expected_status=S.SECOND_APPROVED,
        note="B1",
    )

    # then the three moved, each with its status-change row and audit entry; the other not
    assert moved == sorted(o.pk for o in orders)
    assert set(Order.objects.filter(status=S.EXPORTED).values_list("pk", flat=True)) == set(moved)
    assert Order.objects.get(pk=gone.pk).status == S.CANCELLED
    changes = OrderStatusChange.objects.filter(order_id__in=moved)
    assert changes.count() == 3
    assert {(c.from_status, c.to_status, c.actor_id, c.note) for c in changes} == {
        (S.SECOND_APPROVED, S.EXPORTED, exporter.pk, "B1")
    }
    audits = AuditEntry.objects.filter(action="status", object_id__in=[str(pk) for pk in moved])
    assert audits.count() == 3
    assert all(a.after == {"status": "exported"} and a.actor_id == exporter.pk for a in audits)


def test_refuses_without_permission_unknown_moves_and_review_moves(make_user):
    agent = make_user("agent")
    order = make_order(status=S.SECOND_APPROVED)
    with pytest.raises(Forbidden):
        order_transition_many(
            order_ids=[order.pk],
            to_status=S.EXPORTED,
            actor=agent,
            expected_status=S.SECOND_APPROVED,
        )
    with pytest.raises(Conflict):
        order_transition_many(
            order_ids=[order.pk], to_status=S.DELIVERED, actor=agent, expected_status=S.SUBMITTED
        )
    with pytest.raises(ValueError):
        order_transition_many(
            order_ids=[order.pk],
            to_status=S.FIRST_APPROVED,
            actor=agent,
            expected_status=S.SUBMITTED,
            system=True,
        )
    assert Order.objects.get(pk=order.pk).status == S.SECOND_APPROVED
    assert not OrderStatusChange.objects.exists()


def test_a_move_that_needs_a_reason_refuses_without_one(exporter):
    order = make_order(status=S.EXPORTED)
    with pytest.raises(DomainError):
        order_transition_many(
            order_ids=[order.pk],
            to_status=S.SECOND_APPROVED,
            actor=exporter,
            expected_status=S.EXPORTED,
        )
    assert Order.objects.get(pk=order.pk).status == S.EXPORTED


def test_callbacks_run_once_per_set_or_order_by_order(exporter, monkeypatch):
    # given one callback with a set-based variant and one without
    seen_many, seen_single = [], []

    def single(*, order, from_status, to_status, actor):
        seen_single.append(order.pk)

    def with_many(*, order, from_status, to_status, actor):  # pragma: no cover - not called
        raise AssertionError("the set-based variant should have been used")

    def many(*, order_ids, from_status, to_status, actor):
        seen_many.append(list(order_ids))

    monkeypatch.setattr(workflow, "_AFTER_TRANSITION", [])
    monkeypatch.setattr(workflow, "_AFTER_TRANSITION_MANY", {})
    workflow.on_transition(single)
    workflow.on_transition(with_many, many=many)
    orders = [make_order(status=S.SECOND_APPROVED) for _ in range(2)]

    moved = order_transition_many(
        order_ids=[o.pk for o in orders],
        to_status=S.EXPORTED,
        actor=exporter,
        expected_status=S.SECOND_APPROVED,
    )

    assert seen_many == [moved]
    assert seen_single == moved


def test_permission_is_checked_on_the_server_not_the_role_name(make_user):
    # a user without roles but with the one permission may export
    user = make_user()
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="logistics", codename="export_shipment")
    )
    order = make_order(status=S.SECOND_APPROVED)
    moved = order_transition_many(
        order_ids=[order.pk], to_status=S.EXPORTED, actor=user, expected_status=S.SECOND_APPROVED
    )
    assert moved == [order.pk]
