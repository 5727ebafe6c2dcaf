"""Routing policy (writes, audited) and provisioning the switch with what the hotline
dialplan reads (``telephony/freeswitch/dialplan/tvshop_hotlines.xml``, emulated by
``telephony/simulator/switch.py``):

* ``hash insert/tvshop_blacklist/<caller>/1`` — callers of blacklisted customers
* ``hash insert/tvshop_vip/<caller>/<score>`` — callers of VIP customers
* ``hash insert/tvshop_lastagent/<caller>/<ext>@<domain>`` — who served the caller last
* ``global_setvar tvshop_overflow_<queue>=true|false`` — the overflow switch per queue
  (also how work hours and holidays reach the switch: after hours the controller turns
  the hotline's overflow branch on, so callers are captured for a callback). This one is
  **not** provisioned: it is live state, and the overflow controller
  (:mod:`telephony.routing.controller`) is its only writer — and the only writer of the
  callbacks' surge flag. Provisioning after a bridge reconnect used to push it from the
  policy rows (and re-evaluate them without a reading), racing the controller and the
  bridge's own re-read; now the controller re-asserts it on every (re)connect and every
  ``REASSERT_SECONDS``.
* ``callcenter_config agent add`` / ``tier add`` — the seats as agents of every hotline queue

The dialplan matches ``${caller_id_number}`` as the carrier delivers it, which may be the
national form (13800138000, 075588881234), with the country code (8613800138000) or E.164;
every number is pushed in all these forms (智能号码匹配).
"""

from __future__ import annotations

import datetime as dt
import logging
import zlib
from collections.abc import Iterable

import phonenumbers
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.choices import CustomerLevel
from crm.models import CustomerPhone
from telephony.routing.models import POLICY_FIELDS, Holiday, RoutingPolicy
from telephony.routing.switchlink import BatchResult, pusher, send_batch
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Forbidden
from tvshop.media.models import Hotline

logger = logging.getLogger("telephony.routing")

CHANGE_PERM = "routing.change_routingpolicy"
VIEW_PERM = "routing.view_routingpolicy"
VIP_SCORE = 1000
BLACKLIST = "tvshop_blacklist"
VIP = "tvshop_vip"
LAST_AGENT = "tvshop_lastagent"
LAST_AGENT_DAYS = 180  # older calls do not make a "last agent"


def overflow_var(queue_name: str) -> str:
    return f"tvshop_overflow_{queue_name}"


# --- policy ------------------------------------------------------------------------------


def policy_for(hotline: Hotline) -> RoutingPolicy:
    """The hotline's policy, created with the defaults on first use."""
    policy, _created = RoutingPolicy.objects.get_or_create(hotline=hotline)
    return policy


def policies_ensure() -> list[RoutingPolicy]:
    """A policy row for every hotline; returns all policies with their hotlines."""
    missing = Hotline.objects.filter(routing_policy__isnull=True)
    RoutingPolicy.objects.bulk_create(
        [RoutingPolicy(hotline=h) for h in missing], ignore_conflicts=True
    )
    return list(RoutingPolicy.objects.select_related("hotline").prefetch_related("holidays"))


def policy_update(*, actor, policy_id: int, **values) -> RoutingPolicy:
    """Change a hotline's routing policy (audited); the switch follows on commit."""
    if not actor.has_perm(CHANGE_PERM):
        raise Forbidden(_("You may not change routing policies."))
    unknown = set(values) - set(POLICY_FIELDS)
    if unknown:
        raise ValueError(f"not policy fields: {sorted(unknown)}")
    with transaction.atomic():
        policy = RoutingPolicy.objects.select_for_update().get(pk=policy_id)
        before = snapshot(policy, fields=POLICY_FIELDS)
        for name, value in values.items():
            setattr(policy, name, value)
        policy.full_clean()
        policy.save()
        after = snapshot(policy, fields=POLICY_FIELDS)
        if after != before:
            audit_record(
                actor=actor, action=AuditAction.UPDATE, obj=policy, before=before, after=after
            )
    return policy


