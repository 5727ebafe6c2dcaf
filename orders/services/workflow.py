"""The order state machine: one transition function and its table.

Nothing else assigns ``Order.status``. Every move locks the order row, checks the table
(allowed next statuses and the permission each needs), enforces the two-reviewer rule,
saves with ``update_fields``, and writes an ``OrderStatusChange`` row and an audit entry in
the same transaction. Two people acting on one order at once: the second one finds the
status already moved and gets a ``Conflict`` naming what happened; nothing is applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from orders.choices import OrderStatus, ReviewStage
from orders.models import Order, OrderStatusChange
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, audit_record_many
from tvshop.errors import Conflict, DomainError, Forbidden, NotFound

S = OrderStatus


@dataclass(frozen=True)
class Move:
    """One allowed transition: the permission it needs (None: system/any caller that passed
    its own check, e.g. a courier status import) and the review stage it completes."""

    permission: str | None
    stage: ReviewStage | None = None
    needs_reason: bool = False


# (from, to) → Move. Cancelling is allowed from every state before EXPORTED.
TRANSITIONS: dict[tuple[str, str], Move] = {
    (S.SUBMITTED, S.FIRST_APPROVED): Move("orders.review_first", ReviewStage.FIRST),
    (S.SUBMITTED, S.REJECTED): Move("orders.review_first", ReviewStage.FIRST, True),
    (S.FIRST_APPROVED, S.SECOND_APPROVED): Move("orders.review_second", ReviewStage.SECOND),
    (S.FIRST_APPROVED, S.REJECTED): Move("orders.review_second", ReviewStage.SECOND, True),
    (S.REJECTED, S.SUBMITTED): Move("orders.change_order"),
    (S.SECOND_APPROVED, S.EXPORTED): Move("logistics.export_shipment"),
    # A re-issued batch or a withdrawn export puts the order back in the shipping pool.
    (S.EXPORTED, S.SECOND_APPROVED): Move("logistics.export_shipment", needs_reason=True),
    (S.EXPORTED, S.SHIPPED): Move("logistics.import_tracking"),
    (S.SHIPPED, S.DELIVERED): Move("logistics.import_tracking"),
    (S.SHIPPED, S.REFUSED): Move("logistics.import_tracking"),
    (S.EXPORTED, S.DELIVERED): Move("logistics.import_tracking"),
    (S.EXPORTED, S.REFUSED): Move("logistics.import_tracking"),
    (S.REFUSED, S.RETURNED): Move("orders.add_orderreturn"),
    (S.DELIVERED, S.RETURNED): Move("orders.add_orderreturn", needs_reason=True),
    **{
        (before, S.CANCELLED): Move("orders.cancel_order", needs_reason=True)
        for before in (S.SUBMITTED, S.REJECTED, S.FIRST_APPROVED, S.SECOND_APPROVED)
    },
    **{
        (before, S.MERGED): Move("orders.merge_order")
        for before in (S.SUBMITTED, S.REJECTED, S.FIRST_APPROVED, S.SECOND_APPROVED)
    },
}

# An agent may withdraw (cancel) their own order while nobody has reviewed it yet.
OWN_ORDER_CANCEL_FROM = {S.SUBMITTED, S.REJECTED}

# Called inside the transition's transaction, after the status change is saved and
# recorded: ``callback(order=, from_status=, to_status=, actor=)``. Apps register in
# ``AppConfig.ready`` (points accrual on delivery); a DomainError raised rolls it all back.
_AFTER_TRANSITION: list = []


def on_transition(callback, *, many=None):
    """Register ``callback`` to run after every status change (idempotent).

    ``many(order_ids=, from_status=, to_status=, actor=)``, if given, is what a set-based
    move (``order_transition_many``) calls instead, once for all its orders; without it
    the set-based move calls ``callback`` order by order."""
    if callback not in _AFTER_TRANSITION:
        _AFTER_TRANSITION.append(callback)
    if many is not None:
        _AFTER_TRANSITION_MANY[callback] = many
    return callback


_AFTER_TRANSITION_MANY: dict = {}


def allowed_next(status: str) -> list[str]:
    return [to for (before, to) in TRANSITIONS if before == status]


def order_transition(
    *,
    order_id: int,
    to_status: str,
    actor,
    expected_status: str | None = None,
    reason: str = "",
    note: str = "",
    system: bool = False,
    at=None,
) -> Order:
    """Move one order to ``to_status``; returns the saved order.

    ``expected_status``: the status the caller saw (a review page, a bulk action); if the
    order has moved since, ``Conflict`` — this is how the second of two simultaneous
    reviewers learns the first one won. ``system=True`` skips the permission check for
    callers that checked their own (imports run by a permitted clerk in Celery, merges).
    """
    with transaction.atomic():
        order = Order.objects.select_for_update().filter(pk=order_id).first()
        if order is None:
            raise NotFound(_("Order not found."))
        before = order.status
        if expected_status is not None and before != expected_status:
            raise Conflict(
                _("Order %(number)s is already “%(status)s”; your action was not applied.")
                % {"number": order.number, "status": order.get_status_display()},
                code="order_moved",
            )
        move = TRANSITIONS.get((before, to_status))
        if move is None:
            raise Conflict(
                _("Order %(number)s cannot go from “%(from)s” to “%(to)s”.")
                % {
                    "number": order.number,
                    "from": order.get_status_display(),
                    "to": S(to_status).label,
                },
                code="transition_not_allowed",
            )
        if not system:
            _check_permission(order, move, to_status, actor)
        if move.needs_reason and not (reason or note).strip():
            raise DomainError(
                _("Give a reason."), fields={"reason": [_("Give a reason.")]}, code="reason"
            )
        now = at or timezone.now()
        fields = ["status", "status_at", "updated_at"]
        if move.stage == ReviewStage.FIRST and to_status == S.FIRST_APPROVED:
            order.first_reviewer = actor
            order.first_reviewed_at = now
            fields += ["first_reviewer", "first_reviewed_at"]
        if move.stage == ReviewStage.SECOND and actor and order.first_reviewer_id == actor.pk:
            raise Forbidden(
                _("You did the first review of this order; someone else must do the second."),
                code="same_reviewer",
            )
        if move.stage == ReviewStage.SECOND and to_status == S.SECOND_APPROVED:
            order.second_reviewer = actor
            order.second_reviewed_at = now
            fields += ["second_reviewer", "second_reviewed_at"]
        if to_status == S.REJECTED:
            order.reject_reason, order.reject_note = reason, note
            fields += ["reject_reason", "reject_note"]
        if before == S.REJECTED and to_status == S.SUBMITTED:
            # A resubmitted order is reviewed afresh; the earlier decisions stay in the
            # status history.
            order.first_reviewer = order.second_reviewer = None
            order.first_reviewed_at = order.second_reviewed_at = None
            order.submitted_at = now
            fields += [
                "first_reviewer",
                "second_reviewer",
                "first_reviewed_at",
                "second_reviewed_at",
                "submitted_at",
            ]
        order.status = to_status
        order.status_at = now
        order.save(update_fields=fields)
        OrderStatusChange.objects.create(
            order=order,
            from_status=before,
            to_status=to_status,
            stage=move.stage,
            actor=actor if getattr(actor, "is_authenticated", False) else None,
            reason=reason,
            note=note[:500],
            at=now,
        )
        audit_record(
            actor=actor,
            action=AuditAction.STATUS,
            obj=order,
            before={"status": before},
            after={"status": to_status, **({"reason": reason} if reason else {})},
            note=note,
        )
        for callback in _AFTER_TRANSITION:
            callback(order=order, from_status=before, to_status=to_status, actor=actor)
    return order


MANY_CHUNK = 2000


def move_many_check(
    *, from_status: str, to_status: str, actor, reason: str = "", note: str = "", system=False
) -> Move:
    """What a set-based move must pass (``order_transition_many`` and logistics' SQL moves):
    the transition table, no review move, the permission unless ``system``, a reason where
    one is needed. Returns the move."""
    move = TRANSITIONS.get((from_status, to_status))
    if move is None:
        raise Conflict(
            _("Orders cannot go from “%(from)s” to “%(to)s”.")
            % {"from": S(from_status).label, "to": S(to_status).label},
            code="transition_not_allowed",
        )
    if move.stage is not None:
        raise ValueError("review moves go through order_transition, one order at a time")
    if not system:
        if actor is None or not actor.is_authenticated:
            raise Forbidden(_("Log in first."))
        if move.permission is not None and not actor.has_perm(move.permission):
            raise Forbidden(_("You are not allowed to do this to an order."), code="forbidden")
    if move.needs_reason and not (reason or note).strip():
        raise DomainError(
            _("Give a reason."), fields={"reason": [_("Give a reason.")]}, code="reason"
        )
    return move


def order_transition_many(
    *,
    order_ids,
    to_status: str,
    actor,
    expected_status: str,
    reason: str = "",
    note: str = "",
    system: bool = False,
    at=None,
) -> list[int]:
    """Move many orders from ``expected_status`` to ``to_status`` in a few statements per
    chunk; returns the ids moved, ascending. The caller's transaction holds them all.

    The same guarantees as ``order_transition``, set-based: rows locked (in id order, so
    two set-based moves cannot deadlock each other), the table and permission checked (once:
    it is one move), a status-change row and an audit entry per order, the after-transition
    callbacks run. An order no longer in ``expected_status`` when its lock is granted (a
    reviewer cancelled it meanwhile) is skipped, not moved: compare the result with the
    ids given. Review moves stay one by one (they record the reviewer and the two-reviewer
    rule per order): use ``order_transition`` for those.
    """
    move_many_check(
        from_status=expected_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        note=note,
        system=system,
    )
    now = at or timezone.now()
    by = actor if getattr(actor, "is_authenticated", False) else None
    ids = sorted({int(i) for i in order_ids})
    moved: list[int] = []
    with transaction.atomic():
        for start in range(0, len(ids), MANY_CHUNK):
            chunk = ids[start : start + MANY_CHUNK]
            # FOR UPDATE re-checks the status filter once a waited-for lock is granted.
            rows = list(
                Order.objects.select_for_update()
                .filter(pk__in=chunk, status=expected_status)
                .order_by("pk")
                .values_list("pk", "number")
            )
            if not rows:
                continue
            pks = [pk for pk, _number in rows]
            Order.objects.filter(pk__in=pks).update(status=to_status, status_at=now, updated_at=now)
            OrderStatusChange.objects.bulk_create(
                OrderStatusChange(
                    order_id=pk,
                    from_status=expected_status,
                    to_status=to_status,
                    actor=by,
                    reason=reason,
                    note=note[:500],
                    at=now,
                )
                for pk in pks
            )
            after = {"status": to_status, **({"reason": reason} if reason else {})}
            audit_record_many(
                actor=actor,
                action=AuditAction.STATUS,
                model=Order,
                entries=[(pk, number, {"status": expected_status}, after) for pk, number in rows],
                note=note,
            )
            moved.extend(pks)
        if moved:
            _after_many(moved, expected_status, to_status, actor)
    return moved


def _after_many(order_ids: list[int], from_status: str, to_status: str, actor) -> None:
    for callback in _AFTER_TRANSITION:
        many = _AFTER_TRANSITION_MANY.get(callback)
        if many is not None:
            many(order_ids=order_ids, from_status=from_status, to_status=to_status, actor=actor)
            continue
        for order in Order.objects.filter(pk__in=order_ids).order_by("pk"):
            callback(order=order, from_status=from_status, to_status=to_status, actor=actor)


def _check_permission(order: Order, move: Move, to_status: str, actor) -> None:
    if actor is None or not actor.is_authenticated:
        raise Forbidden(_("Log in first."))
    if move.permission is None or actor.has_perm(move.permission):
        return
    own = order.agent_id == actor.pk
    if to_status == S.CANCELLED and own and order.status in OWN_ORDER_CANCEL_FROM:
        return
    raise Forbidden(_("You are not allowed to do this to an order."), code="forbidden")
