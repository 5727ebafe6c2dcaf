"""What other apps plug into order entry, without ``orders`` importing them.

``logistics`` installs the freight rule and the default courier per province in its
``AppConfig.ready``; until something is installed, freight is zero and no courier is
pre-chosen (the issue asks for exactly that fallback).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

# freight(courier_id | None, province_code, weight_kg) -> Decimal
FreightProvider = Callable[[int | None, str, Decimal], Decimal]
# default_courier(province_code) -> courier id | None
DefaultCourierProvider = Callable[[str], int | None]

_freight: FreightProvider | None = None
_default_courier: DefaultCourierProvider | None = None


def freight_provider_set(provider: FreightProvider | None) -> None:
    global _freight
    _freight = provider


def default_courier_provider_set(provider: DefaultCourierProvider | None) -> None:
    global _default_courier
    _default_courier = provider


def freight_for(*, courier_id: int | None, province_code: str, weight_kg: Decimal) -> Decimal:
    if _freight is None:
        return Decimal("0.00")
    return _freight(courier_id, province_code, weight_kg)


def default_courier_for(*, province_code: str) -> int | None:
    return None if _default_courier is None else _default_courier(province_code)


# call_source(call_uuid) -> {"hotline_id": …, "station_id": …, "customer_id": …} | None
CallSourceProvider = Callable[[str], dict | None]
_call_source: CallSourceProvider | None = None


def call_source_provider_set(provider: CallSourceProvider | None) -> None:
    global _call_source
    _call_source = provider


def call_source_for(*, call_uuid: str) -> dict | None:
    """Where a call came from (hotline, station, customer), for the order taken on it.

    Without an installed provider the telephony call record is read through the app
    registry (``orders`` does not import ``telephony``); no such app or call: None.
    """
    if not call_uuid:
        return None
    if _call_source is not None:
        return _call_source(call_uuid)
    from django.apps import apps

    try:
        call_model = apps.get_model("telephony", "Call")
    except LookupError:
        return None
    return (
        call_model.objects.filter(uuid=call_uuid)
        .values("hotline_id", "station_id", "customer_id", "agent_id")
        .first()
    )