def holiday_add(*, actor, policy_id: int, date: dt.date, note: str = "") -> Holiday:
    if not actor.has_perm(CHANGE_PERM):
        raise Forbidden(_("You may not change routing policies."))
    with transaction.atomic():
        policy = RoutingPolicy.objects.get(pk=policy_id)
        holiday, created = Holiday.objects.get_or_create(
            policy=policy, date=date, defaults={"note": note}
        )
        if created:
            audit_record(
                actor=actor, action=AuditAction.CREATE, obj=holiday, after=snapshot(holiday)
            )
    return holiday


def holiday_delete(*, actor, holiday_id: int) -> None:
    if not actor.has_perm(CHANGE_PERM):
        raise Forbidden(_("You may not change routing policies."))
    with transaction.atomic():
        holiday = Holiday.objects.select_for_update().get(pk=holiday_id)
        audit_record(actor=actor, action=AuditAction.DELETE, obj=holiday, before=snapshot(holiday))
        holiday.delete()


def is_open(policy: RoutingPolicy, when: dt.datetime | None = None) -> bool:
    """Whether the hotline takes calls into its queue at ``when`` (local time)."""
    local = timezone.localtime(when or timezone.now())
    holidays = getattr(policy, "_prefetched_objects_cache", {}).get("holidays")
    dates = (
        {h.date for h in holidays}
        if holidays is not None
        else set(policy.holidays.values_list("date", flat=True))
    )
    if local.date() in dates:
        return False
    if not policy.hours_enabled:
        return True
    try:
        hours = policy.hours_of(local.weekday())
    except ValueError:
        return True  # a broken row never closes a hotline (the form validates)
    if hours is None:
        return False
    return hours[0] <= local.time() <= hours[1]


def recording_wanted(policy: RoutingPolicy | None, call_uuid: str) -> bool:
    """Whether to record this call under the policy (a stable choice per call uuid)."""
    if policy is None or policy.recording == "all":
        return True
    if policy.recording == "none":
        return False
    return zlib.crc32(call_uuid.encode()) % 100 < policy.recording_share_pct


# --- numbers ------------------------------------------------------------------------------


def caller_forms(number: str) -> list[str]:
    """The forms a carrier may deliver ``number`` in (E.164 stored → as dialled)."""
    number = (number or "").strip()
    if not number:
        return []
    forms = [number]
    try:
        parsed = phonenumbers.parse(number, "CN")
    except phonenumbers.NumberParseException:
        return forms
    e164 = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    national = "".join(
        ch
        for ch in phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL)
        if ch.isdigit()
    )
    for form in (e164, e164.lstrip("+"), national):
        if form and form not in forms:
            forms.append(form)
    return forms


def _hash(op: str, realm: str, key: str, value: str = "") -> str:
    return f"hash {op}/{realm}/{key}" + (f"/{value}" if op == "insert" else "")


def number_commands(number: str, level: str | None) -> list[str]:
    """Blacklist/VIP commands for one stored number whose customer has ``level``
    (``None``: the number is gone)."""
    commands = []
    for form in caller_forms(number):
        if level == CustomerLevel.BLACKLISTED:
            commands.append(_hash("insert", BLACKLIST, form, "1"))
        else:
            commands.append(_hash("delete", BLACKLIST, form))
        if level == CustomerLevel.VIP:
            commands.append(_hash("insert", VIP, form, str(VIP_SCORE)))
        else:
            commands.append(_hash("delete", VIP, form))
    return commands


def last_agent_commands(caller: str, agent: str) -> list[str]:
    agent = agent if "@" in agent else f"{agent}@default"
    return [_hash("insert", LAST_AGENT, form, agent) for form in caller_forms(caller)]


def customer_numbers_push(*, customer_id: int) -> None:
    """Queue the blacklist/VIP state of one customer's numbers (after commit, cheap)."""
    rows = CustomerPhone.objects.filter(customer_id=customer_id).values_list(
        "number", "customer__level"
    )
    commands = [c for number, level in rows for c in number_commands(number, level)]
    pusher.push(commands)


def number_gone_push(*, number: str) -> None:
    pusher.push(number_commands(number, None))


