"""Review actions of the orders API: first and second review, the two-reviewer rule,
roles, stale ``expected_status``, reject, cancel, bulk approve, audit rows."""

from __future__ import annotations

import pytest

from orders.choices import OrderStatus, RejectReason
from orders.models import Order
from orders.services.review import second_review_amounts
from tests.orders.entry_factories import courier, providers
from tests.orders.factories import make_order
from tvshop.audit.models import AuditEntry

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
S = OrderStatus
ORDERS = "/api/orders/orders/"


def url(order, action):
    return f"{ORDERS}{order.pk}/{action}/"


def second_review_body(order, **extra):
    sf = courier("sf")
    cod = second_review_amounts(order, sf)["cod_amount"]
    return {"courier": sf.pk, "cod_amount": str(cod), **extra}


def status_audits(order):
    return AuditEntry.objects.filter(action="status", object_id=str(order.pk))


def test_first_then_second_review_by_different_users(api_for):
    # given a submitted order and one reviewer per stage
    order = make_order(status=S.SUBMITTED)
    first, second = api_for("reviewer1"), api_for("reviewer2")

    # when the first reviewer passes it, then the second with courier and confirmed COD
    one = first.post(url(order, "review-first/approve"), {"expected_status": S.SUBMITTED})
    two = second.post(
        url(order, "review-second/approve"),
        second_review_body(order, expected_status=S.FIRST_APPROVED, note="ok"),
        format="json",
    )

    # then both answered with the order, it is ready to ship, and both moves are audited
    assert (one.status_code, one.json()["status"]) == (200, S.FIRST_APPROVED)
    assert (two.status_code, two.json()["status"]) == (200, S.SECOND_APPROVED)
    order.refresh_from_db()
    assert order.status == S.SECOND_APPROVED
    assert (order.first_reviewer, order.second_reviewer) == (first.user, second.user)
    assert order.courier == courier("sf")
    assert status_audits(order).count() == 2


def test_the_first_reviewer_is_refused_at_the_second_review(api_for):
    # given someone holding both reviewer roles who did the first review
    both = api_for("reviewer1", "reviewer2")
    order = make_order(status=S.SUBMITTED)
    assert both.post(url(order, "review-first/approve")).status_code == 200

    # when they try the second review
    response = both.post(url(order, "review-second/approve"), second_review_body(order))

    # then 403 and the order still waits for someone else
    assert response.status_code == 403
    assert response.json()["code"] == "same_reviewer"
    order.refresh_from_db()
    assert order.status == S.FIRST_APPROVED and order.courier is None


@pytest.mark.parametrize(
    ("roles", "action", "status"),
    [
        (("agent",), "review-first/approve", S.SUBMITTED),
        (("reviewer2",), "review-first/approve", S.SUBMITTED),
        (("reviewer1",), "review-second/approve", S.FIRST_APPROVED),
        (("reviewer1",), "review-second/reject", S.FIRST_APPROVED),
        (("agent",), "review-first/bulk-approve", S.SUBMITTED),
    ],
)
def test_wrong_role_is_refused(api_for, roles, action, status):
    # given an order waiting for a stage and a user without that stage's permission
    order = make_order(status=status)
    api = api_for(*roles)
    path = f"{ORDERS}{action}/" if "bulk" in action else url(order, action)
    body = {"orders": [order.pk], "reason": RejectReason.OTHER, "note": "x"}

    # when they try it
    response = api.post(path, body, format="json")

    # then 403 in the error contract and nothing moved
    assert response.status_code == 403
    assert set(response.json()) == {"code", "message", "fields"}
    assert Order.objects.get(pk=order.pk).status == status


def test_agent_may_not_cancel_someone_elses_order(api_for):
    order = make_order(status=S.SUBMITTED)

    response = api_for("agent").post(url(order, "cancel"), {"reason": RejectReason.DUPLICATE})

    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).status == S.SUBMITTED


def test_stale_expected_status_is_a_conflict_and_nothing_is_applied(api_for):
    # given an order someone already passed at the first review
    order = make_order(status=S.SUBMITTED)
    assert api_for("reviewer1").post(url(order, "review-first/approve")).status_code == 200
    late = api_for("reviewer1")

    # when another first reviewer acts on the page they loaded before that
    approve = late.post(url(order, "review-first/approve"), {"expected_status": S.SUBMITTED})
    reject = late.post(
        url(order, "review-first/reject"),
        {"expected_status": S.SUBMITTED, "reason": RejectReason.DUPLICATE},
    )
    cancel = late.post(
        url(order, "cancel"), {"expected_status": S.SUBMITTED, "reason": RejectReason.DUPLICATE}
    )

    # then 409 each time, saying what happened, and only the first move is recorded
    for response in (approve, reject, cancel):
        assert response.status_code == 409, response.json()
        assert "your action was not applied" in response.json()["message"]
    order.refresh_from_db()
    assert order.status == S.FIRST_APPROVED
    assert status_audits(order).count() == 1


