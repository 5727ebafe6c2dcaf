"""The screen pop's fast path: ``call.offered`` straight from the switch's event.

The records of a call are written behind (:class:`~telephony.bridge.workers.BatchWriter`);
the pop does not wait for them. For every call the :class:`PopDesk`

* looks the caller up once, when the call appears (``CHANNEL_CREATE`` of an inbound call,
  else its queue or offer event), on its own database thread with a persistent connection
  — the 1,000,000-customer lookup is one indexed query — together with the hotline (station,
  product);
* on ``agent-offering`` finds the user holding the offered seat in its seat cache (a miss
  costs one query; an ``agent-status-change`` of the seat — every log-in, log-out, ready and
  break sends one — drops the entry, as does a resync, and entries expire after
  :data:`SEAT_TTL` seconds in any case) and builds the pop from the objects in hand, on the
  event loop when everything is cached (the recipient's "sees full numbers" permission is
  cached too), else on its thread;
* sends it at once with the pop URL keyed by the call's uuid (the page waits briefly for the
  record if it comes first), over a channel-layer connection of its own
  (:func:`pop_sender`): the writer publishes everything a batch produced (hundreds of
  ``agent.status`` / ``seat.update`` / ``call.update`` under load) one after the other on
  the shared connection, and a pop queued behind them waited for all of them.

The writer learns, per offer event, whether the pop went out (:meth:`PopDesk.settle`): if it
did not (an error here, Redis refused it), the writer sends the pop it built from the
record after its commit, so a pop is never lost because of this path. The customer looked up
here is handed to the writer too, so a call's customer is looked up once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from django.db import InterfaceError, OperationalError, connection
from django.utils import timezone

from crm.selectors.customers import customer_find_by_phone
from telephony import normalize as d
from telephony.choices import CallDirection
from telephony.groups import agent_group
from telephony.models import Call
from telephony.payloads import call_payload, sees_full_phone
from telephony.services.calls import (
    Message,
    hotline_by_number,
    normalise_caller,
    seat_holder,
    send_messages,
)

logger = logging.getLogger("telephony.bridge")

SEAT_TTL = 60.0
HOTLINE_TTL = 30.0
#: Calls remembered (customer, popped offers); the oldest are forgotten first.
REMEMBER = 20_000
INBOUND = CallDirection.INBOUND.value
_MISSING = object()


@dataclass
class PopStats:
    pops: int = 0  # call.offered sent by this path
    built_on_loop: int = 0  # … of them built with everything cached
    no_holder: int = 0  # offers to a seat nobody is logged into
    failed: int = 0  # errors here (the writer then sends the pop)
    duplicates: int = 0  # an offer event seen twice: popped once
    lookups: int = 0  # customer lookups
    seat_queries: int = 0  # seat cache misses


def _with_connection(func: Callable, *args):
    """Run ``func`` on this thread's persistent connection; one retry after the server
    dropped it."""
    try:
        return func(*args)
    except (InterfaceError, OperationalError):
        if connection.in_atomic_block:
            raise
        connection.close()
        return func(*args)


def _close_connection() -> None:
    connection.close()


def pop_sender() -> Callable[[list[Message]], Awaitable[int]]:
    """``send_messages`` on a channel layer instance of the pops' own (its own Redis
    connection), for the Redis layers; the shared layer for the others (the in-memory layer
    only delivers within its own instance)."""
    from channels.layers import DEFAULT_CHANNEL_LAYER, channel_layers
    from django.conf import settings

    backend = settings.CHANNEL_LAYERS.get(DEFAULT_CHANNEL_LAYER, {}).get("BACKEND", "")
    if not backend.startswith("channels_redis."):
        return send_messages
    return functools.partial(
        send_messages, layer=channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    )


class PopDesk:
    def __init__(
        self, send: Callable[[list[Message]], Awaitable[int]], *, name: str = "bridge"
    ) -> None:
        self._send = send
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"{name}-pop")
        #: call uuid → Customer or None, read by the writer's thread (plain dict reads).
        self.customers: dict[str, object] = {}
        self._lookups: OrderedDict[str, asyncio.Future] = OrderedDict()
        #: cc_agent → (expires, user or None, sees full numbers)
        self._seats: dict[str, tuple[float, object, bool]] = {}
        self._refreshing: set[str] = set()
        self._hotlines: dict[str, tuple[float, object]] = {}
        self._popping: dict[str, asyncio.Task] = {}
        self._popped: OrderedDict[str, None] = OrderedDict()
        self.stats = PopStats()

    # -- fed by the bridge's consumer, in arrival order ----------------------------------------

    def observe(self, event: d.DomainEvent) -> None:
        if isinstance(event, d.CallCreated):
            if event.direction == INBOUND:
                self._lookup(event.call_uuid, event.caller, event.dialled)
        elif isinstance(event, d.CallQueued):
            self._lookup(event.call_uuid, event.caller, event.dialled)
        elif isinstance(event, d.CallOffered):
            self._lookup(event.call_uuid, event.caller, event.dialled)
            if event.key in self._popped or event.key in self._popping:
                self.stats.duplicates += 1
                return
            task = asyncio.get_running_loop().create_task(self._pop(event))
            self._popping[event.key] = task
        elif isinstance(event, d.AgentStatusChanged):
            # log-in, log-out, ready, break: who holds the seat may have changed
            self._seats.pop(event.agent, None)
            self._refresh(event.agent)

    def forget_seats(self) -> None:
        """Drop the seat cache (after a resync) and read every held seat again."""
        self._seats.clear()
        loop = asyncio.get_running_loop()
        loop.run_in_executor(self._executor, _with_connection, self._warm_sync)

    def _warm_sync(self) -> None:
        from telephony.models import SeatSession

        sessions = SeatSession.objects.select_related("seat", "user").filter(ended_at=None)
        now = time.monotonic()
        for session in sessions:
            user = session.user
            self._seats[session.seat.cc_agent] = (now + SEAT_TTL, user, sees_full_phone(user))

    def _refresh(self, cc_agent: str) -> None:
        """Read the seat's holder again on the pop thread, now, before its next offer."""
        if cc_agent in self._refreshing:
            return
        self._refreshing.add(cc_agent)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(self._executor, _with_connection, self._holder_sync, cc_agent)
        future.add_done_callback(lambda _f: self._refreshing.discard(cc_agent))

    async def settle(self, key: str) -> bool:
        """Did this path send the pop of offer event ``key``? (waits for it; the writer asks
        once per offer it applied)."""
        task = self._popping.pop(key, None)
        if task is None:
            return key in self._popped
        try:
            return await task
        except Exception:
            return False

    def close(self) -> None:
        for task in self._popping.values():
            task.cancel()
        self._executor.submit(_close_connection)  # this thread's connection
        self._executor.shutdown(wait=True, cancel_futures=False)

    # -- lookups ---------------------------------------------------------------------------------

    def _lookup(self, uuid: str, caller: str, dialled: str) -> None:
        if uuid in self._lookups or not uuid:
            return
        loop = asyncio.get_running_loop()
        self._lookups[uuid] = loop.run_in_executor(
            self._executor, _with_connection, self._lookup_sync, uuid, caller, dialled
        )
        while len(self._lookups) > REMEMBER:
            old, _future = self._lookups.popitem(last=False)
            self.customers.pop(old, None)

    def _lookup_sync(self, uuid: str, caller: str, dialled: str):
        hotline = self._hotline(dialled)
        customer = customer_find_by_phone(caller) if caller else None
        self.stats.lookups += 1
        self.customers[uuid] = customer
        return hotline, customer

    def _hotline(self, number: str):
        if not number:
            return None
        now = time.monotonic()
        hit = self._hotlines.get(number)
        if hit is not None and hit[0] > now:
            return hit[1]
        hotline = hotline_by_number(number)
        self._hotlines[number] = (now + HOTLINE_TTL, hotline)
        return hotline

    def _holder_cached(self, cc_agent: str):
        """``(user, full)`` from the cache, else ``_MISSING``. An entry past its time is
        still used (every change of holder sends a status event, which drops the entry) and
        read again in the background."""
        hit = self._seats.get(cc_agent)
        if hit is None:
            return _MISSING
        if hit[0] <= time.monotonic():
            self._refresh(cc_agent)
        return hit[1], hit[2]

    def _holder_sync(self, cc_agent: str):
        self.stats.seat_queries += 1
        _seat, user = seat_holder(cc_agent)
        full = sees_full_phone(user) if user is not None else False
        self._seats[cc_agent] = (time.monotonic() + SEAT_TTL, user, full)
        return user, full

    # -- the pop ---------------------------------------------------------------------------------

    def _message(self, event: d.CallOffered, hotline, customer, user, full: bool) -> Message:
        call = Call(
            uuid=event.call_uuid,
            direction=INBOUND,
            caller=normalise_caller(event.caller),
            dialled=event.dialled[:32],
            queue=event.queue[:50] or (hotline.queue_name if hotline is not None else ""),
            offered_at=event.at or timezone.now(),
            hotline=hotline,
            customer=customer,
        )
        payload = call_payload(call, user=user, full_phone=full)
        return agent_group(user.pk), {"type": "call.offered", "replay": False, "call": payload}

    def _build_sync(self, event: d.CallOffered, hotline, customer):
        holder = self._holder_cached(event.agent)
        user, full = self._holder_sync(event.agent) if holder is _MISSING else holder
        if user is None:
            return None
        return self._message(event, hotline, customer, user, full)

    async def _pop(self, event: d.CallOffered) -> bool:
        try:
            lookup = self._lookups[event.call_uuid]
            hotline, customer = lookup.result() if lookup.done() else await lookup
            holder = self._holder_cached(event.agent)
            if holder is not _MISSING and holder[0] is None:
                message = None
            elif holder is not _MISSING:
                message = self._message(event, hotline, customer, *holder)
                self.stats.built_on_loop += 1
            else:
                message = await asyncio.get_running_loop().run_in_executor(
                    self._executor, _with_connection, self._build_sync, event, hotline, customer
                )
            if message is None:
                self.stats.no_holder += 1
                ok = True  # nobody to pop for; the writer finds nobody either
            else:
                ok = await self._send([message]) == 0
                if ok:
                    self.stats.pops += 1
        except Exception:
            logger.exception("bridge: pop for %s failed; the writer will send it", event.key)
            ok = False
        if ok:
            self._popped[event.key] = None
            while len(self._popped) > REMEMBER:
                self._popped.popitem(last=False)
        else:
            self.stats.failed += 1
        return ok
