"""Hand-built calls for the statistics tests: times in seconds after a local base time."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

from telephony.models import Call

LOCAL = ZoneInfo("Asia/Shanghai")
_uuid = itertools.count(1)


def local(y, m, d, hh=0, mm=0, ss=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, ss, tzinfo=LOCAL)


def make_call(
    *,
    at: dt.datetime,
    hotline=None,
    queue: str = "",
    queued: float | None = 0,
    offered: float | None = None,
    answered: float | None = None,
    ended: float | None = None,
    outcome: str | None = None,
    direction: str = "inbound",
    agent=None,
    customer=None,
    caller: str = "13800000000",
    rona: int = 0,
    transferred: bool = False,
) -> Call:
    """A call created at ``at``; the other times are seconds after ``at`` (None: never)."""

    def t(seconds):
        return None if seconds is None else at + dt.timedelta(seconds=seconds)

    if outcome is None:
        outcome = (
            "in_progress"
            if ended is None
            else ("answered" if answered is not None else "abandoned")
        )
    return Call.objects.create(
        uuid=f"rep-{next(_uuid)}-{at.timestamp():.0f}",
        direction=direction,
        caller=caller,
        dialled=hotline.number if hotline else "",
        hotline=hotline,
        station=hotline.station if hotline else None,
        queue=queue or (hotline.queue_name if hotline and queued is not None else ""),
        agent=agent,
        customer=customer,
        created_at=at,
        queued_at=t(queued) if direction == "inbound" else None,
        offered_at=t(offered),
        answered_at=t(answered),
        ended_at=t(ended),
        outcome=outcome,
        ring_no_answer_count=rona,
        transferred=transferred,
    )
