from celery import shared_task

from telephony.routing.controller import overflow_tick
from telephony.routing.services import routing_provision_all


@shared_task(name="routing.overflow_tick", ignore_result=True)
def routing_overflow_tick_task() -> int:
    """Beat fallback of the overflow controller (the bridge process runs it every second)."""
    return len(overflow_tick())


@shared_task(name="routing.provision_all", ignore_result=True)
def routing_provision_all_task() -> int:
    return routing_provision_all().sent
