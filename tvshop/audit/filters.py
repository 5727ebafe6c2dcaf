"""Search of the audit log, shared by the page and the API."""

from __future__ import annotations

import datetime as dt

import django_filters
from django import forms
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tvshop.audit.models import AuditAction, AuditEntry

# The apps whose objects the log is about (plus auth: groups and permissions).
AUDITED_APPS = [
    "accounts",
    "auth",
    "audit",
    "catalog",
    "media",
    "crm",
    "orders",
    "logistics",
    "telephony",
]


def object_type_choices() -> list[tuple[str, str]]:
    choices = []
    for ct in ContentType.objects.filter(app_label__in=AUDITED_APPS).order_by("app_label", "model"):
        model = ct.model_class()
        label = str(model._meta.verbose_name) if model is not None else ct.model
        choices.append((f"{ct.app_label}.{ct.model}", label))
    return sorted(choices, key=lambda c: c[1])


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class AuditEntryFilter(django_filters.FilterSet):
    user = django_filters.CharFilter(method="filter_user", label=_("user"))
    object_type = django_filters.ChoiceFilter(
        method="filter_object_type", choices=object_type_choices, label=_("object type")
    )
    object_id = django_filters.CharFilter(label=_("object id"))
    action = django_filters.ChoiceFilter(choices=AuditAction.choices, label=_("action"))
    date_from = django_filters.DateFilter(
        method="filter_date_from",
        label=_("date from"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    date_to = django_filters.DateFilter(
        method="filter_date_to",
        label=_("date to"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    class Meta:
        model = AuditEntry
        fields = ["user", "object_type", "object_id", "action", "date_from", "date_to"]

    def filter_user(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(actor__username__icontains=value) | Q(actor__full_name__icontains=value)
        )

    def filter_object_type(self, queryset, name, value: str):
        if not value:
            return queryset
        app_label, _dot, model = value.partition(".")
        return queryset.filter(content_type__app_label=app_label, content_type__model=model)

    def filter_date_from(self, queryset, name, value):
        return queryset.filter(at__gte=_local_midnight(value)) if value else queryset

    def filter_date_to(self, queryset, name, value):
        if not value:
            return queryset
        return queryset.filter(at__lt=_local_midnight(value + dt.timedelta(days=1)))
