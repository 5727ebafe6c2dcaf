"""Celery tasks of the orders app: thin, calling one service each."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="orders.points_award", ignore_result=True)
def order_points_award_task(order_ids: list[int]) -> int:
    """Award the points of delivered orders that have none yet (idempotent: an order with
    its points is skipped). For orders delivered by a path that bypassed the transition
    callback, e.g. a repair after an import; returns the points awarded."""
    from orders.services.points import order_points_award

    return sum(order_points_award(order_id=pk, actor=None) for pk in order_ids)


@shared_task(name="orders.points_sweep", ignore_result=True)
def order_points_sweep_task() -> int:
    """Award the points of delivered orders still without them (beat, every 10 minutes)."""
    from orders.services.points import order_points_sweep

    return order_points_sweep()
