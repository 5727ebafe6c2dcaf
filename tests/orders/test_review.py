"""The two-stage review and the state machine under it: every allowed transition, every
refused one, separation of duties, two reviewers at once, approve/reject/cancel/bulk."""

from __future__ import annotations

import itertools
import threading
from decimal import Decimal

import pytest
from django.db import close_old_connections

from orders.choices import OrderStatus, PaymentMethod, RejectReason, ReviewStage
from orders.models import Order, OrderStatusChange
from orders.services.review import (
    order_review_approve,
    order_review_bulk_approve,
    order_review_reject,
)
from orders.services.workflow import TRANSITIONS, order_transition
from tests.factories import UserFactory
from tests.orders.entry_factories import (
    courier,
    customer_with_address,
    first_approved,
    product,
    providers,
    take,
)
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry
from tvshop.errors import Conflict, DomainError, Forbidden

pytestmark = pytest.mark.django_db
S = OrderStatus
D = Decimal
ALLOWED = sorted(TRANSITIONS)
REFUSED = sorted(
    (a, b) for a, b in itertools.product(S.values, S.values) if a != b and (a, b) not in TRANSITIONS
)


# --- the table --------------------------------------------------------------------------
@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_every_allowed_transition_applies_with_trail_and_audit(before, after):
    # given an order in ``before`` (first-reviewed by someone else) and a user who may
    actor = UserFactory(is_superuser=True)
    order = make_order(status=before, first_reviewer=UserFactory())

    # when it moves to ``after``
    moved = order_transition(
        order_id=order.pk, to_status=after, actor=actor, expected_status=before, reason="other"
    )

    # then the status, a trail row and an audit entry say so
    assert moved.status == after
    assert Order.objects.get(pk=order.pk).status == after
    change = OrderStatusChange.objects.get(order=order)
    assert (change.from_status, change.to_status, change.actor) == (before, after, actor)
    entry = AuditEntry.objects.get(action="status", object_id=str(order.pk))
    assert entry.before == {"status": before} and entry.after["status"] == after


@pytest.mark.parametrize(("before", "after"), ALLOWED)
def test_every_allowed_transition_needs_its_permission(before, after):
    # given a logged-in user with no permissions who did not take the order
    order = make_order(status=before)
    with pytest.raises(Forbidden):
        order_transition(order_id=order.pk, to_status=after, actor=UserFactory(), reason="other")
    assert Order.objects.get(pk=order.pk).status == before


@pytest.mark.parametrize(("before", "after"), REFUSED)
def test_every_other_transition_is_refused(before, after):
    order = make_order(status=before)
    with pytest.raises(Conflict) as refused:
        order_transition(
            order_id=order.pk,
            to_status=after,
            actor=UserFactory(is_superuser=True),
            reason="other",
        )
    assert refused.value.code == "transition_not_allowed"
    assert Order.objects.get(pk=order.pk).status == before
    assert not OrderStatusChange.objects.filter(order=order).exists()


def test_cancel_needs_a_reason():
    order = make_order(status=S.SUBMITTED)
    with pytest.raises(DomainError) as refused:
        order_transition(
            order_id=order.pk, to_status=S.CANCELLED, actor=UserFactory(is_superuser=True)
        )
    assert "reason" in refused.value.fields


def test_agent_may_withdraw_own_unreviewed_order_only(make_user):
    agent = make_user("agent")
    own = make_order(status=S.SUBMITTED, agent=agent)
    order_transition(order_id=own.pk, to_status=S.CANCELLED, actor=agent, reason="other")
    reviewed = make_order(status=S.FIRST_APPROVED, agent=agent)
    with pytest.raises(Forbidden):
        order_transition(order_id=reviewed.pk, to_status=S.CANCELLED, actor=agent, reason="x")
    someone_elses = make_order(status=S.SUBMITTED)
    with pytest.raises(Forbidden):
        order_transition(order_id=someone_elses.pk, to_status=S.CANCELLED, actor=agent, reason="x")


