"""Statistics pages (媒体统计, call-center KPIs): every view and export needs
``reports.view_statistics``. Pages render :class:`~tvshop.reports.selectors.Table` objects;
``?format=xlsx`` on any of them returns the same tables as a workbook."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import PermissionRequiredMixin
from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.dateparse import parse_datetime
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views import View

from telephony.models import Call
from tvshop.audit.pages import ListPage, ServiceFormPage
from tvshop.reports import selectors, services
from tvshop.reports.conf import reports_conf
from tvshop.reports.exports import XLSX_TYPE
from tvshop.reports.forms import (
    CallFilter,
    CurveForm,
    FunnelForm,
    LogisticsForm,
    PeriodForm,
    QueueForm,
    ScheduledReportForm,
)
from tvshop.reports.models import ScheduledReport
from tvshop.reports.rollups import ATTRIBUTION

PERMISSION = "reports.view_statistics"


class StatisticsPermission(PermissionRequiredMixin):
    """The permission, then the database: the roll-ups are PostgreSQL SQL (triggers,
    ``GROUPING SETS``, arrays); the embedded SQLite wiring shows a notice instead."""

    permission_required = PERMISSION

    def dispatch(self, request, *args, **kwargs):
        if not self.has_permission():
            return self.handle_no_permission()
        if connection.vendor != "postgresql":
            return render(request, "reports/unavailable.html", status=503)
        return super(PermissionRequiredMixin, self).dispatch(request, *args, **kwargs)


SLOTS_ON_PAGE = 200  # the latest slots of the period on the page; the export has them all
ROWS_ON_PAGE = 500  # any other table: its first rows on the page; the export has them all


class StatisticsPage(StatisticsPermission, View):
    """A period form and the tables it selects; ``?format=xlsx`` exports them."""

    permission_required = PERMISSION
    form_class = PeriodForm
    template_name = "reports/tables.html"
    title = ""
    name = ""

    exporting = False

    def tables(self, form) -> list[selectors.Table]:
        raise NotImplementedError

    def context(self, form) -> dict:
        return {}

    def get(self, request):
        form = self.form_class(request.GET or None)
        if request.GET and not form.is_valid():
            return render(request, self.template_name, self._ctx(form, []), status=400)
        if not request.GET:
            form = self.form_class({"quick": "7d"})
            form.is_valid()
        self.exporting = request.GET.get("format") == "xlsx"
        tables = self.tables(form)
        if not self.exporting:
            tables = [t.bounded(ROWS_ON_PAGE) for t in tables]
        if self.exporting:
            content, filename = services.statistics_export(
                actor=request.user, tables=tables, period=form.period, name=self.name
            )
            response = HttpResponse(content, content_type=XLSX_TYPE)
            response["Content-Disposition"] = f'attachment; filename="{filename}"'
            return response
        return render(request, self.template_name, self._ctx(form, tables))

    def _ctx(self, form, tables) -> dict:
        query = self.request.GET.copy()
        query.pop("format", None)
        return {
            "form": form,
            "tables": tables,
            "title": self.title,
            "export_query": query.urlencode(),
            "pending": selectors.pending_changes(),
            **(self.context(form) if form.is_bound and form.is_valid() else {}),
        }


class MediaView(StatisticsPage):
    form_class = CurveForm
    template_name = "reports/media.html"
    name = "media"

    @property
    def title(self):
        return _("Media statistics")

    def tables(self, form):
        period = form.period
        stations = [s.pk for s in form.cleaned_data.get("stations") or []] or None
        return [
            selectors.media_efficiency(period=period, stations=stations),
            selectors.slot_efficiency(
                period=period, limit=None if self.exporting else SLOTS_ON_PAGE
            ),
        ]

    def context(self, form):
        curve = selectors.station_curve_json(
            period=form.period,
            stations=form.station_ids(),
            resolution=form.cleaned_data["resolution"],
        )
        return {
            # what ``json_script`` would write, without decoding and encoding it again
            "curve_json": mark_safe(
                curve.replace("&", "\\u0026").replace("<", "\\u003C").replace(">", "\\u003E")
            ),
            "attribution": ATTRIBUTION % {"window": reports_conf().attribution_window_minutes},
        }


class CurveDataView(StatisticsPermission, View):
    """The station curve as JSON (the chart reloads it when the filters change)."""

    permission_required = PERMISSION

    def get(self, request):
        form = CurveForm(request.GET)
        if not form.is_valid():
            return JsonResponse({"errors": form.errors}, status=400)
        return HttpResponse(
            selectors.station_curve_json(
                period=form.period,
                stations=form.station_ids(),
                resolution=form.cleaned_data["resolution"],
            ),
            content_type="application/json",
        )


class QueueView(StatisticsPage):
    form_class = QueueForm
    name = "queues"

    @property
    def title(self):
        return _("Queue statistics")

    def tables(self, form):
        data = form.cleaned_data
        return [
            selectors.queue_stats(
                period=form.period,
                group=data["group"],
                threshold=data["threshold"],
                target=data["target"],
                queue=data.get("queue") or "",
            )
        ]


class AgentView(StatisticsPage):
    name = "agents"

    @property
    def title(self):
        return _("Agent statistics")

    def tables(self, form):
        return [selectors.agent_stats(period=form.period)]


class FunnelView(StatisticsPage):
    form_class = FunnelForm
    name = "funnel"

    @property
    def title(self):
        return _("Funnel from call to cash")

    def tables(self, form):
        return [selectors.funnel(period=form.period, by=form.cleaned_data.get("by") or "station")]


class SalesView(StatisticsPage):
    name = "sales"

    @property
    def title(self):
        return _("Products and staff")

    def tables(self, form):
        return [
            selectors.product_stats(period=form.period),
            selectors.staff_stats(period=form.period),
        ]


class LogisticsView(StatisticsPage):
    form_class = LogisticsForm
    name = "logistics"

    @property
    def title(self):
        return _("Logistics and finance")

    def tables(self, form):
        by = form.cleaned_data.get("by") or "courier"
        return [
            selectors.logistics_stats(period=form.period, by=by),
            selectors.finance_stats(period=form.period),
        ]


class CallListView(ListPage):  # the call search is plain ORM: it works on SQLite too
    """The call detail search; the chart's click-through opens it with a time range."""

    permission_required = PERMISSION
    filterset_class = CallFilter
    template_name = "reports/calls.html"
    results_template_name = "reports/_call_results.html"
    paginate_by = 50

    def base_queryset(self):
        return Call.objects.select_related("hotline", "station", "agent", "customer").order_by(
            "-created_at", "-id"
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = self.request.GET.copy()
        query.pop("page", None)
        context["page_query"] = query.urlencode()
        return context


class PointCallsView(StatisticsPermission, View):
    """A chart point → the call search for that station and bucket."""

    permission_required = PERMISSION

    def get(self, request):
        bucket = parse_datetime(request.GET.get("bucket", ""))
        resolution = request.GET.get("resolution", "hour")
        if bucket is None or resolution not in selectors.RESOLUTIONS:
            return HttpResponse(status=400)
        start, end = selectors.bucket_range(bucket=bucket, resolution=resolution)
        from django.urls import reverse
        from django.utils.http import urlencode

        params = {
            "station": request.GET.get("station", ""),
            "direction": "inbound",
            "start": start.isoformat(),
            "end": end.isoformat(),
        }
        return redirect(f"{reverse('reports:calls')}?{urlencode(params)}")


class RefreshView(StatisticsPermission, View):
    """Refresh the roll-ups now (the beat task does it every minute)."""

    permission_required = PERMISSION

    def post(self, request):
        result = services.rollups_refresh(wait=False)
        if result.skipped:
            messages.info(request, _("A refresh is already running."))
        else:
            messages.success(
                request,
                _("Statistics refreshed: %(n)d hours recomputed.")
                % {"n": len(set(result.call_hours) | set(result.order_hours))},
            )
        return redirect(request.POST.get("next") or "reports:media")


class ScheduleListView(StatisticsPermission, View):
    permission_required = PERMISSION

    def get(self, request):
        return render(
            request,
            "reports/schedules.html",
            {"reports": ScheduledReport.objects.order_by("name")},
        )


class ScheduleFormView(ServiceFormPage):
    model = ScheduledReport
    form_class = ScheduledReportForm
    cancel_url_name = "reports:schedules"
    permission_required = PERMISSION

    def get_object(self):
        return None

    def save(self, form):
        return services.scheduled_report_create(actor=self.request.user, **form.cleaned_data)
