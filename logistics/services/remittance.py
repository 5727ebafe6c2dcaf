"""COD reconciliation (财务结算): a courier's remittance file against the COD expected.

Each line is matched to an order (by waybill, else by our order number) and classified:
matched, short, over, duplicate waybill, unknown, refused but charged; orders the courier
delivered but did not remit appear as "missing" lines. The check stores the lines (the
report) and creates nothing; applying records one COD payment per matched/short/over line
through ``orders.services.payments.payment_record`` (reference ``<courier>:<waybill>``,
unique per method, so the same file applied again records nothing new).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone
from django.utils.translation import gettext as _

from logistics.choices import RemittanceResult as R
from logistics.models import LogisticsImport, RemittanceLine, Shipment
from logistics.readers import (
    CellError,
    clean_amount,
    clean_date,
    clean_identifier,
    clean_text,
    open_sheet,
)
from orders.choices import OrderStatus, PaymentChannel, PaymentMethod
from orders.models import Order, Payment
from orders.services.payments import payment_record
from tvshop.errors import DomainError

ZERO = Decimal("0.00")
PAYABLE = {R.MATCHED, R.SHORT, R.OVER}
ERRORS = {R.UNKNOWN, R.DUPLICATE, R.REFUSED_CHARGED, R.INVALID}


def _reference(courier_code: str, key: str) -> str:
    return f"{courier_code}:{key}"[:100]


def remittance_run(imp: LogisticsImport, *, path: str, ftype: str, apply: bool):
    from logistics.services.imports import Outcome

    sheet = open_sheet(path, kind=ftype, import_kind="remittance")
    outcome = Outcome()
    parsed: list[dict] = []
    for number, cells in sheet.records():
        outcome.rows += 1
        line = {"row": number}
        try:
            line["waybill"] = clean_identifier(cells.get("waybill"), label=_("Waybill number"))
            line["order_number"] = clean_identifier(
                cells.get("order_number"), label=_("Order number")
            )
            if not line["waybill"] and not line["order_number"]:
                raise CellError(_("Neither a waybill nor an order number."))
            line["collected"] = clean_amount(cells.get("collected"), label=_("Collected"))
            fee = cells.get("fee")
            line["fee"] = clean_amount(fee, label=_("Fee")) if fee not in (None, "") else ZERO
            line["remitted_on"] = clean_date(cells.get("remitted_on"))
            line["courier_batch"] = clean_text(cells.get("courier_batch"), 60)
        except CellError as exc:
            line.update(result=R.INVALID, reason=str(exc))
        parsed.append(line)

    shipments = Shipment.objects.filter(active=True).select_related("order", "courier")
    if imp.courier_id:
        shipments = shipments.filter(courier_id=imp.courier_id)
    waybills = {line.get("waybill") for line in parsed if line.get("waybill")}
    by_waybill = {s.waybill: s for s in shipments.filter(waybill__in=waybills)}
    numbers = {line.get("order_number") for line in parsed if line.get("order_number")}
    by_number = {s.order.number: s for s in shipments.filter(order__number__in=numbers)}

    with transaction.atomic():
        RemittanceLine.objects.filter(source=imp).delete()
        seen: dict[int, int] = {}
        lines: list[RemittanceLine] = []
        for item in parsed:
            line = RemittanceLine(
                source=imp,
                row=item["row"],
                waybill=item.get("waybill", ""),
                order_number=item.get("order_number", ""),
                collected=item.get("collected"),
                fee=item.get("fee", ZERO),
                remitted_on=item.get("remitted_on"),
                courier_batch=item.get("courier_batch", ""),
                result=item.get("result", ""),
                reason=item.get("reason", ""),
            )
            lines.append(line)
            if line.result == R.INVALID:
                outcome.errors[line.row] = line.reason
                continue
            shipment = by_waybill.get(line.waybill) or by_number.get(line.order_number)
            if shipment is None:
                line.result = R.UNKNOWN
                line.reason = _("No shipment with this waybill or order number.")
                outcome.errors[line.row] = line.reason
                continue
            order = shipment.order
            line.order = order
            line.waybill = line.waybill or shipment.waybill
            line.order_number = order.number
            line.expected = order.cod_amount if order.payment_method == PaymentMethod.COD else ZERO
            line.difference = line.collected - line.expected
            if order.pk in seen:
                line.result = R.DUPLICATE
                line.reason = _("Order %(number)s is already on row %(row)s.") % {
                    "number": order.number,
                    "row": seen[order.pk],
                }
                outcome.errors[line.row] = line.reason
                continue
            seen[order.pk] = line.row
            if order.status in (OrderStatus.REFUSED, OrderStatus.RETURNED) and line.collected > 0:
                line.result = R.REFUSED_CHARGED
                line.reason = _("The customer refused order %(number)s, yet cash is remitted.") % {
                    "number": order.number
                }
                outcome.errors[line.row] = line.reason
                continue
            if line.difference == 0:
                line.result = R.MATCHED
            elif line.difference < 0:
                line.result = R.SHORT
                line.reason = _("%(amount)s less than the COD amount.") % {
                    "amount": -line.difference
                }
            else:
                line.result = R.OVER
                line.reason = _("%(amount)s more than the COD amount.") % {
                    "amount": line.difference
                }
            reference = _reference(shipment.courier.code, line.waybill or order.number)
            existing = Payment.objects.filter(
                channel=PaymentChannel.COD, reference=reference
            ).first()
            if existing is not None:
                line.payment = existing
                outcome.unchanged += 1
                continue
            if line.collected <= 0:
                outcome.unchanged += 1
                continue
            outcome.to_change += 1
            if apply:
                line.payment = _record(imp, order, line, reference, shipment.courier.name)
        lines.extend(_missing_lines(imp, seen, lines))
        missing = sum(1 for line in lines if line.result == R.MISSING)
        if missing:
            outcome.notes.append(
                _("%(count)s delivered COD orders of this courier are not in the file.")
                % {"count": missing}
            )
        RemittanceLine.objects.bulk_create(lines, batch_size=2000)
    return outcome


def _record(imp: LogisticsImport, order: Order, line: RemittanceLine, reference: str, payer: str):
    amount = min(line.collected, order.total - order.paid_amount)
    if amount <= 0:
        return None
    paid_at = timezone.now()
    if line.remitted_on:
        start = timezone.make_aware(dt.datetime.combine(line.remitted_on, dt.time()))
        paid_at = min(start, paid_at)
    note = _("COD remittance %(file)s, fee %(fee)s%(batch)s") % {
        "file": imp.file_name,
        "fee": line.fee,
        "batch": f", {line.courier_batch}" if line.courier_batch else "",
    }
    try:
        return payment_record(
            order=order,
            payer=payer[:100],
            channel=PaymentChannel.COD,
            amount=amount,
            paid_at=paid_at,
            reference=reference,
            note=note[:300],
            actor=imp.applied_by,
        )
    except DomainError as exc:
        line.reason = (line.reason + " " + exc.message).strip()[:300]
        return None


def _missing_lines(imp: LogisticsImport, seen: dict[int, int], lines) -> list[RemittanceLine]:
    """Delivered COD orders of the file's courier with no COD payment and not in the file."""
    courier_ids = {imp.courier_id} if imp.courier_id else set()
    if not courier_ids:
        courier_ids = {
            line.order.courier_id
            for line in lines
            if line.order is not None and line.order.courier_id
        }
    if not courier_ids:
        return []
    paid = Payment.objects.filter(order=OuterRef("pk"), channel=PaymentChannel.COD)
    orders = (
        Order.objects.filter(
            courier_id__in=courier_ids,
            status=OrderStatus.DELIVERED,
            payment_method=PaymentMethod.COD,
            cod_amount__gt=0,
        )
        .exclude(pk__in=seen.keys())
        .filter(~Exists(paid))
        .only("id", "number", "cod_amount")
        .order_by("id")
    )
    return [
        RemittanceLine(
            source=imp,
            order=order,
            order_number=order.number,
            expected=order.cod_amount,
            difference=-order.cod_amount,
            result=R.MISSING,
            reason=_("Delivered, not remitted."),
        )
        for order in orders.iterator(chunk_size=2000)
    ]


def remittance_summary(imp: LogisticsImport) -> dict:
    from django.db.models import Count, Sum

    rows = (
        RemittanceLine.objects.filter(source=imp)
        .values("result")
        .annotate(n=Count("id"), collected=Sum("collected"), difference=Sum("difference"))
        .order_by("result")
    )
    return {r["result"]: r for r in rows}
