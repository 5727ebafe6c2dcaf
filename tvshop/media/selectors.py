"""Reads of the media data, shaped for the pages and the API (no N+1 queries)."""

from __future__ import annotations

from django.db.models import Count, Exists, OuterRef, QuerySet

from tvshop.media.models import AiringSlot, Hotline, Station


def station_list() -> QuerySet[Station]:
    return Station.objects.annotate(hotline_count=Count("hotlines")).order_by("name")


def hotline_list() -> QuerySet[Hotline]:
    return Hotline.objects.select_related("station", "product").order_by("number")


def _overlapping(*, station_id, start, end, exclude_pk=None) -> QuerySet[AiringSlot]:
    qs = AiringSlot.objects.filter(station_id=station_id, start__lt=end, end__gt=start)
    if exclude_pk is not None:
        qs = qs.exclude(pk=exclude_pk)
    return qs


def airing_slot_list() -> QuerySet[AiringSlot]:
    """Slots with their station, product and hotline, flagged when another slot of the
    same station overlaps (``has_overlap``)."""
    others = AiringSlot.objects.filter(
        station_id=OuterRef("station_id"), start__lt=OuterRef("end"), end__gt=OuterRef("start")
    ).exclude(pk=OuterRef("pk"))
    return AiringSlot.objects.select_related("station", "product", "hotline").annotate(
        has_overlap=Exists(others)
    )


def airing_slot_overlaps(*, slot: AiringSlot) -> QuerySet[AiringSlot]:
    """Other slots on the same station whose time range intersects ``slot``'s."""
    return (
        _overlapping(station_id=slot.station_id, start=slot.start, end=slot.end, exclude_pk=slot.pk)
        .select_related("product")
        .order_by("start")
    )
