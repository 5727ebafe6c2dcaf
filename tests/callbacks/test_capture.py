"""Capturing callers for a callback: one open request per number, idempotent per call,
safe under concurrency; priority by VIP, repeat calls and recency of the airing."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from crm.choices import CustomerLevel
from telephony.callbacks.choices import CallbackStatus
from telephony.callbacks.models import CallbackCapture, CallbackRequest
from telephony.callbacks.services import callback_capture, callback_priority
from tests.callbacks.support import capture, next_mobile, run_in_threads
from tests.factories import (
    CustomerFactory,
    CustomerPhoneFactory,
    HotlineFactory,
    ProductFactory,
    StationFactory,
)
from tvshop.audit.models import AuditAction, AuditEntry
from tvshop.errors import DomainError
from tvshop.media.models import AiringSlot

pytestmark = pytest.mark.django_db


def test_first_capture_opens_a_pending_request_with_customer_station_and_audit():
    # given a known customer and a hotline of a station
    station = StationFactory()
    hotline = HotlineFactory(station=station)
    customer = CustomerFactory()
    CustomerPhoneFactory(customer=customer, number="+8613800138000")
    at = timezone.now() - dt.timedelta(minutes=3)
    # when the switch captures the caller (as the trunk delivers the number)
    request = callback_capture(
        number="13800138000",
        call_uuid="u-1",
        hotline_id=hotline.pk,
        station_id=None,
        captured_at=at,
        reason="overflow_switch",
    )
    # then one pending request exists, due now, with what we know
    assert request.status == CallbackStatus.PENDING
    assert (request.number, request.customer, request.hotline, request.station) == (
        "+8613800138000",
        customer,
        hotline,
        station,
    )
    assert request.call_count == 1 and request.first_call_at == at == request.next_attempt_at
    assert CallbackCapture.objects.get().call_uuid == "u-1"
    assert AuditEntry.objects.filter(
        action=AuditAction.CREATE, object_id=str(request.pk), actor=None
    ).exists()


def test_repeat_call_raises_the_count_and_keeps_the_first_time():
    first = timezone.now() - dt.timedelta(minutes=10)
    a = capture("+8613900139000", at=first)
    b = capture("13900139000", at=first + dt.timedelta(minutes=4))
    assert a.pk == b.pk
    request = CallbackRequest.objects.get()
    assert request.call_count == 2
    assert request.first_call_at == first
    assert request.last_call_at == first + dt.timedelta(minutes=4)
    assert CallbackCapture.objects.filter(request=request).count() == 2


def test_same_call_captured_twice_changes_nothing():
    a = capture("+8613900139000", uuid_="same-call")
    b = capture("+8613900139000", uuid_="same-call")
    assert a.pk == b.pk
    assert CallbackRequest.objects.get().call_count == 1
    assert CallbackCapture.objects.count() == 1


def test_a_closed_request_does_not_absorb_a_new_call():
    old = capture("+8613900139000")
    CallbackRequest.objects.filter(pk=old.pk).update(status=CallbackStatus.DONE)
    new = capture("+8613900139000")
    assert new.pk != old.pk and new.status == CallbackStatus.PENDING


def test_a_call_without_a_number_is_refused():
    with pytest.raises(DomainError):
        capture("anonymous")


@pytest.mark.django_db(transaction=True)
def test_two_captures_of_one_number_at_once_give_one_request_with_count_two():
    number = next_mobile()
    results = run_in_threads(
        lambda: capture(number, uuid_="c-1").pk, lambda: capture(number, uuid_="c-2").pk
    )
    assert all(isinstance(r, int) for r in results), results
    assert results[0] == results[1]
    request = CallbackRequest.objects.get()
    assert request.call_count == 2
    assert CallbackCapture.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_call_captured_at_once_by_two_processes_counts_once():
    number = next_mobile()
    results = run_in_threads(*[lambda: capture(number, uuid_="dup").pk for _ in range(4)])
    assert len(set(results)) == 1, results
    assert CallbackRequest.objects.get().call_count == 1


def test_priority_formula():
    # VIP first, then repeat callers, then recency of the airing
    assert callback_priority(vip=False, call_count=1, minutes_after_airing=None) == 0
    assert callback_priority(vip=True, call_count=1, minutes_after_airing=None) == 1000
    assert callback_priority(vip=False, call_count=3, minutes_after_airing=None) == 200
    assert callback_priority(vip=False, call_count=50, minutes_after_airing=None) == 400
    assert callback_priority(vip=False, call_count=1, minutes_after_airing=0) == 300
    assert callback_priority(vip=False, call_count=1, minutes_after_airing=30) == 150
    assert callback_priority(vip=False, call_count=1, minutes_after_airing=90) == 0


def test_priority_uses_the_airing_and_the_customer_level():
    # given an ad that aired 6 minutes ago on the hotline's station
    station = StationFactory()
    hotline = HotlineFactory(station=station)
    now = timezone.now()
    slot = AiringSlot.objects.create(
        station=station,
        product=ProductFactory(),
        hotline=hotline,
        start=now - dt.timedelta(minutes=6),
        end=now - dt.timedelta(minutes=5),
    )
    vip = CustomerFactory(level=CustomerLevel.VIP)
    CustomerPhoneFactory(customer=vip, number="+8613700137000")
    # when a stranger and a VIP are captured now
    stranger = capture(hotline=hotline, at=now)
    known = capture("+8613700137000", hotline=hotline, at=now)
    # then both belong to the airing; recency gives 270, VIP adds 1000
    assert stranger.airing_slot == slot and stranger.priority == 270
    assert known.priority == 1270
    # and a repeat call adds 100
    assert capture("+8613700137000", hotline=hotline, at=now).priority == 1370