# --- roles and separation of duties -------------------------------------------------------
def test_roles_can_only_do_their_own_stage(make_user):
    agent, r1, r2 = make_user("agent"), make_user("reviewer1"), make_user("reviewer2")
    order = take(agent, None, (product(), 1))

    with pytest.raises(Forbidden):
        order_review_approve(order_id=order.pk, reviewer=agent, stage=1)
    with pytest.raises(Forbidden):
        order_review_approve(order_id=order.pk, reviewer=r2, stage=1)
    order_review_approve(order_id=order.pk, reviewer=r1, stage=1)
    with pytest.raises(Forbidden):
        order_review_approve(order_id=order.pk, reviewer=r1, stage=2, courier=courier())
    order_review_approve(order_id=order.pk, reviewer=r2, stage=2, courier=courier())
    assert Order.objects.get(pk=order.pk).status == S.SECOND_APPROVED


def test_the_same_person_can_never_do_both_reviews(make_user):
    # given someone holding both reviewer roles
    both = make_user("reviewer1", "reviewer2")
    order = take(make_user("agent"), None, (product(), 1))
    first_approved(order, both)

    # when they try the second review (approve or reject)
    with pytest.raises(Forbidden) as refused:
        order_review_approve(order_id=order.pk, reviewer=both, stage=2, courier=courier())
    assert refused.value.code == "same_reviewer"
    with pytest.raises(Forbidden):
        order_review_reject(order_id=order.pk, reviewer=both, stage=2, reason="other", note="x")

    # then the order still waits for a second reviewer
    order.refresh_from_db()
    assert order.status == S.FIRST_APPROVED and order.second_reviewer is None
    assert order.courier is None


# --- approve, reject ---------------------------------------------------------------------
def test_second_review_sets_the_default_courier_and_confirms_cod(make_user):
    # given the courier default for Guangdong is SF and freight is 12.00 with it
    sf = courier("sf")
    with providers(
        default_courier=lambda province: sf.pk if province == "44" else None,
        freight=lambda cid, prov, kg: D("12.00") if cid == sf.pk else D("0"),
    ):
        order = take(make_user("agent"), None, (product("100.00"), 1))
        first_approved(order, make_user("reviewer1"))
        r2 = make_user("reviewer2")

        # when the reviewer confirms an outdated COD amount, nothing is applied
        with pytest.raises(DomainError) as refused:
            order_review_approve(order_id=order.pk, reviewer=r2, stage=2, cod_amount=D("100.00"))
        assert "cod_amount" in refused.value.fields
        assert Order.objects.get(pk=order.pk).courier is None

        # when they confirm the amount with the default courier
        done = order_review_approve(order_id=order.pk, reviewer=r2, stage=2, cod_amount=D("112"))

    # then courier, freight, total and COD are set and the order is ready to ship
    done.refresh_from_db()
    assert done.status == S.SECOND_APPROVED
    assert done.courier == sf and done.freight == D("12.00")
    assert done.total == D("112.00") and done.cod_amount == D("112.00")
    assert done.second_reviewer == r2


def test_second_review_without_a_courier_or_with_a_non_cod_one_is_refused(make_user):
    order = take(make_user("agent"), None, (product(), 1), payment_method=PaymentMethod.COD)
    first_approved(order, make_user("reviewer1"))
    r2 = make_user("reviewer2")
    with pytest.raises(DomainError) as refused:
        order_review_approve(order_id=order.pk, reviewer=r2, stage=2)
    assert "courier" in refused.value.fields
    no_cod = courier("post", supports_cod=False)
    with pytest.raises(DomainError):
        order_review_approve(order_id=order.pk, reviewer=r2, stage=2, courier=no_cod)
    assert Order.objects.get(pk=order.pk).status == S.FIRST_APPROVED


