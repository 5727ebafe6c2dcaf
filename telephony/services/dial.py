"""Click-to-dial: the switch rings the agent's extension first, then the customer.

:func:`dial_customer` checks (permission, a seat, not already on a call, a valid number,
not blacklisted), writes the outbound :class:`~telephony.models.Call` and its audit entry
and commits — so the bridge recognises the call's uuid in the switch's events — and then
sends, per docs/telephony-contract.md::

    bgapi originate {origination_uuid=<call uuid>,origination_caller_id_number=<hotline>,…}
        user/<ext> &bridge({origination_caller_id_number=<hotline>}loopback/<national>/default)

The caller ID the customer sees is the hotline of the customer's source station (the
number they know), else ``settings.TELEPHONY_DEFAULT_CALLER_ID``.

Progress (ringing you, dialling the customer, connected, ended) reaches the desktop as
``dial.progress`` from the bridge, which follows the legs' events. A failure the switch
reports without any leg event — the extension is not registered (``SUBSCRIBER_ABSENT``),
busy, or the switch is down — is recorded here: the call ends ``failed`` with the cause,
the agent gets ``dial.progress`` "failed", and the page shows the cause at once if it came
within :func:`dial_wait_seconds`.

The page never holds the full number: it posts a CustomerPhone id (or a call id); the
server looks the number up.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid as uuid_module

from asgiref.sync import async_to_sync
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.choices import CustomerLevel
from crm.models import Customer, CustomerPhone
from crm.phones import phone_canonical
from crm.selectors.customers import customer_find_by_phone
from telephony.choices import CallDirection, CallOutcome
from telephony.models import Call, SeatSession
from telephony.services.desktop import BUSY_STATES
from telephony.switch import BgJob, SwitchRefused, SwitchUnavailable, switch_bgapi_job
from tvshop.audit.models import AuditAction
from tvshop.audit.services import audit_record, snapshot
from tvshop.errors import Conflict, DomainError, Forbidden, NotFound
from tvshop.media.models import Hotline

logger = logging.getLogger("telephony.dial")

DEFAULT_CALLER_ID = "4008000000"
DEFAULT_DIAL_WAIT = 1.0
ORIGINATE_TIMEOUT = 30  # seconds the agent's phone rings before the dial gives up
# A call "in progress" older than this is a record the switch never closed (e.g. the
# bridge was down): it does not keep the agent from dialling.
STALE_CALL_HOURS = 4
CALL_FIELDS = ["uuid", "direction", "caller", "callee", "dialled", "seat", "agent", "customer"]


def default_caller_id() -> str:
    return str(getattr(settings, "TELEPHONY_DEFAULT_CALLER_ID", DEFAULT_CALLER_ID))


def dial_wait_seconds() -> float:
    """How long the dial request waits for the switch's verdict on the agent's leg."""
    return float(getattr(settings, "TELEPHONY_DIAL_WAIT_SECONDS", DEFAULT_DIAL_WAIT))


def dial_digits(number: str) -> str:
    """What the trunk dials for a stored E.164 number: the national form for mainland
    numbers (13800138000, 075588881234, 4008001234), 00 + digits for others."""
    digits = "".join(ch for ch in number if ch.isdigit())
    if not number.startswith("+86"):
        return "00" + digits
    national = digits[2:]
    if (len(national) == 11 and national.startswith("1")) or national[:3] in ("400", "800"):
        return national  # mobile, 400/800 service numbers: no trunk prefix
    return "0" + national  # landline: trunk prefix + area code + number


def caller_id_for(customer: Customer | None) -> tuple[str, Hotline | None]:
    """The number the customer sees: their source station's hotline, else the default."""
    hotline = None
    if customer is not None and customer.source_station_id:
        hotline = (
            Hotline.objects.select_related("station")
            .filter(station_id=customer.source_station_id, active=True)
            .order_by("id")
            .first()
        )
    if hotline is None:
        number = default_caller_id()
        hotline = Hotline.objects.select_related("station").filter(number=number).first()
        return number, hotline
    return hotline.number, hotline


def agent_busy(user, seat=None) -> bool:
    """On a call: the seat rings or talks, or a call of the agent is still in progress."""
    if seat is not None and seat.state in BUSY_STATES:
        return True
    since = timezone.now() - dt.timedelta(hours=STALE_CALL_HOURS)
    return Call.objects.filter(
        agent=user, outcome=CallOutcome.IN_PROGRESS, created_at__gte=since
    ).exists()


def _resolve(number_or_phone_id: int | str, customer: Customer | None):
    if isinstance(number_or_phone_id, int):
        phone = (
            CustomerPhone.objects.select_related("customer__source_station")
            .filter(pk=number_or_phone_id)
            .first()
        )
        if phone is None:
            raise NotFound(_("That phone number no longer exists."))
        return phone.number, phone.customer
    number = phone_canonical(str(number_or_phone_id))  # InvalidPhone (a DomainError)
    if customer is None:
        customer = customer_find_by_phone(number)
    return number, customer


