"""Shipping-sheet export: one batch per courier, built in Celery, one transaction per batch.

Guarantees:

* Every order in the file was moved SECOND_APPROVED → EXPORTED by ``order_transition``
  in the same transaction that records its ``Shipment`` and stores the file; if anything
  fails, nothing is exported and the batch says why.
* An order a reviewer cancels while the batch runs is either cancelled before the batch
  reaches it (then it is skipped: not in the file) or the reviewer's cancel waits for the
  batch's row lock and then finds it exported (and is refused). Never both, never lost.
* An order is on one active shipment at most (a database constraint): exporting it again
  is refused until its batch is re-issued (``shipment_batch_reissue``, audited), which puts
  the batch's orders back to "ready to ship".
* The stored file is served on every download: the same bytes each time.
* Memory stays bounded: order ids are read once, rows are fetched and written in chunks,
  openpyxl writes in write-only mode.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import logging
import os
import tempfile
from collections.abc import Iterable
from decimal import Decimal

from django.core.files import File
from django.db import transaction
from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.phones import phone_display
from logistics.choices import ColumnSource, ExportFormat, JobState
from logistics.models import Shipment, ShipmentBatch
from logistics.progress import progress_clear, progress_set
from logistics.readers import neutralize
from logistics.services.rules import template_columns, template_format
from orders.choices import OrderStatus, PaymentMethod
from orders.models import Order, OrderGift, OrderLine
from orders.services.workflow import order_transition_many
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record
from tvshop.catalog.models import Courier
from tvshop.errors import Conflict, DomainError, Forbidden

log = logging.getLogger(__name__)

EXPORT_PERM = "logistics.export_shipment"
CHUNK = 1000


def exportable_orders(
    *,
    courier_id: int | None = None,
    province_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    station_id: int | None = None,
):
    """Second-approved orders matching the clerk's filters (by second-review date)."""
    qs = Order.objects.filter(status=OrderStatus.SECOND_APPROVED, courier__isnull=False)
    if courier_id:
        qs = qs.filter(courier_id=courier_id)
    if province_id:
        qs = qs.filter(province_id=province_id)
    if station_id:
        qs = qs.filter(station_id=station_id)
    moment = Q()
    if date_from:
        start = timezone.make_aware(dt.datetime.combine(date_from, dt.time()))
        moment &= Q(status_at__gte=start)
    if date_to:
        end = timezone.make_aware(dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time()))
        moment &= Q(status_at__lt=end)
    return qs.filter(moment)


def _filters_json(**filters) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in filters.items() if v}


def _filters_from_json(data: dict) -> dict:
    out = dict(data)
    for key in ("date_from", "date_to"):
        if out.get(key):
            out[key] = dt.date.fromisoformat(out[key])
    return out


def shipment_export_start(
    *,
    actor,
    courier: Courier | None = None,
    province_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    station_id: int | None = None,
    file_format: str | None = None,
) -> list[ShipmentBatch]:
    """Create one queued batch per courier with matching orders and enqueue their builds."""
    if actor is None or not actor.has_perm(EXPORT_PERM):
        raise Forbidden(_("You are not allowed to export shipping sheets."))
    filters = {
        "province_id": province_id,
        "date_from": date_from,
        "date_to": date_to,
        "station_id": station_id,
    }
    if courier is not None:
        courier_ids = [courier.pk]
        if not exportable_orders(courier_id=courier.pk, **filters).exists():
            courier_ids = []
    else:
        courier_ids = sorted(
            set(exportable_orders(**filters).values_list("courier_id", flat=True).distinct())
        )
    if not courier_ids:
        raise DomainError(_("No orders ready to ship match these filters."), code="nothing")
    batches = []
    with transaction.atomic():
        for courier_id in courier_ids:
            the_courier = Courier.objects.get(pk=courier_id)
            fmt = file_format or template_format(the_courier)
            batch = ShipmentBatch.objects.create(
                number=f"tmp-{timezone.now().timestamp()}-{courier_id}",
                courier_id=courier_id,
                filters=_filters_json(courier_id=courier_id, **filters),
                file_format=fmt,
                created_by=actor,
            )
            batch.number = f"SB{timezone.localdate():%Y%m%d}{batch.pk:05d}"
            batch.save(update_fields=["number"])
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=batch,
                after={"courier": courier_id, "filters": batch.filters},
            )
            batches.append(batch)
        ids = [b.pk for b in batches]

        def enqueue():
            from logistics.tasks import shipment_batch_build_task

            for pk in ids:
                shipment_batch_build_task.delay(pk)

        transaction.on_commit(enqueue)
    return batches