def routing_last_agent_push(*, caller: str, agent_extension: str) -> None:
    """The bridge calls this when an answered inbound call ends: the caller's next call is
    offered first to this agent (``<ext>`` or ``<ext>@<domain>``). Never blocks: queued for
    the routing pusher thread; safe from an event loop."""
    if caller and agent_extension:
        pusher.push(last_agent_commands(caller, agent_extension))


# --- bulk provisioning ----------------------------------------------------------------------


def _blacklist_vip_commands() -> list[str]:
    rows = CustomerPhone.objects.filter(
        customer__level__in=[CustomerLevel.BLACKLISTED, CustomerLevel.VIP]
    ).values_list("number", "customer__level")
    commands = []
    for number, level in rows.iterator(chunk_size=2000):
        for form in caller_forms(number):
            if level == CustomerLevel.BLACKLISTED:
                commands.append(_hash("insert", BLACKLIST, form, "1"))
            else:
                commands.append(_hash("insert", VIP, form, str(VIP_SCORE)))
    return commands


def _last_agent_commands() -> list[str]:
    from telephony.choices import CallDirection, CallOutcome
    from telephony.models import Call

    since = timezone.now() - dt.timedelta(days=LAST_AGENT_DAYS)
    rows = (
        Call.objects.filter(
            direction=CallDirection.INBOUND,
            outcome=CallOutcome.ANSWERED,
            seat__isnull=False,
            created_at__gte=since,
        )
        .exclude(caller="")
        .order_by("caller", "-created_at")
        .distinct("caller")
        .values_list("caller", "seat__extension", "seat__domain")
    )
    commands = []
    for caller, ext, domain in rows.iterator(chunk_size=2000):
        commands += last_agent_commands(caller, f"{ext}@{domain}")
    return commands


def _agent_tier_commands(queues: Iterable[str]) -> list[str]:
    from telephony.models import Seat

    commands = []
    seats = list(Seat.objects.filter(active=True).values_list("extension", "domain"))
    for ext, domain in seats:
        commands.append(f"callcenter_config agent add {ext}@{domain} callback")
    for queue_name in queues:
        for ext, domain in seats:
            commands.append(f"callcenter_config tier add {queue_name} {ext}@{domain} 1 1")
    return commands


def overflow_commands(policies: Iterable[RoutingPolicy]) -> list[str]:
    """One ``global_setvar`` per queue: on when any active hotline of the queue is on."""
    state: dict[str, bool] = {}
    for policy in policies:
        if not policy.hotline.active:
            continue
        name = policy.hotline.queue_name
        state[name] = state.get(name, False) or policy.overflow_active
    return [
        f"global_setvar {overflow_var(name)}={'true' if on else 'false'}"
        for name, on in sorted(state.items())
    ]


def routing_commands_all() -> list[str]:
    """Everything the dialplan reads except the live overflow switch (the controller's)."""
    policies = policies_ensure()
    queues = sorted({p.hotline.queue_name for p in policies if p.hotline.active})
    return _blacklist_vip_commands() + _last_agent_commands() + _agent_tier_commands(queues)


def routing_provision_all() -> BatchResult:
    """Push everything the dialplan reads to the switch, synchronously (one connection).

    Stale blacklist/VIP entries for numbers removed while the switch was unreachable are
    not deleted here (FreeSWITCH's ``hash`` has no listing); they are removed by the change
    pushes, and a switch restart clears them.

    The overflow switch and the surge flag are left alone: the controller owns them."""
    result = send_batch(routing_commands_all())
    logger.info("routing provisioned: %d commands, %d refused", result.sent, len(result.failed))
    return result


def routing_after_reconnect():
    """The bridge calls this after every (re)connect's resync. Never raises, never blocks
    the bridge's loop: provisioning runs on a thread of its own."""
    import threading

    from django.db import connection

    def run() -> None:
        try:
            routing_provision_all()
        except Exception:
            logger.exception("routing provisioning after reconnect failed")
        finally:
            connection.close()

    thread = threading.Thread(target=run, name="routing-provision", daemon=True)
    thread.start()
    return thread
