"""Reads for service records, tickets and inbound leads: list querysets and filters.

The FilterSets serve both the pages (their ``form`` is the toolbar) and the API.
"""

from __future__ import annotations

import datetime as dt
import re

import django_filters as df
from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import (
    BooleanField,
    Case,
    Count,
    Max,
    Min,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.choices import ContactChannel, LeadStatus, TicketKind, TicketPriority, TicketStatus
from crm.masking import phone_for_user
from crm.models import Customer, Lead, ServiceRecord, Ticket, TicketEvent
from crm.selectors.customers import customer_search
from tvshop.accounts.roles import Role
from tvshop.media.models import Hotline, Station

User = get_user_model()
OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS)
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- people -------------------------------------------------------------------------------


def users_with_perm(perm: str) -> QuerySet:
    """Active users holding ``perm`` through a role, directly, or as superuser."""
    app_label, codename = perm.split(".")
    perms = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    return (
        User.objects.filter(is_active=True)
        .filter(
            Q(groups__permissions__in=perms) | Q(user_permissions__in=perms) | Q(is_superuser=True)
        )
        .distinct()
        .order_by("username")
    )


def lead_agents() -> QuerySet:
    """The people leads are given to: active users of the agent role."""
    return User.objects.filter(is_active=True, groups__name=Role.AGENT).order_by("username")


def with_masked_phones(objects, *, user, attr: str = "phone", target: str = "phone_display"):
    """Set ``target`` on each object to its ``attr`` number as ``user`` may see it."""
    for obj in objects:
        number = obj[attr] if isinstance(obj, dict) else getattr(obj, attr)
        display = phone_for_user(number, user) if number else ""
        if isinstance(obj, dict):
            obj[target] = display
        else:
            setattr(obj, target, display)
    return objects


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _customers_matching(q: str) -> QuerySet:
    """Ids of customers matching ``q`` as the customer search does (name, number, phone)."""
    return customer_search(q).order_by().values("pk")


# --- service records ----------------------------------------------------------------------


def service_record_list() -> QuerySet:
    return ServiceRecord.objects.select_related("customer", "agent").order_by("-at", "-id")


def customer_service_records(*, customer: Customer) -> QuerySet:
    return (
        ServiceRecord.objects.filter(customer=customer)
        .select_related("agent")
        .order_by("-at", "-id")
    )


