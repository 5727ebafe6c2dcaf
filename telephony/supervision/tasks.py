"""Celery tasks of the supervision package (thin: each calls one service)."""

from __future__ import annotations

from celery import shared_task

from telephony.supervision.services import recordings_purge_expired


@shared_task(name="telephony.recordings_purge_expired")
def recordings_purge_expired_task() -> int:
    """Delete recordings older than ``TELEPHONY_RECORDINGS_RETENTION_DAYS`` (daily by beat)."""
    return recordings_purge_expired()
