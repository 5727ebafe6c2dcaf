"""Reads of the logistics app, shaped for the pages (no N+1 queries)."""

from __future__ import annotations

import contextlib

from django.db.models import Count, Prefetch, Q, QuerySet

from crm.phones import phone_normalize
from logistics.choices import ShipmentStatus
from logistics.models import LogisticsImport, Shipment, ShipmentBatch, TrackingEvent


def batch_list() -> QuerySet[ShipmentBatch]:
    return ShipmentBatch.objects.select_related("courier", "created_by").order_by(
        "-created_at", "-id"
    )


def import_list() -> QuerySet[LogisticsImport]:
    return LogisticsImport.objects.select_related("courier", "created_by").order_by(
        "-created_at", "-id"
    )


def tracking_search(q: str, *, limit: int = 50) -> list[Shipment]:
    """Shipments (active or voided) by our order number, the recipient's phone or a
    waybill, newest first, with their tracking events."""
    q = (q or "").strip()
    if not q:
        return []
    condition = Q(order__number=q) | Q(waybill=q)
    with contextlib.suppress(Exception):  # not a phone number: search the others only
        condition |= Q(order__phone=phone_normalize(q).number)
    return list(
        Shipment.objects.filter(condition)
        .select_related("order", "courier", "batch", "order__province", "order__city")
        .prefetch_related(Prefetch("events", queryset=TrackingEvent.objects.order_by("-at", "-id")))
        .order_by("-id")[:limit]
    )


def counts_by_courier_and_status() -> list[dict]:
    """Active shipments per courier and status."""
    rows = list(
        Shipment.objects.filter(active=True)
        .values("courier__name", "status")
        .annotate(n=Count("id"))
        .order_by("courier__name", "status")
    )
    for row in rows:
        row["status_label"] = ShipmentStatus(row["status"]).label
    return rows


def rates_by_courier_and_province() -> list[dict]:
    """Delivered and refused among finished (delivered, refused, returning, returned)
    shipments, by courier and province; rates in percent."""
    finished = [
        ShipmentStatus.DELIVERED,
        ShipmentStatus.REFUSED,
        ShipmentStatus.RETURNING,
        ShipmentStatus.RETURNED,
    ]
    rows = (
        Shipment.objects.filter(active=True)
        .values("courier__name", "order__province__name")
        .annotate(
            shipped=Count("id"),
            finished=Count("id", filter=Q(status__in=finished)),
            delivered=Count("id", filter=Q(status=ShipmentStatus.DELIVERED)),
            refused=Count("id", filter=Q(status__in=finished[1:])),
        )
        .order_by("courier__name", "order__province__name")
    )
    out = []
    for row in rows:
        done = row["finished"]
        row["delivery_rate"] = round(100 * row["delivered"] / done, 1) if done else None
        row["refusal_rate"] = round(100 * row["refused"] / done, 1) if done else None
        out.append(row)
    return out