class ServiceRecordFilter(df.FilterSet):
    q = df.CharFilter(method="filter_q", label=gettext_lazy("Customer"))
    agent = df.ModelChoiceFilter(
        queryset=lambda request: users_with_perm("crm.add_servicerecord"),
        label=gettext_lazy("Agent"),
    )
    channel = df.ChoiceFilter(choices=ContactChannel.choices, label=gettext_lazy("Channel"))
    date_from = df.DateFilter(method="filter_from", label=gettext_lazy("From"), widget=DATE)
    date_to = df.DateFilter(method="filter_to", label=gettext_lazy("To"), widget=DATE)
    customer = df.NumberFilter(field_name="customer_id", label=gettext_lazy("Customer id"))

    class Meta:
        model = ServiceRecord
        fields = ["q", "agent", "channel", "date_from", "date_to", "customer"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(customer__in=_customers_matching(value)) if value else queryset

    def filter_from(self, queryset, name, value):
        return queryset.filter(at__gte=_day_start(value))

    def filter_to(self, queryset, name, value):
        return queryset.filter(at__lt=_day_start(value + dt.timedelta(days=1)))


# --- tickets ------------------------------------------------------------------------------


def _with_overdue(queryset: QuerySet) -> QuerySet:
    return queryset.annotate(
        is_overdue=Case(
            When(status__in=OPEN_STATUSES, due_at__lt=timezone.now(), then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


def ticket_list() -> QuerySet:
    return _with_overdue(
        Ticket.objects.select_related("customer", "assignee").order_by("-created_at", "-id")
    )


def customer_tickets(*, customer: Customer) -> QuerySet:
    return _with_overdue(
        Ticket.objects.filter(customer=customer)
        .select_related("assignee")
        .order_by("-created_at", "-id")
    )


def ticket_get(*, pk: int) -> Ticket:
    return _with_overdue(Ticket.objects.select_related("customer", "assignee", "created_by")).get(
        pk=pk
    )


def ticket_history(*, ticket: Ticket) -> QuerySet:
    return TicketEvent.objects.filter(ticket=ticket).select_related("actor", "assignee")


ACTIVE = "active"


class TicketFilter(df.FilterSet):
    q = df.CharFilter(method="filter_q", label=gettext_lazy("Search"))
    status = df.ChoiceFilter(
        choices=[(ACTIVE, gettext_lazy("Open or in progress")), *TicketStatus.choices],
        method="filter_status",
        label=gettext_lazy("Status"),
    )
    kind = df.ChoiceFilter(choices=TicketKind.choices, label=gettext_lazy("Kind"))
    priority = df.ChoiceFilter(choices=TicketPriority.choices, label=gettext_lazy("Priority"))
    assignee = df.ModelChoiceFilter(
        queryset=lambda request: users_with_perm("crm.change_ticket"),
        label=gettext_lazy("Assignee"),
    )
    overdue = df.BooleanFilter(method="filter_overdue", label=gettext_lazy("Overdue"))
    mine = df.BooleanFilter(method="filter_mine", label=gettext_lazy("Mine"))
    customer = df.NumberFilter(field_name="customer_id", label=gettext_lazy("Customer id"))

    class Meta:
        model = Ticket
        fields = ["q", "status", "kind", "priority", "assignee", "overdue", "mine", "customer"]

    def filter_q(self, queryset, name, value):
        value = value.strip().lstrip("#")
        if not value:
            return queryset
        cond = Q(title__icontains=value) | Q(customer__in=_customers_matching(value))
        if value.isdigit():
            cond |= Q(pk=int(value))
        return queryset.filter(cond)

    def filter_status(self, queryset, name, value):
        if value == ACTIVE:
            return queryset.filter(status__in=OPEN_STATUSES)
        return queryset.filter(status=value)

    def filter_overdue(self, queryset, name, value):
        late = Q(status__in=OPEN_STATUSES, due_at__lt=timezone.now())
        return queryset.filter(late) if value else queryset.exclude(late)

    def filter_mine(self, queryset, name, value):
        user = getattr(self.request, "user", None)
        if not value or user is None:
            return queryset
        return queryset.filter(assignee=user)


# --- leads --------------------------------------------------------------------------------


def lead_sees_all(user) -> bool:
    return user.has_perm("crm.change_lead") or user.has_perm("crm.assign_lead")


def lead_visible_to(*, user) -> QuerySet:
    """Supervisors see every lead; an agent sees the leads assigned to them."""
    queryset = Lead.objects.select_related("customer", "hotline", "station", "assigned_to")
    if not lead_sees_all(user):
        queryset = queryset.filter(assigned_to=user)
    return queryset.order_by("-day", "-last_at", "-id")


def lead_by_number(queryset: QuerySet) -> QuerySet:
    """One row per caller number over the leads of ``queryset`` (de-duplicated view)."""
    return (
        queryset.order_by()
        .values("phone")
        .annotate(
            days=Count("id"),
            calls=Sum("call_count"),
            first_at=Min("first_at"),
            last_at=Max("last_at"),
            first_day=Min("day"),
            last_day=Max("day"),
            customer_id=Max("customer_id"),
        )
        .order_by("-last_at", "phone")
    )


def customer_names(ids) -> dict[int, str]:
    ids = {i for i in ids if i}
    return dict(Customer.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


class LeadFilter(df.FilterSet):
    phone = df.CharFilter(method="filter_phone", label=gettext_lazy("Phone"))
    date_from = df.DateFilter(
        field_name="day", lookup_expr="gte", label=gettext_lazy("From"), widget=DATE
    )
    date_to = df.DateFilter(
        field_name="day", lookup_expr="lte", label=gettext_lazy("To"), widget=DATE
    )
    station = df.ModelChoiceFilter(queryset=Station.objects.all(), label=gettext_lazy("TV station"))
    hotline = df.ModelChoiceFilter(
        queryset=Hotline.objects.select_related("station"), label=gettext_lazy("Hotline")
    )
    status = df.ChoiceFilter(choices=LeadStatus.choices, label=gettext_lazy("Status"))
    assigned_to = df.ModelChoiceFilter(
        queryset=lambda request: lead_agents(), label=gettext_lazy("Assigned to")
    )
    unassigned = df.BooleanFilter(
        field_name="assigned_to", lookup_expr="isnull", label=gettext_lazy("Unassigned")
    )
    customer = df.NumberFilter(field_name="customer_id", label=gettext_lazy("Customer id"))

    class Meta:
        model = Lead
        fields = [
            "phone",
            "date_from",
            "date_to",
            "station",
            "hotline",
            "status",
            "assigned_to",
            "unassigned",
            "customer",
        ]

    def filter_phone(self, queryset, name, value):
        digits = re.sub(r"\D", "", value)
        if not digits:
            return queryset
        if len(digits) >= 11:
            from crm.phones import InvalidPhone, phone_normalize

            try:
                return queryset.filter(phone=phone_normalize(value).number)
            except InvalidPhone:
                pass
        return queryset.filter(phone__contains=digits)


def lead_export_rows(*, leads: QuerySet, user) -> tuple[list[str], list[list]]:
    """Header and rows of a lead export; numbers as ``user`` may see them."""
    header = [
        _("Day"),
        _("Phone"),
        _("Customer"),
        _("Hotline"),
        _("TV station"),
        _("Calls"),
        _("First call"),
        _("Last call"),
        _("Status"),
        _("Assigned to"),
    ]
    rows = []
    queryset = leads.select_related("customer", "hotline", "station", "assigned_to")
    for lead in queryset.iterator(chunk_size=2000):
        rows.append(
            [
                lead.day.isoformat(),
                phone_for_user(lead.phone, user),
                lead.customer.name if lead.customer else "",
                lead.hotline.number if lead.hotline else "",
                lead.station.name if lead.station else "",
                lead.call_count,
                timezone.localtime(lead.first_at).strftime("%Y-%m-%d %H:%M:%S"),
                timezone.localtime(lead.last_at).strftime("%Y-%m-%d %H:%M:%S"),
                str(lead.get_status_display()),
                str(lead.assigned_to) if lead.assigned_to else "",
            ]
        )
    return header, rows
