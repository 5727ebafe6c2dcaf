# ruff: noqa: S608 - the SQL is assembled from this module's constants; values are parameters
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
import threading

from django.core.files import File
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics.choices import ColumnSource, ExportFormat, JobState, ShipmentStatus
from logistics.models import ShipmentBatch
from logistics.progress import progress_clear, progress_set
from logistics.readers import neutralize
from logistics.services.moves import (
    after_moves,
    check_move,
    move_statement,
    orders_lock_for_move,
    orders_move_set,
)
from logistics.services.rules import template_columns, template_format
from orders.choices import OrderStatus, PaymentMethod
from orders.models import Order
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record
from tvshop.catalog.models import Courier
from tvshop.errors import Conflict, DomainError, Forbidden
from tvshop.media.models import Station

log = logging.getLogger(__name__)

EXPORT_PERM = "logistics.export_shipment"
CHUNK = 5000


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

    def append(self, row) -> None:
        self.sheet.append(row)

    def extend(self, rows) -> None:
        append = self.sheet.append
        for row in rows:
            append(row)

    def close(self) -> None:
        self.workbook.save(self.path)


class _CsvWriter:
    def __init__(self, path: str, sheet_name: str):
        self.handle = open(path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        self.writer = csv.writer(self.handle)

    def append(self, row) -> None:
        self.writer.writerow(row)

    def extend(self, rows) -> None:
        self.writer.writerows(rows)

    def close(self) -> None:
        self.handle.close()


# One statement returns every cell of the sheet, in the template's column order: the goods
# description aggregated in SQL, text neutralised in SQL (only values that start with a
# risky character change), phones in their national display form. Python only hands the
# tuples to the writer.
RISKY = "chr(61), chr(43), chr(45), chr(64), chr(9), chr(13)"  # = + - @ tab CR


def _safe(expr: str) -> str:
    return f"CASE WHEN left({expr}, 1) IN ({RISKY}) THEN chr(39) || {expr} ELSE {expr} END"


# crm.phones.phone_display for +86 numbers (mobile 13800138000, 0755-88881234,
# 400-800-1234); other numbers stay in E.164.
PHONE_SQL = r"""CASE
    WHEN o.phone ~ '^\+861[0-9]{10}$' THEN substr(o.phone, 4)
    WHEN o.phone ~ '^\+86(400|800)[0-9]{7}$'
        THEN substr(o.phone, 4, 3) || '-' || substr(o.phone, 7, 3) || '-' || substr(o.phone, 10)
    WHEN o.phone ~ '^\+86(10|2)[0-9]+$'
        THEN '0' || substr(o.phone, 4, 2) || '-' || substr(o.phone, 6)
    WHEN o.phone ~ '^\+86[0-9]+$' THEN '0' || substr(o.phone, 4, 3) || '-' || substr(o.phone, 7)
    ELSE o.phone END"""

_TEXT_SQL = {
    ColumnSource.ORDER_NUMBER: "o.number",
    ColumnSource.RECIPIENT: "o.recipient",
    ColumnSource.PHONE: PHONE_SQL,
    ColumnSource.PROVINCE: "COALESCE(p.name, '')",
    ColumnSource.CITY: "COALESCE(c.name, '')",
    ColumnSource.DISTRICT: "COALESCE(d.name, '')",
    ColumnSource.STREET: "o.street",
    # Municipalities: 北京市 北京市 海淀区 → 北京市海淀区.
    ColumnSource.FULL_ADDRESS: (
        "COALESCE(p.name, '')"
        " || CASE WHEN c.name = p.name THEN '' ELSE COALESCE(c.name, '') END"
        " || CASE WHEN d.name = c.name THEN '' ELSE COALESCE(d.name, '') END || o.street"
    ),
    ColumnSource.GOODS: "COALESCE(g.goods, '')",
    ColumnSource.REMARK: "o.remark",
    ColumnSource.STATION: "COALESCE(st.name, '')",
}
_VALUE_SQL = {
    ColumnSource.PIECES: "COALESCE(g.pieces, 0)::integer",
    ColumnSource.WEIGHT: "round(COALESCE(g.weight, 0), 3)",
    ColumnSource.COD_AMOUNT: "CASE WHEN o.payment_method = %s THEN o.cod_amount ELSE 0.00 END",
    ColumnSource.DECLARED_VALUE: "o.goods_amount",
    ColumnSource.TOTAL: "o.total",
    ColumnSource.ORDER_DATE: "to_char(o.created_at AT TIME ZONE %s, 'YYYY-MM-DD')",
}
GOODS_SQL = """LEFT JOIN LATERAL (
    SELECT string_agg(x.txt, '; ' ORDER BY x.k, x.id) AS goods, sum(x.qty) AS pieces,
           sum(x.w) AS weight
    FROM (SELECT 0 AS k, l.id, l.name || '×' || l.quantity AS txt, l.quantity AS qty,
                 COALESCE(pr.weight_kg, 0) * l.quantity AS w
          FROM orders_orderline l JOIN catalog_product pr ON pr.id = l.product_id
          WHERE l.order_id = o.id
          UNION ALL
          SELECT 1, gi.id, %s || ':' || gi.name || '×' || gi.quantity, gi.quantity, 0
          FROM orders_ordergift gi WHERE gi.order_id = o.id) x
) g ON true"""


def sheet_sql(columns: list[tuple[str, str, str]], where: str) -> tuple[str, list]:
    """The one SELECT returning the sheet's cells in ``columns`` order (compiled once per
    batch) and its parameters before those of ``where``."""
    select, params = [], []
    uses = {source for _h, source, _f in columns}
    for _header, source, fixed in columns:
        if source == ColumnSource.FIXED:
            select.append("%s")
            params.append(neutralize(fixed or ""))
        elif source in _TEXT_SQL:
            select.append(_safe(_TEXT_SQL[source]))
        elif source in _VALUE_SQL:
            select.append(_VALUE_SQL[source])
            if source == ColumnSource.COD_AMOUNT:
                params.append(PaymentMethod.COD)
            elif source == ColumnSource.ORDER_DATE:
                params.append(timezone.get_current_timezone_name())
        else:
            select.append("NULL")  # an empty cell (openpyxl writes no value for None)
    joins = """LEFT JOIN crm_division p ON p.code = o.province_id
        LEFT JOIN crm_division c ON c.code = o.city_id
        LEFT JOIN crm_division d ON d.code = o.district_id"""
    if ColumnSource.STATION in uses:
        joins += f" LEFT JOIN {Station._meta.db_table} st ON st.id = o.station_id"
    if uses & {ColumnSource.GOODS, ColumnSource.PIECES, ColumnSource.WEIGHT}:
        joins += " " + GOODS_SQL
        params.append(_("Gift"))
    sql = f"SELECT {', '.join(select) or chr(39) * 2} FROM orders_order o {joins} WHERE {where}"
    return sql, params


def shipping_rows(columns: list[tuple[str, str, str]], *, order_ids: list[int], using=None):
    """The sheet's rows for ``order_ids`` (by order id), streamed from a server-side cursor
    in chunks: tuples of cell values, nothing built per row in Python."""
    sql, params = sheet_sql(columns, "o.id = ANY(%s::bigint[]) ORDER BY o.id")
    with (using or connection).chunked_cursor() as cursor:
        cursor.execute(sql, [*params, order_ids])
        while rows := cursor.fetchmany(CHUNK):
            yield rows


def _write_rows(writer, columns, order_ids, *, batch_id: int, total: int, using=None) -> None:
    done = 0
    for rows in shipping_rows(columns, order_ids=order_ids, using=using):
        writer.extend(rows)
        done += len(rows)
        progress_set("batch", batch_id, done=done, total=total)


def _move_and_write(*, statements, writer, columns, order_ids, batch_id, total, overlap):
    """Run ``statements`` (the set-based move and the shipments) in the batch's transaction
    and write the orders' rows.

    With ``overlap`` (the batch's transaction is the outermost one, as in Celery), the
    statements run in PostgreSQL on a worker thread while this thread streams the rows
    from a second connection and writes the file: two cores instead of one. That is safe
    because the orders are already locked by the batch's transaction, so the committed
    values the second connection reads cannot change until the batch commits or rolls back;
    a failure on either side rolls the whole batch back.
    """
    if not overlap:
        with connection.cursor() as cursor:
            for sql, params in statements:
                cursor.execute(sql, params)
        _write_rows(writer, columns, order_ids, batch_id=batch_id, total=total)
        return
    import psycopg

    raw = connection.connection
    errors: list[BaseException] = []

    def work():
        try:
            with psycopg.ClientCursor(raw) as cursor:
                for sql, params in statements:
                    cursor.execute(sql, params)
        except BaseException as exc:  # re-raised in the batch's thread
            errors.append(exc)

    worker = threading.Thread(target=work, name=f"shipment-batch-{batch_id}")
    worker.start()
    reader = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        reader.set_autocommit(False)
        _write_rows(writer, columns, order_ids, batch_id=batch_id, total=total, using=reader)
    finally:
        worker.join()
        reader.close()
    if errors:
        raise errors[0]


def _shipments_statement(*, batch: ShipmentBatch, order_ids: list[int]) -> tuple[str, list]:
    """One active shipment per exported order, one statement."""
    return (
        """INSERT INTO logistics_shipment
               (order_id, batch_id, courier_id, active, waybill, status, status_at, place,
                created_at)
           SELECT unnest(%s::bigint[]), %s, %s, true, '', %s, NULL, '', %s""",
        [order_ids, batch.pk, batch.courier_id, ShipmentStatus.EXPORTED, timezone.now()],
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
    # Overlapping the database work with the file needs committed data for a second
    # connection: only when the batch's transaction is the outermost one (Celery, bench).
    overlap = connection.vendor == "postgresql" and not connection.in_atomic_block
    try:
        with transaction.atomic():
            candidates = exportable_orders(**filters)
            total = candidates.count()
            progress_set("batch", batch.pk, done=0, total=total, phase="export")
            # Not on another active shipment; cancelled, merged or sent back since the
            # filter ran: skipped, not in the file (the lock re-checks the status).
            ids_sql, ids_params = (
                candidates.exclude(shipments__active=True).values("id").query.sql_with_params()
            )
            moved = orders_lock_for_move(
                ids_sql=ids_sql,
                ids_params=list(ids_params),
                from_status=OrderStatus.SECOND_APPROVED,
            )
            exported, skipped = len(moved), total - len(moved)
            if exported == 0:
                raise DomainError(_("No orders were left to export (all taken or cancelled)."))
            check_move(
                from_status=OrderStatus.SECOND_APPROVED,
                to_status=OrderStatus.EXPORTED,
                actor=actor,
            )
            writer_class = _CsvWriter if suffix == "csv" else _XlsxWriter
            writer = writer_class(path, courier.name[:31])
            writer.append([header for header, _s, _f in columns])
            _move_and_write(
                statements=[
                    move_statement(
                        order_ids=moved,
                        from_status=OrderStatus.SECOND_APPROVED,
                        to_status=OrderStatus.EXPORTED,
                        actor=actor,
                        reason="",
                        note=batch.number,
                    ),
                    _shipments_statement(batch=batch, order_ids=moved),
                    # The deferred foreign-key checks of these rows run now, on the worker,
                    # instead of at commit after the file is written.
                    ("SET CONSTRAINTS ALL IMMEDIATE", []),
                    ("SET CONSTRAINTS ALL DEFERRED", []),
                ],
                writer=writer,
                columns=columns,
                order_ids=moved,
                batch_id=batch.pk,
                total=total,
                overlap=overlap,
            )
            after_moves(moved, OrderStatus.SECOND_APPROVED, OrderStatus.EXPORTED, actor)
            del moved
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
        orders_move_set(
            order_ids=order_ids,
            to_status=OrderStatus.SECOND_APPROVED,
            actor=actor,
            from_status=OrderStatus.EXPORTED,
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
