"""Keyset ("seek") paging and a capped count for the long order lists (issue #4).

A review queue holds hundreds of thousands of orders. ``OFFSET`` paging makes every page
read and throw away the pages before it, and the page count's ``COUNT(*)`` reads every
matching row on every request. Here a page is "the next ``size`` orders after this one"
in the queue's order ``(submitted_at, id)``, which an index on that order answers by
reading ``size + 1`` entries; and the count stops at :data:`COUNT_CAP` ("1,000+").

The cursor in the URL is ``<microseconds since the epoch>-<id>`` of the last (``after``)
or first (``before``) row of the page the reviewer came from. A cursor that does not
parse is ignored (the first page), never a 500.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Q, QuerySet

COUNT_CAP = 1000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
ONE_MICROSECOND = dt.timedelta(microseconds=1)


def encode_cursor(at: dt.datetime | None, pk: int) -> str:
    if at is None:
        return f"n-{pk}"
    return f"{(at - EPOCH) // ONE_MICROSECOND}-{pk}"


def decode_cursor(raw: str | None) -> tuple[dt.datetime | None, int] | None:
    """``(at, pk)`` or ``None`` for a missing or malformed cursor."""
    if not raw or len(raw) > 60:
        return None
    head, sep, tail = raw.partition("-")
    if not sep or not tail.isdigit() or (head != "n" and not head.isdigit()):
        return None
    try:
        at = None if head == "n" else EPOCH + int(head) * ONE_MICROSECOND
    except OverflowError:
        return None
    return at, int(tail)


def _after(queryset: QuerySet, at: dt.datetime | None, pk: int, field_name: str) -> QuerySet:
    # (at, pk) > cursor. The extra ``>=`` on the leading column gives the planner the index
    # range to start from. Orders in a queue always have ``submitted_at`` (every submit sets
    # it); a NULL cursor only pages through NULL rows, so it cannot crash or loop.
    if at is None:
        return queryset.filter(**{f"{field_name}__isnull": True, "pk__gt": pk})
    return queryset.filter(Q(**{f"{field_name}__gte": at})).filter(
        Q(**{f"{field_name}__gt": at}) | Q(**{field_name: at, "pk__gt": pk})
    )


def _before(queryset: QuerySet, at: dt.datetime | None, pk: int, field_name: str) -> QuerySet:
    if at is None:
        return queryset.filter(
            Q(**{f"{field_name}__isnull": False})
            | Q(**{f"{field_name}__isnull": True, "pk__lt": pk})
        )
    return queryset.filter(Q(**{f"{field_name}__lte": at})).filter(
        Q(**{f"{field_name}__lt": at}) | Q(**{field_name: at, "pk__lt": pk})
    )


@dataclass
class KeysetPage:
    rows: list = field(default_factory=list)
    next_cursor: str = ""
    previous_cursor: str = ""
    is_first: bool = True
    size: int = 50

    @property
    def has_next(self) -> bool:
        return bool(self.next_cursor)

    @property
    def has_previous(self) -> bool:
        return bool(self.previous_cursor)


def keyset_page(
    queryset: QuerySet,
    *,
    size: int,
    after: str | None = None,
    before: str | None = None,
    field_name: str = "submitted_at",
) -> KeysetPage:
    """One page of ``queryset`` ordered by ``(field_name, pk)`` ascending: the first page,
    the page after cursor ``after`` or the page before cursor ``before``. One query."""
    cursor_after, cursor_before = decode_cursor(after), decode_cursor(before)
    if cursor_before is not None:
        at, pk = cursor_before
        rows = list(
            _before(queryset, at, pk, field_name).order_by(f"-{field_name}", "-pk")[: size + 1]
        )
        more = len(rows) > size
        rows = rows[:size]
        rows.reverse()
        page = KeysetPage(rows=rows, size=size, is_first=not more)
        if rows:
            page.next_cursor = encode_cursor(getattr(rows[-1], field_name), rows[-1].pk)
            if more:
                page.previous_cursor = encode_cursor(getattr(rows[0], field_name), rows[0].pk)
        return page
    if cursor_after is not None:
        at, pk = cursor_after
        queryset = _after(queryset, at, pk, field_name)
    rows = list(queryset.order_by(field_name, "pk")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    page = KeysetPage(rows=rows, size=size, is_first=cursor_after is None)
    if more:
        page.next_cursor = encode_cursor(getattr(rows[-1], field_name), rows[-1].pk)
    if cursor_after is not None and rows:
        page.previous_cursor = encode_cursor(getattr(rows[0], field_name), rows[0].pk)
    return page


def capped_count(queryset: QuerySet, cap: int = COUNT_CAP) -> tuple[int, bool]:
    """``(n, more)``: the number of rows up to ``cap`` and whether there are more.

    ``SELECT count(*) FROM (SELECT id … LIMIT cap + 1)``: it stops reading after
    ``cap + 1`` matching rows instead of counting a whole queue on every page."""
    n = queryset.order_by().values("pk")[: cap + 1].count()
    return min(n, cap), n > cap
