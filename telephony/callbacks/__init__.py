"""Callbacks (回电管理): requests captured during surges and the dispatcher that works them
off afterwards. See ``services`` (the interface for the telephony core) and ``dispatcher``.
"""


def surge_active() -> bool:
    """Whether the overflow branch is on (the center is saturated): the dispatcher hands
    out no callbacks then.

    The flag is ``CallbackControl.surge_active`` (one row, ``pk=1``) in the database, so
    every process (web, worker, beat, bridge) sees the same value without Redis. The
    overflow switch sets it with ``telephony.callbacks.services.surge_set(active=…,
    reason=…)`` whenever it turns the overflow branch on or off (and after a bridge
    reconnect, from the switch's global variables).
    """
    from telephony.callbacks.models import CallbackControl

    return bool(CallbackControl.objects.filter(pk=1, surge_active=True).exists())
