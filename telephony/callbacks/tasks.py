"""Celery tasks of the callbacks app: thin, calling one service each."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="callbacks.dispatch", ignore_result=True)
def callbacks_dispatch_task() -> str:
    """One dispatcher run (scheduled by beat every ``CALLBACKS["INTERVAL_SECONDS"]``)."""
    from telephony.callbacks.dispatcher import callbacks_dispatch

    return callbacks_dispatch().as_note()


@shared_task(name="callbacks.call_finished", ignore_result=True)
def callback_call_finished_task(call_id: int) -> None:
    """Record the dial result of a callback whose call record just closed."""
    from telephony.callbacks.services import callback_call_finished

    callback_call_finished(call_id=call_id)