def test_second_review_input_is_validated_and_nothing_saved(api_for):
    order = make_order(status=S.FIRST_APPROVED)

    response = api_for("reviewer2").post(
        url(order, "review-second/approve"), {"cod_amount": "-1"}, format="json"
    )

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert {"courier", "cod_amount"} <= set(body["fields"])
    order.refresh_from_db()
    assert order.status == S.FIRST_APPROVED and order.courier is None


def test_second_review_with_an_outdated_cod_amount_is_refused(api_for):
    order = make_order(status=S.FIRST_APPROVED)
    body = second_review_body(order)
    body["cod_amount"] = "0.01"

    response = api_for("reviewer2").post(url(order, "review-second/approve"), body)

    assert response.status_code == 400
    assert "cod_amount" in response.json()["fields"]
    assert Order.objects.get(pk=order.pk).status == S.FIRST_APPROVED


def test_reject_needs_a_reason(api_for):
    # given a submitted order
    order = make_order(status=S.SUBMITTED)
    api = api_for("reviewer1")

    # when it is rejected without a reason, with an unknown one, or "other" without a note
    missing = api.post(url(order, "review-first/reject"), {"note": "bad"})
    unknown = api.post(url(order, "review-first/reject"), {"reason": "nope"})
    other = api.post(url(order, "review-first/reject"), {"reason": RejectReason.OTHER})

    # then 400 with the field named and nothing saved
    assert missing.status_code == unknown.status_code == other.status_code == 400
    assert "reason" in missing.json()["fields"] and "reason" in unknown.json()["fields"]
    assert "note" in other.json()["fields"]
    assert Order.objects.get(pk=order.pk).status == S.SUBMITTED
    assert not status_audits(order).exists()


def test_reject_back_to_the_agent_or_cancel(api_for):
    # given two orders waiting for the second review
    back, gone = make_order(status=S.FIRST_APPROVED), make_order(status=S.FIRST_APPROVED)
    api = api_for("reviewer2")

    # when one is sent back and the other cancelled
    r1 = api.post(
        url(back, "review-second/reject"),
        {"reason": RejectReason.ADDRESS_INCOMPLETE, "note": "no street"},
    )
    r2 = api.post(
        url(gone, "review-second/reject"),
        {
            "reason": RejectReason.SUSPECTED_FRAUD,
            "cancel": True,
            "expected_status": S.FIRST_APPROVED,
        },
        format="json",
    )

    # then the statuses and reasons say so, with audit rows
    assert (r1.status_code, r1.json()["status"]) == (200, S.REJECTED)
    assert r1.json()["reject_reason"] == RejectReason.ADDRESS_INCOMPLETE
    assert (r2.status_code, r2.json()["status"]) == (200, S.CANCELLED)
    assert status_audits(back).count() == status_audits(gone).count() == 1


def test_cancel(api_for):
    order = make_order(status=S.SUBMITTED)

    response = api_for("reviewer1").post(
        url(order, "cancel"), {"reason": RejectReason.CUSTOMER_CANCELLED, "note": "phoned"}
    )

    assert (response.status_code, response.json()["status"]) == (200, S.CANCELLED)
    assert status_audits(order).count() == 1


def test_bulk_approve_reports_moved_and_refused_orders(api_for):
    # given orders waiting for the second review: one first-reviewed by this reviewer,
    # one already passed, one fine
    api = api_for("reviewer1", "reviewer2")
    sf = courier("sf")
    fine = make_order(status=S.FIRST_APPROVED)
    own = make_order(status=S.SUBMITTED)
    assert api.post(url(own, "review-first/approve")).status_code == 200
    moved = make_order(status=S.SECOND_APPROVED)

    # when they bulk-approve all three (and one that does not exist), SF being the
    # default courier
    with providers(default_courier=lambda province: sf.pk):
        response = api.post(
            f"{ORDERS}review-second/bulk-approve/",
            {"orders": [fine.pk, own.pk, moved.pk, 999999]},
            format="json",
        )

    # then each is reported where it belongs and only the fine one moved
    assert response.status_code == 200
    body = response.json()
    assert body["approved"] == [fine.pk]
    assert body["moved"] == [moved.pk]
    assert body["refused"] == [own.pk]
    assert body["failed"] == [999999]
    codes = {e["id"]: e["code"] for e in body["errors"]}
    assert codes[own.pk] == "same_reviewer" and codes[moved.pk] == "order_moved"
    assert Order.objects.get(pk=fine.pk).status == S.SECOND_APPROVED
    assert Order.objects.get(pk=own.pk).status == S.FIRST_APPROVED
    assert status_audits(fine).count() == 1


def test_bulk_approve_input_is_validated(api_for):
    response = api_for("reviewer1").post(
        f"{ORDERS}review-first/bulk-approve/", {"orders": []}, format="json"
    )

    assert response.status_code == 400
    assert "orders" in response.json()["fields"]