def _push_progress(call: Call, stage: str, cause: str = "") -> None:
    from channels.layers import get_channel_layer

    from telephony.groups import agent_group
    from telephony.payloads import call_payload

    if call.agent_id is None:
        return
    payload = {
        "type": "dial.progress",
        "call": call_payload(call, user=call.agent),
        "stage": stage,
        "cause": cause,
    }

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(agent_group(call.agent_id), payload)
        except Exception:
            logger.warning("dial.progress push for call %s failed", call.pk, exc_info=True)

    transaction.on_commit(send)


def dial_failed(*, call_id: int, cause: str) -> Call | None:
    """Record that a click-to-dial call failed with ``cause`` (idempotent: a call the bridge
    already closed is left alone); pushes ``dial.progress`` "failed"."""
    with transaction.atomic():
        call = (
            Call.objects.select_for_update(of=("self",))
            .select_related("agent", "customer", "hotline__station", "hotline__product")
            .filter(pk=call_id)
            .first()
        )
        if call is None or call.outcome != CallOutcome.IN_PROGRESS:
            return call
        before = snapshot(call, fields=["outcome", "hangup_cause", "ended_at"])
        call.outcome = CallOutcome.FAILED
        call.hangup_cause = (cause or "UNKNOWN")[:50]
        call.ended_at = timezone.now()
        call.save(update_fields=["outcome", "hangup_cause", "ended_at"])
        audit_record(
            actor=None,
            action=AuditAction.STATUS,
            obj=call,
            before=before,
            after=snapshot(call, fields=["outcome", "hangup_cause", "ended_at"]),
            note="click-to-dial failed",
        )
        _push_progress(call, "failed", call.hangup_cause)
    return call


def originate_command(*, call: Call, extension: str, caller_id: str, number: str) -> str:
    agent_vars = ",".join(
        [
            f"origination_uuid={call.uuid}",
            f"origination_caller_id_number={caller_id}",
            f"origination_caller_id_name={caller_id}",
            f"originate_timeout={ORIGINATE_TIMEOUT}",
            f"tvshop_call_id={call.pk}",
            "tvshop_click_to_dial=true",
        ]
    )
    return (
        f"originate {{{agent_vars}}}user/{extension} "
        f"&bridge({{origination_caller_id_number={caller_id}}}"
        f"loopback/{dial_digits(number)}/default)"
    )


def dial_customer(*, user, number_or_phone_id: int | str, customer: Customer | None = None) -> Call:
    """Dial a customer from the user's seat; the outbound call (``outcome`` "failed" with
    ``hangup_cause`` if the switch refused at once). Raises DomainError when refused."""
    if not user.has_perm("telephony.click_to_dial"):
        raise Forbidden(_("You may not dial customers."))
    number, customer = _resolve(number_or_phone_id, customer)
    if customer is not None and customer.level == CustomerLevel.BLACKLISTED:
        raise DomainError(_("This customer is blacklisted; the number is not dialled."))
    caller_id, hotline = caller_id_for(customer)
    with transaction.atomic():
        session = (
            SeatSession.objects.select_for_update(of=("self",))
            .select_related("seat")
            .filter(user=user, ended_at=None)
            .first()
        )
        if session is None:
            raise Conflict(
                _("Log into a seat on the agent desktop before dialling."), code="no_seat"
            )
        seat = session.seat
        if agent_busy(user, seat):
            raise Conflict(_("You are already on a call."), code="on_call")
        call = Call.objects.create(
            uuid=str(uuid_module.uuid4()),
            direction=CallDirection.OUTBOUND,
            caller=seat.extension,
            callee=number,
            dialled=caller_id,
            hotline=hotline,
            station=hotline.station if hotline is not None else None,
            seat=seat,
            agent=user,
            customer=customer,
            created_at=timezone.now(),
            outcome=CallOutcome.IN_PROGRESS,
        )
        audit_record(
            actor=user,
            action=AuditAction.CREATE,
            obj=call,
            after=snapshot(call, fields=CALL_FIELDS),
            note="click-to-dial",
        )
    command = originate_command(
        call=call, extension=seat.extension, caller_id=caller_id, number=number
    )
    call_id = call.pk

    def late_result(job: BgJob) -> None:
        if job.error:
            dial_failed(call_id=call_id, cause=job.error)

    try:
        job = switch_bgapi_job(command, wait=dial_wait_seconds(), on_result=late_result)
    except SwitchRefused as exc:
        dial_failed(call_id=call_id, cause=exc.reply.removeprefix("-ERR").strip())
        raise
    except SwitchUnavailable:
        dial_failed(call_id=call_id, cause="SWITCH_UNAVAILABLE")
        raise
    if job.finished and job.error:
        return dial_failed(call_id=call_id, cause=job.error) or call
    return call
