"""Set-based order moves for courier work (exports of 100,000 orders, status files).

``orders.services.workflow.order_transition_many`` builds a status-change row and an audit
entry per order as Python objects (two ``bulk_create`` of 100,000 objects). Logistics
moves are never review moves, so here the same rows are written by PostgreSQL itself:

1. ``SELECT … FOR UPDATE`` of the orders still in the expected status, in id order (two
   set-based moves cannot deadlock; a reviewer's cancel that got its lock first wins and
   the order is skipped);
2. one ``UPDATE … RETURNING`` chained into one ``INSERT … SELECT`` of the status changes
   and one ``INSERT … SELECT`` of the audit entries (the same columns and values
   ``order_transition_many`` writes);
3. the after-transition callbacks once for the set (``workflow._after_many``: points of
   delivered orders go to a task after commit).

The transition table and the permission are checked exactly as ``order_transition_many``
does. Other databases (none in use) fall back to ``order_transition_many``.
"""

from __future__ import annotations

import json

from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.utils import timezone

from orders.models import Order
from orders.services import workflow
from tvshop.audit.models import AuditAction


def check_move(
    *, from_status: str, to_status: str, actor, reason: str = "", note: str = "", system=False
):
    """The transition table and the permission, as ``order_transition_many`` checks them."""
    return workflow.move_many_check(
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        note=note,
        system=system,
    )


def orders_move_set(
    *,
    order_ids=None,
    ids_sql: str | None = None,
    ids_params: list | None = None,
    from_status: str,
    to_status: str,
    actor,
    reason: str = "",
    note: str = "",
    system: bool = False,
) -> list[int]:
    """Move the given orders (a list of ids, or ``ids_sql``: a sub-select returning order
    ids, e.g. from an import's temporary table) from ``from_status`` to ``to_status``.
    Returns the ids moved, ascending. Runs in the caller's transaction."""
    check_move(
        from_status=from_status,
        to_status=to_status,
        actor=actor,
        reason=reason,
        note=note,
        system=system,
    )
    if connection.vendor != "postgresql":  # pragma: no cover - PostgreSQL only in use
        ids = order_ids
        if ids is None:
            with connection.cursor() as cursor:
                cursor.execute(ids_sql, ids_params or [])
                ids = [r[0] for r in cursor.fetchall()]
        return workflow.order_transition_many(
            order_ids=ids,
            to_status=to_status,
            actor=actor,
            expected_status=from_status,
            reason=reason,
            note=note,
            system=system,
        )
    with transaction.atomic():
        moved = orders_lock_for_move(
            order_ids=order_ids, ids_sql=ids_sql, ids_params=ids_params, from_status=from_status
        )
        if not moved:
            return []
        with connection.cursor() as cursor:
            sql, params = move_statement(
                order_ids=moved,
                from_status=from_status,
                to_status=to_status,
                actor=actor,
                reason=reason,
                note=note,
            )
            cursor.execute(sql, params)
        after_moves(moved, from_status, to_status, actor)
    return moved


def after_moves(order_ids: list[int], from_status: str, to_status: str, actor) -> None:
    """The after-transition callbacks, once for the set (as ``order_transition_many``)."""
    workflow._after_many(order_ids, from_status, to_status, actor)


def orders_lock_for_move(
    *, order_ids=None, ids_sql: str | None = None, ids_params=None, from_status: str
) -> list[int]:
    """Lock (in id order) the orders still in ``from_status``; their ids, ascending.

    The ids are resolved first and then locked through the primary key with
    ``id = ANY(array)``: a plan that stays linear whatever the statistics say (right after a
    set-based move the status statistics are stale, and a semi-join against an ``unnest``
    was planned as a nested loop: 185 s for 20,000 orders)."""
    with connection.cursor() as cursor:
        if ids_sql is not None:
            cursor.execute(ids_sql, list(ids_params or []))
            order_ids = [r[0] for r in cursor.fetchall()]
        if not order_ids:
            return []
        cursor.execute(
            """SELECT id FROM orders_order WHERE id = ANY(%s::bigint[]) AND status = %s
               ORDER BY id FOR UPDATE""",
            [sorted({int(i) for i in order_ids}), from_status],
        )
        return [r[0] for r in cursor.fetchall()]


def move_statement(
    *, order_ids: list[int], from_status: str, to_status: str, actor, reason: str, note: str
) -> tuple[str, list]:
    """The one statement that moves locked orders and records a status change and an audit
    entry for each (``order_transition_many``'s rows, written by PostgreSQL)."""
    now = timezone.now()
    by = actor.pk if getattr(actor, "is_authenticated", False) else None
    content_type = ContentType.objects.get_for_model(Order).pk
    before = json.dumps({"status": from_status})
    after = json.dumps({"status": to_status, **({"reason": reason} if reason else {})})
    sql = """WITH m AS (
                 UPDATE orders_order SET status = %s, status_at = %s, updated_at = %s
                 WHERE id = ANY(%s::bigint[]) RETURNING id, number),
             sc AS (
                 INSERT INTO orders_orderstatuschange
                     (order_id, from_status, to_status, stage, actor_id, reason, note, at)
                 SELECT id, %s, %s, NULL, %s::bigint, %s, %s, %s FROM m)
             INSERT INTO audit_auditentry
                 (at, actor_id, action, content_type_id, object_id, object_repr,
                  before, after, note, ip)
             SELECT %s, %s::bigint, %s, %s, id::text, left(number, 200),
                    %s::jsonb, %s::jsonb, %s, NULL FROM m"""
    params = [
        to_status,
        now,
        now,
        order_ids,
        from_status,
        to_status,
        by,
        reason[:30],
        note[:500],
        now,
        now,
        by,
        str(AuditAction.STATUS),
        content_type,
        before,
        after,
        note[:500],
    ]
    return sql, params
