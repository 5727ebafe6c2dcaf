"""The statistics pages' filter forms (period, resolution, thresholds) and the call search."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telephony.choices import CallDirection, CallOutcome
from telephony.models import Call
from tvshop.media.filters import local_midnight
from tvshop.media.models import Hotline, Station
from tvshop.reports.conf import reports_conf
from tvshop.reports.models import ScheduledReport
from tvshop.reports.selectors import Period

MAX_DAYS = 400
DATE = forms.DateInput(attrs={"type": "date"})


class PeriodForm(forms.Form):
    """A local date range (inclusive); quick choices fill it in."""

    QUICK = [
        ("", _("Custom range")),
        ("today", _("Today")),
        ("yesterday", _("Yesterday")),
        ("7d", _("Last 7 days")),
        ("week", _("This week")),
        ("month", _("This month")),
        ("last_month", _("Last month")),
    ]
    quick = forms.ChoiceField(label=_("Period"), choices=QUICK, required=False)
    first = forms.DateField(label=_("From"), required=False, widget=DATE)
    last = forms.DateField(label=_("To"), required=False, widget=DATE)

    def clean(self):
        data = super().clean()
        today = timezone.localdate()
        quick = data.get("quick")
        first, last = data.get("first"), data.get("last")
        if quick == "today":
            first = last = today
        elif quick == "yesterday":
            first = last = today - dt.timedelta(days=1)
        elif quick == "7d":
            first, last = today - dt.timedelta(days=6), today
        elif quick == "week":
            first, last = today - dt.timedelta(days=today.weekday()), today
        elif quick == "month":
            first, last = today.replace(day=1), today
        elif quick == "last_month":
            last = today.replace(day=1) - dt.timedelta(days=1)
            first = last.replace(day=1)
        first = first or last or today - dt.timedelta(days=6)
        last = last or max(first, today)
        if last < first:
            raise forms.ValidationError({"last": _("The end is before the start.")})
        if (last - first).days >= MAX_DAYS:
            raise forms.ValidationError(
                {"last": _("At most %(n)d days at a time.") % {"n": MAX_DAYS}}
            )
        data["first"], data["last"] = first, last
        return data

    @property
    def period(self) -> Period:
        return Period(self.cleaned_data["first"], self.cleaned_data["last"])


class CurveForm(PeriodForm):
    RESOLUTIONS = [
        ("minute", _("Minute")),
        ("hour", _("Hour")),
        ("day", _("Day")),
        ("week", _("Week")),
        ("month", _("Month")),
    ]
    stations = forms.ModelMultipleChoiceField(
        label=_("TV stations"), queryset=Station.objects.order_by("name"), required=False
    )
    resolution = forms.ChoiceField(label=_("Resolution"), choices=RESOLUTIONS, required=False)

    def clean(self):
        data = super().clean()
        resolution = data.get("resolution") or ("hour" if self.period.days <= 7 else "day")
        if resolution == "minute" and self.period.days > 2:
            raise forms.ValidationError(
                {"resolution": _("Minute resolution covers at most 2 days.")}
            )
        data["resolution"] = resolution
        return data

    def station_ids(self) -> list[int]:
        chosen = self.cleaned_data.get("stations")
        if chosen:
            return [s.pk for s in chosen]
        return list(
            Station.objects.filter(active=True).order_by("name").values_list("pk", flat=True)[:10]
        )


class QueueForm(PeriodForm):
    GROUPS = [
        ("queue", _("Queue")),
        ("station", _("TV station")),
        ("hour", _("Hour")),
        ("day", _("Day")),
        ("week", _("Week")),
        ("month", _("Month")),
    ]
    group = forms.ChoiceField(label=_("Rows"), choices=GROUPS, required=False)
    threshold = forms.IntegerField(
        label=_("Short abandon (s)"), min_value=0, max_value=600, required=False
    )
    target = forms.IntegerField(
        label=_("Service level target (s)"), min_value=1, max_value=3600, required=False
    )
    queue = forms.CharField(label=_("Queue"), max_length=50, required=False)

    def clean(self):
        data = super().clean()
        conf = reports_conf()
        data["group"] = data.get("group") or "queue"
        if data.get("threshold") is None:
            data["threshold"] = conf.abandon_threshold_seconds
        if data.get("target") is None:
            data["target"] = conf.service_level_seconds
        return data


class FunnelForm(PeriodForm):
    BY = [("station", _("TV station")), ("product", _("Product")), ("agent", _("Agent"))]
    by = forms.ChoiceField(label=_("By"), choices=BY, required=False)


class LogisticsForm(PeriodForm):
    BY = [("courier", _("Courier")), ("status", _("Status")), ("province", _("Province"))]
    by = forms.ChoiceField(label=_("By"), choices=BY, required=False)


class CallFilter(django_filters.FilterSet):
    """The call detail search (domain.md "Call detail")."""

    first = django_filters.DateFilter(label=_("From"), method="filter_first", widget=DATE)
    last = django_filters.DateFilter(label=_("To"), method="filter_last", widget=DATE)
    start = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", widget=forms.HiddenInput
    )
    end = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lt", widget=forms.HiddenInput
    )
    caller = django_filters.CharFilter(label=_("Caller"), lookup_expr="contains")
    dialled = django_filters.CharFilter(label=_("Dialled number"), lookup_expr="contains")
    direction = django_filters.ChoiceFilter(label=_("Direction"), choices=CallDirection.choices)
    outcome = django_filters.ChoiceFilter(label=_("Outcome"), choices=CallOutcome.choices)
    station = django_filters.ModelChoiceFilter(
        label=_("TV station"), queryset=Station.objects.order_by("name")
    )
    hotline = django_filters.ModelChoiceFilter(
        label=_("Hotline"), queryset=Hotline.objects.order_by("number")
    )
    queue = django_filters.CharFilter(label=_("Queue"))
    agent = django_filters.CharFilter(
        label=_("Agent"), field_name="agent__username", lookup_expr="iexact"
    )
    min_wait = django_filters.NumberFilter(
        label=_("Waited at least (s)"), field_name="wait_seconds", lookup_expr="gte"
    )

    class Meta:
        model = Call
        fields = []

    def filter_first(self, queryset, name, value):
        return queryset.filter(created_at__gte=local_midnight(value))

    def filter_last(self, queryset, name, value):
        return queryset.filter(created_at__lt=local_midnight(value + dt.timedelta(days=1)))


class ScheduledReportForm(forms.ModelForm):
    class Meta:
        model = ScheduledReport
        fields = ["name", "kind", "frequency", "recipients", "active"]
        widgets = {"recipients": forms.Textarea(attrs={"rows": 3})}

    def clean_recipients(self):
        from django.core.validators import validate_email

        value = self.cleaned_data["recipients"]
        for line in value.splitlines():
            if line.strip():
                validate_email(line.strip())
        return value
