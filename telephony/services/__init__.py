"""Telephony services (writes). Call records from switch events: :mod:`.calls`."""

from telephony.services.calls import call_apply_event, calls_resync

__all__ = ["call_apply_event", "calls_resync"]
