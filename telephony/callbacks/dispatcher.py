"""The callback dispatcher: hands due callbacks to idle agents after a surge.

:func:`callbacks_dispatch` is one run (the Celery beat task ``callbacks_dispatch_task`` and,
in the embedded default, a loop in a thread of the web process call it):

1. **Housekeeping.** Dials whose call record closed get their result
   (:func:`~telephony.callbacks.services.callback_call_finished`, in case the bridge did not
   call it); dials that never got a call record within ``DIAL_STALE_SECONDS`` are given
   up as the agent's failure, and so are dials whose call record stayed open past
   ``CALL_STALE_SECONDS`` (the bridge missed its end); offers nobody dialled within
   ``OFFER_TIMEOUT_SECONDS`` go back to the pool.
2. **Gate.** Nothing is handed out while the dispatcher is paused, the "overflow active"
   flag is on (:func:`telephony.callbacks.surge_active`), any live caller waits in a queue
   (a call record queued, not answered, not ended) or fewer than ``MIN_IDLE_AGENTS`` agents
   are idle (seat ready and waiting, holding an open session).
3. **Hand-out**, in one transaction: the idle agents' seat sessions are locked
   ``FOR UPDATE SKIP LOCKED`` (so two dispatchers never pick the same agent), agents who
   hold a callback or are on a call are dropped, then as many due callbacks as there are
   agents left are locked ``FOR UPDATE SKIP LOCKED`` in priority order (so two dispatchers
   never pick the same callback) and offered, one per agent. The hand-out is capped so the
   callbacks in flight never exceed the idle agents, and a partial unique index allows one
   callback in flight per agent.
4. **Auto mode**: after commit, each offered callback is dialled from its agent's seat.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
import threading

from django.db import transaction
from django.utils import timezone

from telephony.callbacks import selectors, services
from telephony.callbacks.choices import (
    IN_FLIGHT_STATUSES,
    CallbackStatus,
    DialResult,
    DispatchMode,
)
from telephony.callbacks.models import CallbackAttempt, CallbackRequest

logger = logging.getLogger("telephony.callbacks.dispatcher")


@dataclasses.dataclass
class DispatchReport:
    gate: str = "open"  # open | paused | surge | callers_waiting | too_few_idle | no_capacity
    idle_agents: int = 0
    callers_waiting: int = 0
    in_flight: int = 0
    offered: list[int] = dataclasses.field(default_factory=list)  # callback ids
    dialled: list[int] = dataclasses.field(default_factory=list)
    reconciled: int = 0
    returned: int = 0

    def as_note(self) -> str:
        return (
            f"{self.gate}: idle {self.idle_agents}, waiting {self.callers_waiting}, "
            f"in flight {self.in_flight}, offered {len(self.offered)}"
        )


def callbacks_housekeeping(*, now: dt.datetime | None = None) -> tuple[int, int]:
    """(dials reconciled, offers returned to the pool)."""
    from telephony.choices import CallOutcome

    now = now or timezone.now()
    reconciled = 0
    finished = CallbackAttempt.objects.filter(ended_at=None, call__isnull=False).exclude(
        call__outcome=CallOutcome.IN_PROGRESS
    )
    for call_id in finished.values_list("call_id", flat=True)[:500]:
        if services.callback_call_finished(call_id=call_id) is not None:
            reconciled += 1
    stale_dial = now - dt.timedelta(seconds=services.conf("DIAL_STALE_SECONDS"))
    for attempt in CallbackAttempt.objects.filter(
        ended_at=None, call__isnull=True, started_at__lt=stale_dial
    ).values("pk", "request_id")[:500]:
        services.callback_dial_result(
            callback_id=attempt["request_id"],
            result=DialResult.AGENT_FAILED,
            cause="NO_CALL_RECORD",
            attempt_id=attempt["pk"],
        )
        reconciled += 1
    # a call record the switch never closed (the bridge was down): give the dial up
    stale_call = now - dt.timedelta(seconds=services.conf("CALL_STALE_SECONDS"))
    for attempt in CallbackAttempt.objects.filter(
        ended_at=None, call__outcome=CallOutcome.IN_PROGRESS, started_at__lt=stale_call
    ).values("pk", "request_id")[:500]:
        services.callback_dial_result(
            callback_id=attempt["request_id"],
            result=DialResult.AGENT_FAILED,
            cause="CALL_NOT_CLOSED",
            attempt_id=attempt["pk"],
        )
        reconciled += 1
    returned = 0
    stale_offer = now - dt.timedelta(seconds=services.conf("OFFER_TIMEOUT_SECONDS"))
    for pk in CallbackRequest.objects.filter(
        status=CallbackStatus.OFFERED, offered_at__lt=stale_offer
    ).values_list("pk", flat=True)[:500]:
        with transaction.atomic():
            request = services._locked(pk, skip_locked=True)
            if request is None or request.status != CallbackStatus.OFFERED:
                continue
            if request.offered_at is None or request.offered_at >= stale_offer:
                continue
            services._transition(
                request,
                CallbackStatus.PENDING,
                actor=None,
                why="offer timed out",
                assigned_agent=None,
                next_attempt_at=now,
            )
            returned += 1
    return reconciled, returned


def dispatch_gate(*, now: dt.datetime | None = None) -> DispatchReport:
    """Whether callbacks may be handed out now, and why not."""
    from telephony.callbacks import surge_active

    report = DispatchReport()
    control = services.control_get()
    report.idle_agents = selectors.idle_seat_sessions().count()
    report.in_flight = selectors.in_flight_count()
    if control.dispatcher_paused:
        report.gate = "paused"
    elif surge_active():
        report.gate = "surge"
    else:
        report.callers_waiting = selectors.callers_waiting(now=now)
        if report.callers_waiting:
            report.gate = "callers_waiting"
        elif report.idle_agents < max(1, int(services.conf("MIN_IDLE_AGENTS"))):
            report.gate = "too_few_idle"
        elif report.in_flight >= report.idle_agents:
            report.gate = "no_capacity"
    return report


def _agents_on_a_call(user_ids: list[int]) -> set[int]:
    from telephony.choices import CallOutcome
    from telephony.models import Call
    from telephony.services.dial import STALE_CALL_HOURS

    since = timezone.now() - dt.timedelta(hours=STALE_CALL_HOURS)
    return set(
        Call.objects.filter(
            agent_id__in=user_ids, outcome=CallOutcome.IN_PROGRESS, created_at__gte=since
        ).values_list("agent_id", flat=True)
    )


def callbacks_dispatch(
    *, now: dt.datetime | None = None, housekeeping: bool = True
) -> DispatchReport:
    """One dispatcher run (see the module docstring)."""
    now = now or timezone.now()
    reconciled = returned = 0
    if housekeeping:
        reconciled, returned = callbacks_housekeeping(now=now)
    report = dispatch_gate(now=now)
    report.reconciled, report.returned = reconciled, returned
    if report.gate == "open":
        mode = services.control_get().mode
        with transaction.atomic():
            sessions = list(
                selectors.idle_seat_sessions()
                .select_for_update(skip_locked=True, of=("self",))
                .order_by("seat__status_at", "id")
                .values_list("user_id", flat=True)
            )
            busy = set(
                CallbackRequest.objects.filter(
                    assigned_agent_id__in=sessions, status__in=IN_FLIGHT_STATUSES
                ).values_list("assigned_agent_id", flat=True)
            ) | _agents_on_a_call(sessions)
            agents = [user_id for user_id in sessions if user_id not in busy]
            # never more in flight than idle agents (re-read under the locks)
            capacity = report.idle_agents - selectors.in_flight_count()
            count = max(0, min(len(agents), capacity, int(services.conf("BATCH"))))
            if count == 0:
                report.gate = "no_capacity"
            else:
                due = list(
                    selectors.callbacks_due(now=now)
                    .select_for_update(skip_locked=True, of=("self",))
                    .select_related(
                        "customer", "hotline", "station", "airing_slot", "assigned_agent"
                    )[:count]
                )
                from django.contrib.auth import get_user_model

                users = get_user_model().objects.in_bulk(agents[: len(due)])
                for request, user_id in zip(due, agents, strict=False):
                    services.callback_offer(
                        request=request, agent=users[user_id], note=f"dispatcher ({mode})"
                    )
                    report.offered.append(request.pk)
        if mode == DispatchMode.AUTO:
            for pk in report.offered:
                report.dialled.append(pk) if _auto_dial(pk) else None
    services.CallbackControl.objects.filter(pk=1).update(
        last_tick_at=timezone.now(), last_tick_note=report.as_note()[:200]
    )
    return report


def _auto_dial(callback_id: int) -> bool:
    from tvshop.errors import DomainError

    request = CallbackRequest.objects.select_related("assigned_agent").get(pk=callback_id)
    if request.status != CallbackStatus.OFFERED or request.assigned_agent is None:
        return False
    try:
        services.callback_dial(
            actor=request.assigned_agent, callback_id=callback_id, mode=DispatchMode.AUTO
        )
    except DomainError as exc:
        logger.info("auto dial of callback %s refused: %s", callback_id, exc.message)
        return False
    return True


# --- the embedded default's loop ---------------------------------------------------------------


class _Loop:
    thread: threading.Thread | None = None
    stop: threading.Event | None = None


_loop = _Loop()
_loop_lock = threading.Lock()


def embedded_loop_start(*, interval: float | None = None) -> bool:
    """Run the dispatcher every ``interval`` seconds in a daemon thread of this process
    (the embedded default has no Celery beat). Once per process; stopped at exit."""
    import atexit

    from django.db import connection

    with _loop_lock:
        if _loop.thread is not None:
            return False
        stop = threading.Event()
        seconds = float(interval or services.conf("INTERVAL_SECONDS"))

        def run() -> None:
            while not stop.wait(seconds):
                try:
                    callbacks_dispatch()
                except Exception:  # keep the loop alive; the next run retries
                    logger.exception("callback dispatcher run failed")
                finally:
                    connection.close()

        _loop.stop = stop
        _loop.thread = threading.Thread(target=run, name="callbacks-dispatcher", daemon=True)
        _loop.thread.start()
    atexit.register(embedded_loop_stop)
    return True


def embedded_loop_stop(timeout: float = 5.0) -> None:
    with _loop_lock:
        thread, stop = _loop.thread, _loop.stop
        _loop.thread = _loop.stop = None
    if stop is not None:
        stop.set()
    if thread is not None:
        thread.join(timeout)
