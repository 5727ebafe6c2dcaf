"""Helpers for the callback tests (no tests here)."""

from __future__ import annotations

import itertools
import threading
import uuid

from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from telephony.callbacks.services import callback_capture
from telephony.choices import AgentState, AgentStatus
from telephony.models import Seat, SeatSession
from tests.factories import UserFactory

_numbers = itertools.count(13800000001)


def next_mobile() -> str:
    return f"+86{next(_numbers)}"


def capture(
    number: str | None = None, *, at=None, reason="overflow_switch", hotline=None, uuid_=None
):
    return callback_capture(
        number=number or next_mobile(),
        call_uuid=uuid_ or str(uuid.uuid4()),
        hotline_id=hotline.pk if hotline else None,
        station_id=None,
        captured_at=at or timezone.now(),
        reason=reason,
    )


def agent_in_seat(extension: str, *, idle: bool = True, role: str = "agent"):
    """A user of ``role`` logged into seat ``extension``; ready and waiting if ``idle``."""
    user = UserFactory(username=f"cb{extension}-{uuid.uuid4().hex[:4]}")
    user.groups.add(Group.objects.get(name=role))
    seat = Seat.objects.create(
        extension=extension,
        status=AgentStatus.AVAILABLE if idle else AgentStatus.ON_BREAK,
        state=AgentState.WAITING if idle else AgentState.IDLE,
        status_at=timezone.now(),
    )
    SeatSession.objects.create(seat=seat, user=user, started_at=timezone.now())
    return user


def run_in_threads(*functions, timeout: float = 30.0) -> list:
    """Run each function in its own thread (its own database connection) at the same
    time (a barrier releases them together); their results or exceptions, in order."""
    barrier = threading.Barrier(len(functions))
    results: list = [None] * len(functions)

    def run(index, function):
        try:
            barrier.wait(timeout)
            results[index] = function()
        except BaseException as exc:  # reported to the test
            results[index] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i, f)) for i, f in enumerate(functions)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    return results
