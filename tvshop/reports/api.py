"""Read-only statistics API (``/api/reports/``): the station curve, queue KPIs, agent KPIs
and the media-efficiency table, with the pages' filters (the same forms validate the query
string) and permission (``reports.view_statistics``). Tables are the pages' tables:
``columns`` (key, label, kind) and ``rows`` of plain values keyed by column."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tvshop.api.permissions import HasPerm
from tvshop.reports import selectors
from tvshop.reports.forms import CurveForm, PeriodForm, QueueForm

PERMISSION = "reports.view_statistics"
SLOTS_LIMIT = 200  # the latest slots of the period, as on the page


class ColumnSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.CharField()


class RowField(serializers.DictField):
    """A table row: money stays exact (Decimal as a string, "800.00")."""

    def to_representation(self, value):
        return {k: str(v) if isinstance(v, Decimal) else v for k, v in value.items()}


class TableSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    note = serializers.CharField()
    source = serializers.ChoiceField(choices=["rollup", "raw"])
    columns = ColumnSerializer(many=True)
    rows = serializers.ListField(child=RowField())


class MediaSerializer(serializers.Serializer):
    stations = TableSerializer()
    slots = TableSerializer()


class SeriesSerializer(serializers.Serializer):
    station = serializers.IntegerField()
    name = serializers.CharField()
    data = serializers.ListField(child=serializers.IntegerField())


class SlotSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    station = serializers.IntegerField()
    start = serializers.DateTimeField()
    end = serializers.DateTimeField()
    product = serializers.CharField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=2)


class CurveSerializer(serializers.Serializer):
    resolution = serializers.CharField()
    buckets = serializers.ListField(child=serializers.DateTimeField())
    series = SeriesSerializer(many=True)
    slots = SlotSerializer(many=True)


def _param(name: str, kind=OpenApiTypes.STR, description: str = "", many: bool = False):
    return OpenApiParameter(name, kind, description=description, many=many or None)


PERIOD_PARAMS = [
    _param("quick", description="today, yesterday, 7d, week, month, last_month"),
    _param("first", OpenApiTypes.DATE, "first local day (inclusive)"),
    _param("last", OpenApiTypes.DATE, "last local day (inclusive)"),
]
CURVE_PARAMS = [
    *PERIOD_PARAMS,
    _param("stations", OpenApiTypes.INT, "TV station ids (repeat)", many=True),
    _param("resolution", description="minute, hour, day, week, month"),
]
QUEUE_PARAMS = [
    *PERIOD_PARAMS,
    _param("group", description="queue, station, hour, day, week, month"),
    _param("threshold", OpenApiTypes.INT, "short abandon threshold (s)"),
    _param("target", OpenApiTypes.INT, "service level target (s)"),
    _param("queue", description="one queue"),
]


class Unavailable(exceptions.APIException):
    status_code = 503
    default_detail = "Statistics need PostgreSQL (the roll-ups are PostgreSQL SQL)."
    default_code = "unavailable"


class StatisticsAPIView(APIView):
    permission_classes = [HasPerm.of(PERMISSION)]
    form_class = PeriodForm

    def form(self, request):
        if connection.vendor != "postgresql":
            raise Unavailable
        query = request.query_params.copy()
        if not any(query.get(k) for k in ("quick", "first", "last")):
            query["quick"] = "7d"
        form = self.form_class(query)
        if not form.is_valid():
            raise serializers.ValidationError(
                {k: [str(m) for m in v] for k, v in form.errors.items()}
            )
        return form


class CurveAPIView(StatisticsAPIView):
    """Calls per TV station per bucket (``series[].data`` in the order of ``buckets``),
    with the stations' airing slots."""

    form_class = CurveForm

    @extend_schema(parameters=CURVE_PARAMS, responses=CurveSerializer)
    def get(self, request):
        form = self.form(request)
        return Response(
            selectors.station_curve(
                period=form.period,
                stations=form.station_ids(),
                resolution=form.cleaned_data["resolution"],
            )
        )


class QueueAPIView(StatisticsAPIView):
    """Queue statistics (domain.md KPIs) per queue, station or period bucket, with a
    total row."""

    form_class = QueueForm

    @extend_schema(parameters=QUEUE_PARAMS, responses=TableSerializer)
    def get(self, request):
        form = self.form(request)
        data = form.cleaned_data
        table = selectors.queue_stats(
            period=form.period,
            group=data["group"],
            threshold=data["threshold"],
            target=data["target"],
            queue=data.get("queue") or "",
        )
        return Response(TableSerializer(table).data)


class AgentAPIView(StatisticsAPIView):
    """Agent statistics: login, idle, AUX, after-call work, holds, calls and talk."""

    @extend_schema(parameters=PERIOD_PARAMS, responses=TableSerializer)
    def get(self, request):
        form = self.form(request)
        return Response(TableSerializer(selectors.agent_stats(period=form.period)).data)


class MediaAPIView(StatisticsAPIView):
    """Media efficiency per TV station, and the latest 200 airing slots of the period."""

    form_class = CurveForm

    @extend_schema(parameters=CURVE_PARAMS[:-1], responses=MediaSerializer)
    def get(self, request):
        form = self.form(request)
        stations = [s.pk for s in form.cleaned_data.get("stations") or []] or None
        return Response(
            MediaSerializer(
                {
                    "stations": selectors.media_efficiency(period=form.period, stations=stations),
                    "slots": selectors.slot_efficiency(period=form.period, limit=SLOTS_LIMIT),
                }
            ).data
        )


urlpatterns = [
    path("curve/", CurveAPIView.as_view(), name="reports-curve"),
    path("queues/", QueueAPIView.as_view(), name="reports-queues"),
    path("agents/", AgentAPIView.as_view(), name="reports-agents"),
    path("media/", MediaAPIView.as_view(), name="reports-media"),
]
