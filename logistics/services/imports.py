# ruff: noqa: S608 - the only interpolated name is the module constant TMP
"""Importing courier files: waybill numbers and delivery statuses.

The path for big files (100,000 rows) is set-based: rows are read with python-calamine (or
the csv module), checked one by one in Python, streamed with one ``COPY`` into a temporary
table, and matched and applied with a handful of ``UPDATE … FROM`` / ``INSERT … SELECT``
statements. Order statuses move only through ``order_transition``, one call per order
that actually changes.

* **Check (dry run)**: the same statements in a transaction that is rolled back; the
  counts (to change, unchanged, errors), the bad rows with their row numbers and reasons,
  and a copy of the sheet with an error column are kept on the import.
* **Apply**: all good rows of the file in one transaction (bad rows are skipped and
  listed); applying the same file again changes nothing, because a waybill already set
  and a tracking event already recorded count as "unchanged".
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics.choices import ORDER_STATUS_FOR, ImportKind, JobState, ShipmentStatus
from logistics.models import LogisticsImport
from logistics.progress import progress_clear, progress_set
from logistics.readers import (
    CellError,
    FileRefused,
    clean_datetime,
    clean_identifier,
    clean_text,
    file_type,
    normalize_text,
    open_sheet,
    raw_rows,
)
from logistics.services.moves import orders_move_set
from logistics.services.rules import status_mappings
from orders.choices import OrderStatus
from orders.services.workflow import TRANSITIONS
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record
from tvshop.errors import Conflict, DomainError, Forbidden

log = logging.getLogger(__name__)

IMPORT_PERM = "logistics.import_tracking"
RECONCILE_PERM = "logistics.reconcile_cod"
MAX_UPLOAD_BYTES = 50 * 1024 * 1024
ERRORS_KEPT = 1000
PROGRESS_EVERY = 5000
TMP = "logistics_import_rows"


def permission_for(kind: str) -> str:
    return RECONCILE_PERM if kind == ImportKind.REMITTANCE else IMPORT_PERM


# --- upload ---------------------------------------------------------------------------------
def logistics_import_upload(*, actor, kind: str, courier=None, upload) -> LogisticsImport:
    """Store an uploaded courier file and queue its check. Refuses (DomainError → 400) a
    file that is not .xlsx/.csv, is empty or too big, or has no recognisable header row."""
    if actor is None or not actor.has_perm(permission_for(kind)):
        raise Forbidden(_("You are not allowed to import this kind of file."))
    if kind not in ImportKind.values:
        raise DomainError(_("Unknown kind of import."), fields={"kind": [_("Choose a kind.")]})
    try:
        ftype = file_type(upload.name)
    except FileRefused as exc:
        raise DomainError(str(exc), fields={"file": [str(exc)]}, code="bad_file") from exc
    if upload.size == 0:
        raise DomainError(_("The file is empty."), fields={"file": [_("The file is empty.")]})
    if upload.size > MAX_UPLOAD_BYTES:
        message = _("The file is larger than 50 MB; split it.")
        raise DomainError(message, fields={"file": [message]})
    fd, path = tempfile.mkstemp(suffix="." + ftype)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as handle:
            for chunk in upload.chunks():
                digest.update(chunk)
                handle.write(chunk)
        try:
            sheet = open_sheet(path, kind=ftype, import_kind=kind)
        except FileRefused as exc:
            raise DomainError(str(exc), fields={"file": [str(exc)]}, code="bad_file") from exc
        with transaction.atomic():
            imp = LogisticsImport(
                kind=kind,
                courier=courier,
                file_name=Path(upload.name).name[:200],
                sha256=digest.hexdigest(),
                header_row=sheet.header_row,
                created_by=actor,
            )
            with open(path, "rb") as handle:
                imp.file.save(f"{digest.hexdigest()[:16]}.{ftype}", File(handle), save=False)
            imp.save()
            audit_record(
                actor=actor,
                action=AuditAction.CREATE,
                obj=imp,
                after={"kind": kind, "file": imp.file_name, "sha256": imp.sha256},
            )
            pk = imp.pk

            def enqueue():
                from logistics.tasks import logistics_import_check_task

                logistics_import_check_task.delay(pk)

            transaction.on_commit(enqueue)
    finally:
        if os.path.exists(path):
            os.unlink(path)
    return imp


# --- running --------------------------------------------------------------------------------
@dataclass
class Outcome:
    rows: int = 0
    to_change: int = 0
    unchanged: int = 0
    errors: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    orders_moved: int = 0

    @property
    def error_count(self) -> int:
        return len(self.errors)


def logistics_import_check(*, import_id: int) -> LogisticsImport:
    """The dry run: everything apply would do, rolled back; results kept on the import."""
    with transaction.atomic():
        imp = LogisticsImport.objects.select_for_update().get(pk=import_id)
        if imp.state not in (JobState.QUEUED, JobState.FAILED):
            return imp
        imp.state = JobState.RUNNING
        imp.save(update_fields=["state"])
    try:
        outcome = _run(imp, apply=False)
    except (FileRefused, DomainError) as exc:
        LogisticsImport.objects.filter(pk=import_id).update(
            state=JobState.FAILED, message=str(exc)[:500]
        )
        progress_clear("import", import_id)
        imp.refresh_from_db()
        return imp
    except Exception:
        LogisticsImport.objects.filter(pk=import_id).update(
            state=JobState.FAILED, message=_("The check failed; see the server log.")
        )
        log.exception("logistics import %s check failed", import_id)
        raise
    with transaction.atomic():
        imp.refresh_from_db()
        _store_outcome(imp, outcome)
        if outcome.errors:
            _store_error_file(imp, outcome.errors)
        imp.state = JobState.CHECKED
        imp.checked_at = timezone.now()
        imp.save()
    progress_set("import", imp.pk, done=outcome.rows, total=outcome.rows, phase="checked")
    return imp


def logistics_import_apply_start(*, actor, import_id: int) -> LogisticsImport:
    """Accept the checked file for applying (once) and queue the work."""
    with transaction.atomic():
        imp = LogisticsImport.objects.select_for_update().filter(pk=import_id).first()
        if imp is None:
            raise DomainError(_("Import not found."), code="not_found")
        if actor is None or not actor.has_perm(permission_for(imp.kind)):
            raise Forbidden(_("You are not allowed to import this kind of file."))
        if imp.state != JobState.CHECKED:
            raise Conflict(
                _("This file is “%(state)s”; only a checked file can be applied.")
                % {"state": imp.get_state_display()},
                code="not_checked",
            )
        imp.state = JobState.APPLYING
        imp.applied_by = actor
        imp.save(update_fields=["state", "applied_by"])
        pk = imp.pk

        def enqueue():
            from logistics.tasks import logistics_import_apply_task

            logistics_import_apply_task.delay(pk)

        transaction.on_commit(enqueue)
    return imp


def logistics_import_apply(*, import_id: int) -> LogisticsImport:
    """Apply an accepted file: all its good rows in one transaction, audited."""
    imp = LogisticsImport.objects.select_related("applied_by").get(pk=import_id)
    if imp.state != JobState.APPLYING:
        return imp
    try:
        with transaction.atomic():
            outcome = _run(imp, apply=True)
            imp.refresh_from_db()
            _store_outcome(imp, outcome)
            imp.changed = outcome.to_change
            imp.state = JobState.DONE
            imp.applied_at = timezone.now()
            imp.save()
            audit_record(
                actor=imp.applied_by,
                action=AuditAction.IMPORT,
                obj=imp,
                after={
                    "kind": imp.kind,
                    "file": imp.file_name,
                    "sha256": imp.sha256,
                    "rows": outcome.rows,
                    "changed": outcome.to_change,
                    "unchanged": outcome.unchanged,
                    "errors": outcome.error_count,
                    "orders_moved": outcome.orders_moved,
                },
            )
    except Exception as exc:
        message = str(exc) if isinstance(exc, DomainError | FileRefused) else ""
        LogisticsImport.objects.filter(pk=import_id).update(
            state=JobState.CHECKED,
            message=(message or _("Applying failed; nothing was changed."))[:500],
        )
        progress_clear("import", import_id)
        if not message:
            log.exception("logistics import %s apply failed", import_id)
            raise
        imp.refresh_from_db()
        return imp
    progress_set("import", imp.pk, done=outcome.rows, total=outcome.rows, phase="done")
    return imp


def _store_outcome(imp: LogisticsImport, outcome: Outcome) -> None:
    imp.rows = outcome.rows
    imp.to_change = outcome.to_change
    imp.unchanged = outcome.unchanged
    imp.error_count = outcome.error_count
    imp.orders_moved = outcome.orders_moved
    errors = [{"row": row, "reason": reason} for row, reason in sorted(outcome.errors.items())]
    imp.errors = [{"row": None, "reason": note} for note in outcome.notes] + errors[:ERRORS_KEPT]
    imp.message = ""


def _run(imp: LogisticsImport, *, apply: bool) -> Outcome:
    path = imp.file.path
    ftype = file_type(imp.file.name)
    if imp.kind == ImportKind.REMITTANCE:
        from logistics.services.remittance import remittance_run

        return remittance_run(imp, path=path, ftype=ftype, apply=apply)
    sheet = open_sheet(path, kind=ftype, import_kind=imp.kind)
    if apply:
        return _run_tracking(imp, sheet, apply=True)
    # The dry run: do it all, then roll back.
    with transaction.atomic():
        outcome = _run_tracking(imp, sheet, apply=False)
        transaction.set_rollback(True)
    return outcome


# --- tracking rows --------------------------------------------------------------------------
COLUMNS = (
    "row_no integer, order_number text, waybill text, status text, raw_status text, "
    "at timestamptz, has_time boolean, place text, remark text, "
    "shipment_id bigint, order_id bigint, courier_id bigint, action text, err text, detail text"
)
COPY_FIELDS = (
    "row_no",
    "order_number",
    "waybill",
    "status",
    "raw_status",
    "at",
    "has_time",
    "place",
    "remark",
)


def _rows_for_copy(imp: LogisticsImport, sheet, outcome: Outcome, mappings: dict[str, str]):
    # No queries in here: the rows are produced while the connection is in COPY mode.
    uploaded = imp.created_at
    label_order, label_waybill = _("Order number"), _("Waybill number")
    # Courier files repeat a few status texts and many times: each distinct cell is
    # normalised and parsed once.
    statuses: dict[str, str | None] = {}
    times: dict[object, object] = {}
    for number, cells in sheet.records():
        outcome.rows += 1
        if outcome.rows % PROGRESS_EVERY == 0:
            progress_set("import", imp.pk, done=outcome.rows, total=None, phase="read")
        try:
            order_number = clean_identifier(cells.get("order_number"), label=label_order)
            waybill = clean_identifier(cells.get("waybill"), label=label_waybill)
            status = raw = ""
            at, has_time = uploaded, False
            if imp.kind == ImportKind.WAYBILL:
                if not order_number:
                    raise CellError(_("Order number is empty."))
                if not waybill:
                    raise CellError(_("Waybill number is empty."))
            else:
                if not order_number and not waybill:
                    raise CellError(_("Neither a waybill nor an order number."))
                raw = clean_text(cells.get("status"), 60)
                if not raw:
                    raise CellError(_("Status is empty."))
                status = statuses.get(raw, "")
                if status == "":
                    status = statuses[raw] = mappings.get(normalize_text(raw))
                if status is None:
                    raise CellError(
                        _(
                            "Unknown courier status “%(status)s”: an administrator can add "
                            "it to the courier status mappings."
                        )
                        % {"status": raw}
                    )
                cell = cells.get("time")
                if cell not in (None, ""):
                    at = times.get(cell) if type(cell) is str else None
                    if at is None:
                        at = clean_datetime(cell)
                        if type(cell) is str and len(times) < 200_000:
                            times[cell] = at
                    has_time = True
        except CellError as exc:
            outcome.errors[number] = str(exc)
            continue
        yield (
            number,
            order_number,
            waybill,
            status,
            raw,
            at,
            has_time,
            clean_text(cells.get("place"), 100),
            clean_text(cells.get("remark"), 300),
        )


def _copy_rows(cursor, rows) -> None:
    if connection.vendor == "postgresql":
        fields = ", ".join(COPY_FIELDS)
        with cursor.cursor.copy(f"COPY {TMP} ({fields}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join(["%s"] * len(COPY_FIELDS))
    batch = []
    sql = f"INSERT INTO {TMP} ({', '.join(COPY_FIELDS)}) VALUES ({placeholders})"
    for row in rows:
        row = list(row)
        row[5] = row[5].astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ")
        batch.append(row)
        if len(batch) >= 2000:
            cursor.executemany(sql, batch)
            batch = []
    if batch:
        cursor.executemany(sql, batch)


def _run_tracking(imp: LogisticsImport, sheet, *, apply: bool) -> Outcome:
    outcome = Outcome()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {TMP}")
        cursor.execute(f"CREATE TEMPORARY TABLE {TMP} ({COLUMNS})")
        mappings = status_mappings(imp.courier_id) if imp.kind == ImportKind.STATUS else {}
        _copy_rows(cursor, _rows_for_copy(imp, sheet, outcome, mappings))
        if connection.vendor == "postgresql":
            cursor.execute(f"CREATE INDEX ON {TMP} (shipment_id)")
            cursor.execute(f"ANALYZE {TMP}")
        progress_set("import", imp.pk, done=outcome.rows, total=outcome.rows, phase="match")
        _match(cursor, imp)
        if imp.kind == ImportKind.WAYBILL:
            _classify_waybills(cursor)
        else:
            _classify_statuses(cursor)
        cursor.execute(f"SELECT row_no, err, detail FROM {TMP} WHERE err IS NOT NULL")
        for row_no, err, detail in cursor.fetchall():
            outcome.errors[row_no] = _error_text(err, detail)
        cursor.execute(f"SELECT action, COUNT(*) FROM {TMP} WHERE err IS NULL GROUP BY action")
        counts = dict(cursor.fetchall())
        outcome.to_change = counts.get("change", 0)
        outcome.unchanged = counts.get("same", 0)
        if imp.kind == ImportKind.WAYBILL:
            _apply_waybills(cursor, imp, outcome, apply=apply)
        else:
            _apply_statuses(cursor, imp, outcome, apply=apply)
        cursor.execute(f"DROP TABLE IF EXISTS {TMP}")
    return outcome


def _match(cursor, imp: LogisticsImport) -> None:
    # Our order by number (known at all?), then its active shipment; by waybill first
    # where the file has one.
    cursor.execute(
        f"""UPDATE {TMP} SET order_id = o.id FROM orders_order o
            WHERE {TMP}.order_number <> '' AND o.number = {TMP}.order_number"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET shipment_id = s.id, order_id = s.order_id, courier_id = s.courier_id
            FROM logistics_shipment s
            WHERE {TMP}.waybill <> '' AND s.active AND s.waybill = {TMP}.waybill
              AND %s IN ('status', 'remittance')""",
        [imp.kind],
    )
    cursor.execute(
        f"""UPDATE {TMP} SET shipment_id = s.id, courier_id = s.courier_id
            FROM logistics_shipment s
            WHERE {TMP}.shipment_id IS NULL AND {TMP}.order_id IS NOT NULL
              AND s.active AND s.order_id = {TMP}.order_id"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET err = 'unknown_order', detail = order_number
            WHERE order_id IS NULL AND order_number <> ''"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET err = 'unknown_waybill', detail = waybill
            WHERE err IS NULL AND order_id IS NULL"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET err = 'not_exported', detail = order_number
            WHERE err IS NULL AND shipment_id IS NULL"""
    )
    if imp.courier_id:
        cursor.execute(
            f"UPDATE {TMP} SET err = 'other_courier' WHERE err IS NULL AND courier_id <> %s",
            [imp.courier_id],
        )


def _classify_waybills(cursor) -> None:
    # The same order twice in the file: same waybill → the later rows are duplicates
    # (unchanged); another waybill → error on the later rows.
    cursor.execute(
        f"""UPDATE {TMP} SET err = 'conflicting_rows', detail = first.waybill
            FROM (SELECT shipment_id, MIN(row_no) AS row_no FROM {TMP}
                  WHERE err IS NULL GROUP BY shipment_id) f
            JOIN {TMP} first ON first.row_no = f.row_no
            WHERE {TMP}.err IS NULL AND {TMP}.shipment_id = f.shipment_id
              AND {TMP}.row_no > f.row_no AND {TMP}.waybill <> first.waybill"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET action = 'same'
            FROM (SELECT shipment_id, MIN(row_no) AS row_no FROM {TMP}
                  WHERE err IS NULL GROUP BY shipment_id) f
            WHERE {TMP}.err IS NULL AND {TMP}.shipment_id = f.shipment_id
              AND {TMP}.row_no > f.row_no"""
    )
    # One waybill for two orders in the file.
    cursor.execute(
        f"""UPDATE {TMP} SET err = 'waybill_twice', detail = {TMP}.waybill
            FROM (SELECT waybill, MIN(row_no) AS row_no FROM {TMP}
                  WHERE err IS NULL GROUP BY waybill) f
            JOIN {TMP} first ON first.row_no = f.row_no
            WHERE {TMP}.err IS NULL AND {TMP}.waybill = f.waybill
              AND {TMP}.shipment_id <> first.shipment_id"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET action = 'same' FROM logistics_shipment s
            WHERE {TMP}.err IS NULL AND {TMP}.action IS NULL AND s.id = {TMP}.shipment_id
              AND s.waybill = {TMP}.waybill"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET err = 'has_waybill', detail = s.waybill FROM logistics_shipment s
            WHERE {TMP}.err IS NULL AND {TMP}.action IS NULL AND s.id = {TMP}.shipment_id
              AND s.waybill <> ''"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET err = 'waybill_taken', detail = o.number
            FROM logistics_shipment s JOIN orders_order o ON o.id = s.order_id
            WHERE {TMP}.err IS NULL AND {TMP}.action IS NULL AND s.active
              AND s.courier_id = {TMP}.courier_id AND s.waybill = {TMP}.waybill
              AND s.id <> {TMP}.shipment_id"""
    )
    cursor.execute(f"UPDATE {TMP} SET action = 'change' WHERE err IS NULL AND action IS NULL")


def _classify_statuses(cursor) -> None:
    # Duplicate rows in the file (same shipment, time and courier text): the later ones
    # change nothing. Rows without a time count as the same event as any earlier one of
    # the same text.
    cursor.execute(
        f"""UPDATE {TMP} SET action = 'same'
            FROM (SELECT shipment_id, raw_status, at, has_time, MIN(row_no) AS row_no
                  FROM {TMP} WHERE err IS NULL
                  GROUP BY shipment_id, raw_status, at, has_time) f
            WHERE {TMP}.err IS NULL AND {TMP}.shipment_id = f.shipment_id
              AND {TMP}.raw_status = f.raw_status AND {TMP}.at = f.at
              AND {TMP}.has_time = f.has_time AND {TMP}.row_no > f.row_no"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET action = 'same' FROM logistics_trackingevent e
            WHERE {TMP}.err IS NULL AND {TMP}.action IS NULL
              AND e.shipment_id = {TMP}.shipment_id AND e.raw_status = {TMP}.raw_status
              AND (e.at = {TMP}.at OR NOT {TMP}.has_time)"""
    )
    cursor.execute(
        f"""UPDATE {TMP} SET action = 'same'
            FROM (SELECT shipment_id, raw_status, MIN(row_no) AS row_no FROM {TMP}
                  WHERE err IS NULL AND action IS NULL AND NOT has_time
                  GROUP BY shipment_id, raw_status) f
            WHERE {TMP}.err IS NULL AND {TMP}.action IS NULL AND NOT {TMP}.has_time
              AND {TMP}.shipment_id = f.shipment_id AND {TMP}.raw_status = f.raw_status
              AND {TMP}.row_no > f.row_no"""
    )
    cursor.execute(f"UPDATE {TMP} SET action = 'change' WHERE err IS NULL AND action IS NULL")


_RANK = {
    OrderStatus.EXPORTED: 0,
    OrderStatus.SHIPPED: 1,
    OrderStatus.DELIVERED: 2,
    OrderStatus.REFUSED: 2,
}


def _order_moves(rows) -> tuple[list[tuple[int, str, str, str]], list[str]]:
    """(order id, number, from, to) for orders whose courier status moves them on, and
    notes for orders it cannot move (delivered but now reported refused …)."""
    moves, notes = [], []
    for order_id, number, current, status in rows:
        target = ORDER_STATUS_FOR.get(status)
        if target is None or current == target or current not in _RANK:
            continue
        if _RANK[target] < _RANK[current]:
            continue  # an older step of the journey; the order is already further on
        if (current, target) not in TRANSITIONS:
            notes.append(
                _("Order %(number)s is “%(from)s”; the courier's “%(to)s” does not move it.")
                % {
                    "number": number,
                    "from": OrderStatus(current).label,
                    "to": OrderStatus(target).label,
                }
            )
            continue
        moves.append((order_id, number, current, target))
    return moves, notes


def _apply_waybills(cursor, imp: LogisticsImport, outcome: Outcome, *, apply: bool) -> None:
    cursor.execute(
        f"""UPDATE logistics_shipment SET waybill = t.waybill,
                status = CASE WHEN logistics_shipment.status = %s THEN %s
                              ELSE logistics_shipment.status END
            FROM {TMP} t WHERE t.action = 'change' AND t.err IS NULL
              AND logistics_shipment.id = t.shipment_id""",
        [ShipmentStatus.EXPORTED, ShipmentStatus.WAYBILL],
    )
    # A waybill means the courier has the parcel: exported orders become shipped.
    cursor.execute(
        f"""SELECT DISTINCT o.id, o.number, o.status FROM {TMP} t
            JOIN orders_order o ON o.id = t.order_id
            WHERE t.action = 'change' AND t.err IS NULL AND o.status = %s""",
        [OrderStatus.EXPORTED],
    )
    ids = [(oid, number) for oid, number, _s in cursor.fetchall()]
    outcome.orders_moved = len(ids)
    if apply:
        _move(imp, [(oid, n, OrderStatus.EXPORTED, OrderStatus.SHIPPED) for oid, n in ids])


def _apply_statuses(cursor, imp: LogisticsImport, outcome: Outcome, *, apply: bool) -> None:
    if not apply:
        # The dry run writes nothing: each changed shipment's latest status is the latest of
        # its recorded events and the file's new ones (new after recorded at the same time,
        # later rows after earlier ones: the order the apply's inserts give them).
        cursor.execute(
            f"""SELECT o.id, o.number, o.status, latest.status FROM (
                    SELECT DISTINCT ON (shipment_id) shipment_id, status FROM (
                        SELECT e.shipment_id, e.status, e.at, 0 AS src, e.id AS k
                        FROM logistics_trackingevent e
                        WHERE e.shipment_id IN (SELECT shipment_id FROM {TMP}
                                                WHERE action = 'change' AND err IS NULL)
                        UNION ALL
                        SELECT shipment_id, status, at, 1, row_no FROM {TMP}
                        WHERE action = 'change' AND err IS NULL) x
                    ORDER BY shipment_id, at DESC, src DESC, k DESC) latest
                JOIN logistics_shipment s ON s.id = latest.shipment_id
                JOIN orders_order o ON o.id = s.order_id
                ORDER BY o.id"""
        )
        outcome.orders_moved, outcome.notes = 0, []
        moves, notes = _order_moves(cursor.fetchall())
        outcome.orders_moved = len(moves)
        outcome.notes = notes
        return
    cursor.execute(
        f"""INSERT INTO logistics_trackingevent
                (shipment_id, status, raw_status, at, place, remark, source_id)
            SELECT shipment_id, status, raw_status, at, place, remark, %s
            FROM {TMP} WHERE action = 'change' AND err IS NULL""",
        [imp.pk],
    )
    cursor.execute(
        f"""UPDATE logistics_shipment SET status = e.status, status_at = e.at, place = e.place
            FROM (SELECT shipment_id, status, at, place, ROW_NUMBER() OVER (
                    PARTITION BY shipment_id ORDER BY at DESC, id DESC) AS rn
                  FROM logistics_trackingevent WHERE shipment_id IN (
                    SELECT shipment_id FROM {TMP} WHERE action = 'change' AND err IS NULL)) e
            WHERE e.rn = 1 AND logistics_shipment.id = e.shipment_id"""
    )
    cursor.execute(
        f"""SELECT o.id, o.number, o.status, s.status FROM logistics_shipment s
            JOIN orders_order o ON o.id = s.order_id
            WHERE s.id IN (SELECT shipment_id FROM {TMP} WHERE action = 'change' AND err IS NULL)
            ORDER BY o.id"""
    )
    moves, notes = _order_moves(cursor.fetchall())
    outcome.orders_moved = len(moves)
    outcome.notes = notes
    if apply:
        _move(imp, moves)


def _move(imp: LogisticsImport, moves) -> None:
    """Order statuses, set-based per (from, to) pair: one locking select and one statement
    that moves the orders and writes their status changes and audit entries
    (``logistics.services.moves``; the permission was checked when the clerk applied)."""
    actor = imp.applied_by
    groups: dict[tuple[str, str], list[int]] = {}
    for order_id, _number, current, target in moves:
        groups.setdefault((current, target), []).append(order_id)
    done = 0
    for (current, target), order_ids in groups.items():
        orders_move_set(
            order_ids=order_ids,
            to_status=target,
            actor=actor,
            from_status=current,
            note=_("Courier file %(file)s") % {"file": imp.file_name},
            system=True,
        )
        done += len(order_ids)
        progress_set("import", imp.pk, done=done, total=len(moves), phase="orders")


def _error_text(err: str, detail: str | None) -> str:
    detail = detail or ""
    texts = {
        "unknown_order": _("Unknown order %(v)s."),
        "unknown_waybill": _("Unknown waybill %(v)s."),
        "not_exported": _("Order %(v)s has not been exported to a courier."),
        "other_courier": _("The order was exported to another courier."),
        "conflicting_rows": _("The same order appears above with another waybill (%(v)s)."),
        "waybill_twice": _("Waybill %(v)s is given to two orders in this file."),
        "has_waybill": _("The order already has waybill %(v)s."),
        "waybill_taken": _("Waybill is already used by order %(v)s."),
    }
    return texts.get(err, err) % {"v": detail}


# --- error file -----------------------------------------------------------------------------
def _store_error_file(imp: LogisticsImport, errors: dict[int, str]) -> None:
    """The uploaded sheet as it was, with an error column added after the last column."""
    ftype = file_type(imp.file.name)
    path = imp.file.path
    header_row = imp.header_row or 1
    fd, out_path = tempfile.mkstemp(suffix="." + ftype)
    os.close(fd)
    try:
        if ftype == "xlsx":
            from openpyxl import Workbook

            from logistics.readers import neutralize

            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet("Sheet1")
            width = 0
            for number, cells in raw_rows(path, ftype):
                cells = [neutralize(c) if isinstance(c, str) else c for c in cells]
                width = max(width, len(cells))
                extra = _("Error") if number == header_row else errors.get(number, "")
                sheet.append([*cells, *([""] * (width - len(cells))), extra])
            workbook.save(out_path)
        else:
            import csv

            from logistics.readers import neutralize

            with open(out_path, "w", encoding="utf-8-sig", newline="") as handle:
                writer = csv.writer(handle)
                for number, cells in raw_rows(path, ftype):
                    extra = _("Error") if number == header_row else errors.get(number, "")
                    writer.writerow([*(neutralize(c) for c in cells), extra])
        with open(out_path, "rb") as handle:
            stem = Path(imp.file_name).stem
            imp.error_file.save(f"{stem}-errors.{ftype}", File(handle), save=False)
    finally:
        if os.path.exists(out_path):
            os.unlink(out_path)
