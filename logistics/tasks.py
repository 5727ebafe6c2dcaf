"""Celery tasks of the logistics app: thin, by id, each calling one service."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True)
def shipment_batch_build_task(batch_id: int) -> None:
    from logistics.services.exports import shipment_batch_build

    shipment_batch_build(batch_id=batch_id)


@shared_task(acks_late=True)
def logistics_import_check_task(import_id: int) -> None:
    from logistics.services.imports import logistics_import_check

    logistics_import_check(import_id=import_id)


@shared_task(acks_late=True)
def logistics_import_apply_task(import_id: int) -> None:
    from logistics.services.imports import logistics_import_apply

    logistics_import_apply(import_id=import_id)
