"""Celery tasks of the telephony app (found by ``autodiscover_tasks``).

The supervision package's tasks live in ``telephony.supervision.tasks``; importing them here
registers them with the worker (the package is not an app of its own)."""

from telephony.supervision.tasks import recordings_purge_expired_task

__all__ = ["recordings_purge_expired_task"]
