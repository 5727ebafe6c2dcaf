"""Writes to the media data: stations, hotlines, airing slots. One audited transaction each."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from tvshop.audit.crud import apply_changes, audited_delete, audited_save
from tvshop.catalog.models import Product
from tvshop.media.models import AiringSlot, Hotline, Station

STATION_FIELDS = ("code", "name", "region", "active", "note")
HOTLINE_FIELDS = ("number", "station", "queue_name", "product", "active")
AIRING_SLOT_FIELDS = ("station", "product", "hotline", "start", "end", "cost", "note")


# --- stations ----------------------------------------------------------------------------
def station_create(
    *,
    actor,
    code: str,
    name: str,
    region: str = "",
    active: bool = True,
    note: str = "",
) -> Station:
    station = Station(code=code, name=name, region=region, active=active, note=note)
    return audited_save(actor=actor, instance=station)


def station_update(*, actor, station: Station, **changes: Any) -> Station:
    apply_changes(instance=station, changes=changes, allowed=STATION_FIELDS)
    return audited_save(actor=actor, instance=station)


def station_delete(*, actor, station: Station) -> None:
    """Refused (Conflict) while hotlines or airing slots belong to the station."""
    audited_delete(actor=actor, instance=station)


# --- hotlines ----------------------------------------------------------------------------
def hotline_create(
    *,
    actor,
    number: str,
    station: Station,
    queue_name: str,
    product: Product | None = None,
    active: bool = True,
) -> Hotline:
    hotline = Hotline(
        number=number, station=station, queue_name=queue_name, product=product, active=active
    )
    return audited_save(actor=actor, instance=hotline)


def hotline_update(*, actor, hotline: Hotline, **changes: Any) -> Hotline:
    apply_changes(instance=hotline, changes=changes, allowed=HOTLINE_FIELDS)
    return audited_save(actor=actor, instance=hotline)


def hotline_delete(*, actor, hotline: Hotline) -> None:
    """Refused (Conflict) while airing slots show the hotline."""
    audited_delete(actor=actor, instance=hotline)


# --- airing slots ------------------------------------------------------------------------
def airing_slot_create(
    *,
    actor,
    station: Station,
    product: Product,
    hotline: Hotline,
    start: dt.datetime,
    end: dt.datetime,
    cost: Decimal = Decimal("0"),
    note: str = "",
) -> AiringSlot:
    """Schedule one airing. The end must follow the start and the hotline must belong to
    the station (``AiringSlot.clean``); overlaps are allowed (see
    ``selectors.airing_slot_overlaps``) because a station may air two products back to back
    with a shared minute."""
    slot = AiringSlot(
        station=station,
        product=product,
        hotline=hotline,
        start=start,
        end=end,
        cost=cost,
        note=note,
    )
    return audited_save(actor=actor, instance=slot)


def airing_slot_update(*, actor, slot: AiringSlot, **changes: Any) -> AiringSlot:
    apply_changes(instance=slot, changes=changes, allowed=AIRING_SLOT_FIELDS)
    return audited_save(actor=actor, instance=slot)


def airing_slot_delete(*, actor, slot: AiringSlot) -> None:
    audited_delete(actor=actor, instance=slot)
