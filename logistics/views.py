"""Logistics pages: shipping export with batches, courier file imports (dry run, apply),
COD reconciliation report, tracking query and statistics. Permissions on every view;
writes go through ``logistics.services``."""

from __future__ import annotations

import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.masking import phone_for_user
from logistics import selectors
from logistics.choices import ImportKind, JobState, RemittanceResult
from logistics.forms import ExportForm, ImportForm, ReissueForm, TrackingSearchForm
from logistics.models import LogisticsImport, RemittanceLine, ShipmentBatch
from logistics.progress import progress_get
from logistics.readers import neutralize
from logistics.services import exports, imports
from tvshop.errors import DomainError, Forbidden

RUNNING = (JobState.QUEUED, JobState.RUNNING, JobState.APPLYING)


def _paginate(request, queryset, per_page=25):
    from django.core.paginator import Paginator

    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def _domain_status(exc: DomainError) -> int:
    return getattr(exc, "status", 400)


# --- export ---------------------------------------------------------------------------------
@login_required
@permission_required("logistics.view_shipmentbatch", raise_exception=True)
def batch_list(request):
    form = ExportForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if not request.user.has_perm(exports.EXPORT_PERM):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            try:
                batches = exports.shipment_export_start(
                    actor=request.user,
                    courier=data["courier"],
                    province_id=data["province"].pk if data["province"] else None,
                    station_id=data["station"].pk if data["station"] else None,
                    date_from=data["date_from"],
                    date_to=data["date_to"],
                    file_format=data["file_format"] or None,
                )
            except DomainError as exc:
                exc.add_to_form(form)
                status = _domain_status(exc)
            else:
                messages.success(
                    request,
                    _("%(count)s shipping batch(es) started.") % {"count": len(batches)},
                )
                return redirect("logistics:batch_list")
        else:
            status = 400
    page = _paginate(request, selectors.batch_list())
    return render(
        request,
        "logistics/batch_list.html",
        {"form": form, "page_obj": page, "object_list": page.object_list, "running": RUNNING},
        status=status,
    )


@login_required
@permission_required("logistics.view_shipmentbatch", raise_exception=True)
@require_GET
def batch_progress(request, pk: int):
    batch = get_object_or_404(ShipmentBatch, pk=pk)
    response = render(
        request,
        "logistics/_progress.html",
        {
            "job": batch,
            "progress": progress_get("batch", pk),
            "url": request.path,
            "running": batch.state in RUNNING,
        },
    )
    if batch.state not in RUNNING:
        response["HX-Refresh"] = "true"
    return response


@login_required
@permission_required("logistics.view_shipmentbatch", raise_exception=True)
@require_GET
def batch_download(request, pk: int):
    batch = get_object_or_404(ShipmentBatch, pk=pk)
    if not batch.file:
        raise Http404(_("This batch has no file."))
    return FileResponse(batch.file.open("rb"), as_attachment=True, filename=batch.file_name)


