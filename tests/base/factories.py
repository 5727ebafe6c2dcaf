"""Factories for the base-data tests (stations, hotlines, airing slots)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.utils import timezone

from tests.factories import HotlineFactory, ProductFactory
from tvshop.media.models import AiringSlot


def local(year, month, day, hour=0, minute=0) -> dt.datetime:
    """An aware time in the site's time zone (Asia/Shanghai)."""
    return timezone.make_aware(dt.datetime(year, month, day, hour, minute))


class AiringSlotFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AiringSlot

    hotline = factory.SubFactory(HotlineFactory)
    station = factory.SelfAttribute("hotline.station")
    product = factory.SubFactory(ProductFactory)
    start = factory.Sequence(lambda n: local(2026, 3, 1, 8) + dt.timedelta(hours=n))
    end = factory.LazyAttribute(lambda o: o.start + dt.timedelta(minutes=30))
    cost = Decimal("5000.00")
