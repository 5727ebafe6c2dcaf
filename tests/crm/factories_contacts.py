"""Factories for service records, tickets and leads (rows made directly, no services)."""

from __future__ import annotations

import datetime as dt

import factory
from django.utils import timezone

from crm.models import Lead, ServiceRecord, Ticket
from tests.factories import CustomerFactory, UserFactory


class StaffFactory(UserFactory):
    """A user without a usable password: hashing one per row would slow lists down."""

    password = factory.PostGenerationMethodCall("set_unusable_password")


class ServiceRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ServiceRecord

    customer = factory.SubFactory(CustomerFactory)
    agent = factory.SubFactory(StaffFactory)
    at = factory.LazyFunction(timezone.now)
    channel = "inbound"
    content = factory.Sequence(lambda n: f"客户来电咨询{n}")


class TicketFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Ticket

    customer = factory.SubFactory(CustomerFactory)
    kind = "complaint"
    title = factory.Sequence(lambda n: f"投诉{n}")
    created_by = factory.SubFactory(StaffFactory)
    due_at = factory.LazyFunction(lambda: timezone.now() + dt.timedelta(days=1))


class LeadFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Lead

    phone = factory.Sequence(lambda n: f"+86139{n:08d}")
    day = factory.LazyFunction(timezone.localdate)
    first_at = factory.LazyFunction(timezone.now)
    last_at = factory.LazyAttribute(lambda o: o.first_at)
    call_count = 1


def staff_user(*roles: str, **kwargs):
    """A user holding ``roles`` (group names), quick to make: for users who do not log in."""
    from django.contrib.auth.models import Group

    user = StaffFactory(**kwargs)
    if roles:
        groups = list(Group.objects.filter(name__in=roles))
        assert len(groups) == len(roles), f"unknown role in {roles}"
        user.groups.add(*groups)
    return user