@login_required
@permission_required("logistics.export_shipment", raise_exception=True)
@require_POST
def batch_reissue(request, pk: int):
    batch = get_object_or_404(ShipmentBatch, pk=pk)
    form = ReissueForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give a reason."))
        return redirect("logistics:batch_list")
    try:
        exports.shipment_batch_reissue(
            actor=request.user, batch_id=batch.pk, reason=form.cleaned_data["reason"]
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        response = redirect("logistics:batch_list")
        return response
    messages.success(request, _("Batch %(number)s re-issued.") % {"number": batch.number})
    return redirect("logistics:batch_list")


# --- imports --------------------------------------------------------------------------------
@login_required
@permission_required("logistics.view_logisticsimport", raise_exception=True)
def import_list(request):
    form = ImportForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        kind = request.POST.get("kind", "")
        if not request.user.has_perm(imports.permission_for(kind)):
            raise PermissionDenied
        if form.is_valid():
            try:
                imp = imports.logistics_import_upload(
                    actor=request.user,
                    kind=form.cleaned_data["kind"],
                    courier=form.cleaned_data["courier"],
                    upload=form.cleaned_data["file"],
                )
            except Forbidden as exc:
                raise PermissionDenied(exc.message) from exc
            except DomainError as exc:
                exc.add_to_form(form)
                status = _domain_status(exc)
            else:
                return redirect("logistics:import_detail", pk=imp.pk)
        else:
            status = 400
    page = _paginate(request, selectors.import_list())
    return render(
        request,
        "logistics/import_list.html",
        {"form": form, "page_obj": page, "object_list": page.object_list},
        status=status,
    )


def _remittance_context(imp: LogisticsImport) -> dict:
    if imp.kind != ImportKind.REMITTANCE:
        return {}
    from logistics.services.remittance import remittance_summary

    lines = (
        RemittanceLine.objects.filter(source=imp)
        .exclude(result=RemittanceResult.MATCHED)
        .select_related("payment")
        .order_by("row", "id")[:500]
    )
    summary = remittance_summary(imp)
    return {
        "lines": lines,
        "summary": [
            (RemittanceResult(code).label, summary[code])
            for code in RemittanceResult.values
            if code in summary
        ],
    }


@login_required
@permission_required("logistics.view_logisticsimport", raise_exception=True)
def import_detail(request, pk: int):
    imp = get_object_or_404(LogisticsImport.objects.select_related("courier", "created_by"), pk=pk)
    return render(
        request,
        "logistics/import_detail.html",
        {
            "imp": imp,
            "running": imp.state in RUNNING,
            "progress": progress_get("import", pk),
            "can_apply": imp.state == JobState.CHECKED
            and request.user.has_perm(imports.permission_for(imp.kind)),
            **_remittance_context(imp),
        },
    )


@login_required
@permission_required("logistics.view_logisticsimport", raise_exception=True)
@require_GET
def import_progress(request, pk: int):
    imp = get_object_or_404(LogisticsImport, pk=pk)
    response = render(
        request,
        "logistics/_progress.html",
        {
            "job": imp,
            "progress": progress_get("import", pk),
            "url": request.path,
            "running": imp.state in RUNNING,
        },
    )
    if imp.state not in RUNNING:
        response["HX-Refresh"] = "true"
    return response


@login_required
@permission_required("logistics.view_logisticsimport", raise_exception=True)
@require_POST
def import_apply(request, pk: int):
    imp = get_object_or_404(LogisticsImport, pk=pk)
    try:
        imports.logistics_import_apply_start(actor=request.user, import_id=imp.pk)
    except Forbidden as exc:
        raise PermissionDenied(exc.message) from exc
    except DomainError as exc:
        messages.error(request, exc.message)
        return HttpResponse(exc.message, status=_domain_status(exc))
    return redirect("logistics:import_detail", pk=imp.pk)


@login_required
@permission_required("logistics.view_logisticsimport", raise_exception=True)
@require_GET
def import_errors(request, pk: int):
    imp = get_object_or_404(LogisticsImport, pk=pk)
    if not imp.error_file:
        raise Http404(_("This file had no bad rows."))
    name = imp.error_file.name.rsplit("/", 1)[-1]
    return FileResponse(imp.error_file.open("rb"), as_attachment=True, filename=name)


@login_required
@permission_required("logistics.view_remittanceline", raise_exception=True)
@require_GET
def remittance_report(request, pk: int):
    """The reconciliation as .xlsx: every line with its result and difference."""
    from openpyxl import Workbook

    from tvshop.audit.models import AuditAction
    from tvshop.audit.services import audit_record

    imp = get_object_or_404(LogisticsImport, pk=pk, kind=ImportKind.REMITTANCE)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Reconciliation")[:31])
    sheet.append(
        [
            _("Row"),
            _("Waybill number"),
            _("Order number"),
            _("Collected"),
            _("Fee"),
            _("Expected"),
            _("Difference"),
            _("Remitted on"),
            _("Result"),
            _("Reason"),
            _("Payment record"),
        ]
    )
    lines = RemittanceLine.objects.filter(source=imp).order_by("row", "id")
    count = 0
    for line in lines.iterator(chunk_size=2000):
        count += 1
        sheet.append(
            [
                line.row,
                neutralize(line.waybill),
                neutralize(line.order_number),
                line.collected,
                line.fee,
                line.expected,
                line.difference,
                line.remitted_on,
                str(line.get_result_display()),
                neutralize(line.reason),
                line.payment_id,
            ]
        )
    out = io.BytesIO()
    workbook.save(out)
    audit_record(
        actor=request.user,
        action=AuditAction.EXPORT,
        obj=imp,
        after={"report": "reconciliation", "lines": count},
    )
    response = HttpResponse(
        out.getvalue(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{imp.pk}.xlsx"'
    return response


# --- query and statistics -------------------------------------------------------------------
@login_required
@permission_required("logistics.view_shipment", raise_exception=True)
@require_GET
def tracking(request):
    form = TrackingSearchForm(request.GET or None)
    shipments = []
    if form.is_valid():
        shipments = selectors.tracking_search(form.cleaned_data["q"])
        for shipment in shipments:
            shipment.phone_shown = phone_for_user(shipment.order.phone, request.user)
    return render(request, "logistics/tracking.html", {"form": form, "shipments": shipments})


@login_required
@permission_required("logistics.view_logistics_report", raise_exception=True)
@require_GET
def statistics(request):
    return render(
        request,
        "logistics/statistics.html",
        {
            "counts": selectors.counts_by_courier_and_status(),
            "rates": selectors.rates_by_courier_and_province(),
        },
    )
