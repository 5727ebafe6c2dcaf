"""The statistics' settings, read once: ``settings.TVSHOP_REPORTS`` overrides the defaults.

``ABANDON_THRESHOLD_SECONDS`` and ``SERVICE_LEVEL_SECONDS`` are the defaults the roll-ups
are built with; a page asking for other values is answered from the raw calls (slower,
shown as such). ``ATTRIBUTION_WINDOW_MINUTES`` is part of the slot roll-up: after changing
it run ``manage.py reports_rebuild``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings


@dataclass(frozen=True)
class ReportsConf:
    abandon_threshold_seconds: int = 5
    service_level_seconds: int = 20
    attribution_window_minutes: int = 30


def reports_conf() -> ReportsConf:
    raw = getattr(settings, "TVSHOP_REPORTS", {}) or {}
    # the same grace the order entry uses to attach an order to an airing slot
    window = getattr(settings, "ORDERS_SLOT_GRACE_MINUTES", 30)
    return ReportsConf(
        abandon_threshold_seconds=int(raw.get("ABANDON_THRESHOLD_SECONDS", 5)),
        service_level_seconds=int(raw.get("SERVICE_LEVEL_SECONDS", 20)),
        attribution_window_minutes=int(raw.get("ATTRIBUTION_WINDOW_MINUTES", window)),
    )