def test_reject_sends_back_with_reason_and_needs_a_known_reason(make_user):
    order = take(make_user("agent"), None, (product(), 1))
    r1 = make_user("reviewer1")
    with pytest.raises(DomainError):
        order_review_reject(order_id=order.pk, reviewer=r1, stage=1, reason="nonsense")
    with pytest.raises(DomainError):
        order_review_reject(order_id=order.pk, reviewer=r1, stage=1, reason="other", note=" ")

    order_review_reject(
        order_id=order.pk,
        reviewer=r1,
        stage=1,
        reason=RejectReason.ADDRESS_INCOMPLETE,
        note="no house number",
    )
    order.refresh_from_db()
    assert order.status == S.REJECTED
    assert (order.reject_reason, order.reject_note) == ("address_incomplete", "no house number")
    change = order.status_changes.get(to_status=S.REJECTED)
    assert change.stage == ReviewStage.FIRST and change.actor == r1


def test_reject_and_cancel_at_the_second_review(make_user):
    order = take(make_user("agent"), None, (product(), 1))
    first_approved(order, make_user("reviewer1"))
    order_review_reject(
        order_id=order.pk,
        reviewer=make_user("reviewer2"),
        stage=2,
        reason=RejectReason.SUSPECTED_FRAUD,
        cancel=True,
    )
    assert Order.objects.get(pk=order.pk).status == S.CANCELLED


def test_bulk_approve_reports_orders_that_moved(make_user):
    agent, r1 = make_user("agent"), make_user("reviewer1")
    orders = [take(agent, customer_with_address(), (product(), 1)) for _ in range(3)]
    order_review_reject(
        order_id=orders[1].pk, reviewer=make_user("reviewer1"), stage=1, reason="duplicate"
    )

    result = order_review_bulk_approve(order_ids=[o.pk for o in orders], reviewer=r1, stage=1)

    assert result.approved == [orders[0].number, orders[2].number]
    assert [number for number, _ in result.failed] == [orders[1].number]
    statuses = dict(Order.objects.values_list("pk", "status"))
    assert statuses[orders[0].pk] == statuses[orders[2].pk] == S.FIRST_APPROVED
    assert statuses[orders[1].pk] == S.REJECTED


def test_a_resubmitted_order_is_reviewed_afresh(make_user):
    agent, r1 = make_user("agent"), make_user("reviewer1")
    order = take(agent, None, (product(), 1))
    first_approved(order, r1)
    order_review_reject(
        order_id=order.pk, reviewer=make_user("reviewer2"), stage=2, reason="price_wrong"
    )
    order_transition(order_id=order.pk, to_status=S.SUBMITTED, actor=agent)
    order.refresh_from_db()
    assert order.status == S.SUBMITTED and order.first_reviewer is None


# --- two reviewers at once ----------------------------------------------------------------
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("second_action", ["approve", "reject"])
def test_two_reviewers_at_once_exactly_one_wins(make_user, second_action):
    # given one submitted order and two first reviewers on two connections
    order = take(make_user("agent"), None, (product(), 1))
    reviewers = [make_user("reviewer1"), make_user("reviewer1")]
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(i):
        try:
            barrier.wait(timeout=10)
            if i == 0 or second_action == "approve":
                order_review_approve(order_id=order.pk, reviewer=reviewers[i], stage=1)
            else:
                order_review_reject(
                    order_id=order.pk, reviewer=reviewers[i], stage=1, reason="duplicate"
                )
            outcomes.append("ok")
        except Conflict as exc:
            outcomes.append(exc.code)
        finally:
            close_old_connections()

    threads = [threading.Thread(target=act, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    # then one action applied, the other was told the order moved; one trail row
    assert sorted(outcomes) == ["ok", "order_moved"]
    moves = OrderStatusChange.objects.filter(order=order).exclude(from_status="")
    assert moves.count() == 1
    assert Order.objects.get(pk=order.pk).status == moves.get().to_status