# --- building the file ------------------------------------------------------------------
class _XlsxWriter:
    def __init__(self, path: str, sheet_name: str):
        from openpyxl import Workbook

        self.path = path
        self.workbook = Workbook(write_only=True)
        self.sheet = self.workbook.create_sheet(sheet_name or "Sheet1")

    def append(self, row: list) -> None:
        self.sheet.append(row)

    def close(self) -> None:
        self.workbook.save(self.path)


class _CsvWriter:
    def __init__(self, path: str, sheet_name: str):
        self.handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.handle)

    def append(self, row: list) -> None:
        self.writer.writerow(["" if v is None else v for v in row])

    def close(self) -> None:
        self.handle.close()


def _goods(order: Order) -> tuple[str, int, Decimal]:
    parts, pieces, weight = [], 0, Decimal("0")
    for line in order.lines.all():
        parts.append(f"{line.name}×{line.quantity}")
        pieces += line.quantity
        weight += (line.product.weight_kg or Decimal("0")) * line.quantity
    for gift in order.gifts.all():
        parts.append(f"{_('Gift')}:{gift.name}×{gift.quantity}")
        pieces += gift.quantity
    return "; ".join(parts), pieces, weight.quantize(Decimal("0.001"))


def shipping_row(order: Order, columns: list[tuple[str, str, str]]) -> list:
    """One row of the sheet for ``order`` in the template's column order. Text cells are
    neutralised; phone and order numbers are text, never numbers."""
    goods, pieces, weight = _goods(order)
    cod = order.cod_amount if order.payment_method == PaymentMethod.COD else Decimal("0.00")
    values = {
        ColumnSource.ORDER_NUMBER: order.number,
        ColumnSource.RECIPIENT: order.recipient,
        ColumnSource.PHONE: phone_display(order.phone),
        ColumnSource.PROVINCE: order.province.name,
        ColumnSource.CITY: order.city.name,
        ColumnSource.DISTRICT: order.district.name,
        ColumnSource.STREET: order.street,
        ColumnSource.FULL_ADDRESS: "".join(
            _unique_names([order.province.name, order.city.name, order.district.name])
        )
        + order.street,
        ColumnSource.GOODS: goods,
        ColumnSource.PIECES: pieces,
        ColumnSource.WEIGHT: weight,
        ColumnSource.COD_AMOUNT: cod,
        ColumnSource.DECLARED_VALUE: order.goods_amount,
        ColumnSource.TOTAL: order.total,
        ColumnSource.REMARK: order.remark,
        ColumnSource.STATION: order.station.name if order.station_id else "",
        ColumnSource.ORDER_DATE: timezone.localtime(order.created_at).date().isoformat(),
        ColumnSource.EMPTY: "",
    }
    row = []
    for _header, source, fixed in columns:
        value = fixed if source == ColumnSource.FIXED else values.get(source, "")
        if isinstance(value, str):
            value = neutralize(value)
        row.append(value)
    return row


def _unique_names(names: Iterable[str]) -> list[str]:
    # Municipalities: 北京市 北京市 海淀区 → 北京市海淀区.
    out: list[str] = []
    for name in names:
        if name and (not out or out[-1] != name):
            out.append(name)
    return out


def _orders_for_sheet(ids: list[int]):
    return (
        Order.objects.filter(id__in=ids)
        .select_related("province", "city", "district", "station")
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("product").order_by("id")),
            Prefetch("gifts", queryset=OrderGift.objects.order_by("id")),
        )
        .order_by("id")
    )


def shipment_batch_build(*, batch_id: int) -> ShipmentBatch:
    """Build a queued batch: move its orders to EXPORTED, record shipments, store the file.
    Running it again on a finished batch does nothing (a redelivered task)."""
    with transaction.atomic():
        batch = ShipmentBatch.objects.select_for_update().get(pk=batch_id)
        if batch.state not in (JobState.QUEUED, JobState.FAILED):
            return batch
        batch.state = JobState.RUNNING
        batch.message = ""
        batch.save(update_fields=["state", "message"])
    try:
        return _build(batch)
    except Exception as exc:
        message = (
            exc.message if isinstance(exc, DomainError) else _("Export failed: %(e)s") % {"e": exc}
        )
        ShipmentBatch.objects.filter(pk=batch_id).update(
            state=JobState.FAILED, message=message[:500], finished_at=timezone.now()
        )
        progress_clear("batch", batch_id)
        if not isinstance(exc, DomainError):
            log.exception("shipping batch %s failed", batch_id)
            raise
        batch.refresh_from_db()
        return batch


def _build(batch: ShipmentBatch) -> ShipmentBatch:
    actor = batch.created_by
    if not actor.has_perm(EXPORT_PERM):
        raise Forbidden(_("%(user)s may no longer export shipping sheets.") % {"user": actor})
    courier = batch.courier
    columns = template_columns(courier)
    filters = _filters_from_json(batch.filters)
    filters["courier_id"] = courier.pk
    suffix = "csv" if batch.file_format == ExportFormat.CSV else "xlsx"
    fd, path = tempfile.mkstemp(suffix="." + suffix)
    os.close(fd)
    try:
        with transaction.atomic():
            candidates = exportable_orders(**filters)
            already = set(candidates.filter(shipments__active=True).values_list("id", flat=True))
            ids = [i for i in candidates.order_by("id").values_list("id", flat=True)]
            total = len(ids)
            progress_set("batch", batch.pk, done=0, total=total, phase="export")
            writer_class = _CsvWriter if suffix == "csv" else _XlsxWriter
            writer = writer_class(path, courier.name[:31])
            writer.append([header for header, _s, _f in columns])
            exported = skipped = 0
            for start in range(0, total, CHUNK):
                chunk = ids[start : start + CHUNK]
                wanted = [order_id for order_id in chunk if order_id not in already]
                # Cancelled, merged or sent back since the filter ran: skipped, not in the file.
                moved = order_transition_many(
                    order_ids=wanted,
                    to_status=OrderStatus.EXPORTED,
                    actor=actor,
                    expected_status=OrderStatus.SECOND_APPROVED,
                    note=batch.number,
                )
                skipped += len(chunk) - len(moved)
                shipments = []
                for order in _orders_for_sheet(moved):
                    writer.append(shipping_row(order, columns))
                    shipments.append(Shipment(order=order, batch=batch, courier=courier))
                Shipment.objects.bulk_create(shipments)
                exported += len(moved)
                progress_set("batch", batch.pk, done=start + len(chunk), total=total)
            if exported == 0:
                raise DomainError(_("No orders were left to export (all taken or cancelled)."))
            writer.close()
            digest = hashlib.sha256()
            with open(path, "rb") as handle:
                for block in iter(lambda: handle.read(1 << 20), b""):
                    digest.update(block)
                handle.seek(0)
                name = f"{batch.number}-{courier.code}.{suffix}"
                batch.file.save(name, File(handle, name=name), save=False)
            batch.file_name = name
            batch.sha256 = digest.hexdigest()
            batch.order_count = exported
            batch.skipped = skipped
            batch.state = JobState.DONE
            batch.finished_at = timezone.now()
            batch.save()
            audit_record(
                actor=actor,
                action=AuditAction.EXPORT,
                obj=batch,
                after={
                    "orders": exported,
                    "skipped": skipped,
                    "file": name,
                    "sha256": batch.sha256,
                },
            )
    finally:
        if os.path.exists(path):
            os.unlink(path)
    progress_set("batch", batch.pk, done=total, total=total, phase="done")
    return batch


def shipment_batch_reissue(*, actor, batch_id: int, reason: str) -> ShipmentBatch:
    """Void a finished batch so its orders can be exported again (a lost or wrong sheet).

    Refused once any of its orders has moved on (shipped, delivered …) or got a waybill:
    the courier already has them. Its orders go back to "ready to ship"; audited.
    """
    if actor is None or not actor.has_perm(EXPORT_PERM):
        raise Forbidden(_("You are not allowed to export shipping sheets."))
    if not reason.strip():
        raise DomainError(_("Give a reason."), fields={"reason": [_("Give a reason.")]})
    with transaction.atomic():
        batch = ShipmentBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None:
            raise DomainError(_("Batch not found."), code="not_found")
        if batch.state != JobState.DONE:
            raise Conflict(
                _("Batch %(number)s is “%(state)s”; only a finished batch can be re-issued.")
                % {"number": batch.number, "state": batch.get_state_display()}
            )
        shipments = batch.shipments.filter(active=True).select_related("order")
        moved_on = [
            s.order.number for s in shipments if s.order.status != OrderStatus.EXPORTED or s.waybill
        ]
        if moved_on:
            raise Conflict(
                _("These orders have already moved on with the courier: %(orders)s")
                % {"orders": ", ".join(moved_on[:20])},
                code="moved_on",
            )
        order_ids = list(shipments.values_list("order_id", flat=True))
        batch.shipments.update(active=False)
        order_transition_many(
            order_ids=order_ids,
            to_status=OrderStatus.SECOND_APPROVED,
            actor=actor,
            expected_status=OrderStatus.EXPORTED,
            reason="reissue",
            note=_("Batch %(number)s re-issued: %(reason)s")
            % {"number": batch.number, "reason": reason},
        )
        before = {"state": batch.state}
        batch.state = JobState.REISSUED
        batch.reissued_by = actor
        batch.reissued_at = timezone.now()
        batch.reissue_reason = reason[:300]
        batch.save(update_fields=["state", "reissued_by", "reissued_at", "reissue_reason"])
        audit_record(
            actor=actor,
            action=AuditAction.STATUS,
            obj=batch,
            before=before,
            after={"state": batch.state, "orders": len(order_ids)},
            note=reason,
        )
    return batch
