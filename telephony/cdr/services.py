"""CDR ingest: decode what mod_json_cdr posts, store it raw, reconcile the call records.

ESL events are not replayed after a disconnect: a call that started or ended while the
bridge was away is missing from the event stream, or left without its end. FreeSWITCH
posts one CDR per channel leg when the leg is done (mod_json_cdr, see
``telephony/freeswitch/autoload_configs/json_cdr.conf.xml``); :func:`cdr_ingest` makes the
records whole from it:

* **Stored raw, idempotent.** Every CDR is kept in :class:`CallDetailRecord`, unique per leg
  uuid; a CDR posted again (the switch retries on any non-2xx) changes nothing. A CDR whose
  reconcile fails is still stored (``failed``, with the error) so ``manage.py cdr_replay``
  can apply it again once the cause is fixed: the switch's copy is never lost.
* **The same rules as the event stream.** The CDR's variables are what the caller leg's
  ``CHANNEL_HANGUP_COMPLETE`` carries, so the CDR is read through
  :func:`telephony.normalize.normalize` as that event: which uuid is the call (agent legs
  belong to the caller's call and change nothing), the outcome (answered / captured for
  callback ``tvshop_callback=true`` / abandoned / rejected / failed), the queue wait and the
  talk time come out exactly as the bridge would have computed them.
* **Missing call → created** with its times, hotline and station (dialled number, the
  dialplan's ``tvshop_dnis`` first), queue, seat and the agent who held the seat *then*
  (``cc_agent`` → :class:`Seat` → the :class:`SeatSession` open at the answer time), the
  customer (looked up by number) and the day's lead counted, as the bridge does.
* **Incomplete call → completed**: a call still ``in_progress`` (the bridge missed the
  hang-up) or ended by a resynchronisation's guess (``resync:<uuid>`` event) takes the
  CDR's end, outcome and cause; fields the event stream already filled are never
  overwritten (its times are the switch's own, per event). A complete call only gets blank
  fields filled (e.g. a recording path).
* **Captures are never lost**: a CDR with the overflow outcome calls
  :func:`telephony.callbacks.services.callback_capture` (idempotent per call uuid), so a
  caller captured while the bridge was down still gets a callback request.

Writes are one transaction per CDR. The call record itself is written by
:func:`telephony.services.calls.call_reconcile_cdr` — the module that applies the switch's
events is the one writer of ``Call`` rows, whichever way the switch's word arrives (system
ingest: the raw CDR and a ``CallEvent`` ``cdr:<uuid>`` are the log; no audit entry per CDR,
as for switch events). A call created or completed goes to the supervisors' and wallboard's
live views after commit (``call.update``).
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import json
import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, unquote

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from telephony.cdr.models import CallDetailRecord, CdrResult
from telephony.choices import CallDirection, CallOutcome
from telephony.esl.events import Event
from telephony.groups import SUPERVISORS, WALLBOARD
from telephony.normalize import CallEnded, LegEnded, normalize
from telephony.payloads import call_summary
from telephony.services.calls import call_reconcile_cdr, publish_messages
from tvshop.errors import DomainError

logger = logging.getLogger("telephony.cdr")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
INBOUND = CallDirection.INBOUND.value
OUTBOUND = CallDirection.OUTBOUND.value


# -- decoding what the switch posts ------------------------------------------------------------


def _bad(message: str) -> DomainError:
    return DomainError(message, code="invalid_cdr")


def cdr_decode(body: bytes, content_type: str = "") -> dict:
    """The CDR document of one POST from mod_json_cdr, as a dict.

    mod_json_cdr's ``encode`` setting decides the body: ``true`` (its default) posts the
    form ``cdr=<url-encoded JSON>``, ``base64`` the form ``cdr=<base64 of the JSON>``,
    ``false`` the JSON itself. All three are accepted, whatever the Content-Type says.
    With ``encode-values`` (also its default) every string in the JSON is URL-encoded
    again; :func:`cdr_facts` decodes the values it reads. Raises :class:`DomainError`
    (``invalid_cdr``) with a message saying what is wrong.
    """
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise _bad(_("The CDR is not UTF-8 text.")) from None
    text = text.strip()
    if not text:
        raise _bad(_("The request has no CDR in it."))
    is_form = "application/x-www-form-urlencoded" in (content_type or "").lower()
    if is_form or text.startswith("cdr="):
        fields = parse_qs(text, keep_blank_values=True)
        values = fields.get("cdr")
        if not values or not values[0].strip():
            raise _bad(_("The form has no 'cdr' field."))
        text = values[0].strip()
    if not text.startswith(("{", "[")):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8").strip()
        except (binascii.Error, ValueError):
            raise _bad(_("The CDR is neither JSON nor base64-encoded JSON.")) from None
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise _bad(_("The CDR is not valid JSON: %(error)s") % {"error": exc}) from None
    if not isinstance(data, dict):
        raise _bad(_("The CDR must be a JSON object."))
    if not isinstance(data.get("variables"), dict):
        raise _bad(_("The CDR has no 'variables' object."))
    return data


# -- reading a CDR -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CdrFacts:
    """What one CDR says about its leg and the call it belongs to."""

    leg_uuid: str
    call_uuid: str
    core_uuid: str
    is_call_leg: bool  # the caller's leg (the call record's uuid), not an agent/customer leg
    direction: str
    caller: str
    dialled: str
    created_at: datetime | None
    queued_at: datetime | None
    answered_at: datetime | None  # an agent (or the called party) answered
    ended_at: datetime | None
    wait_seconds: int | None
    talk_seconds: int | None
    cause: str
    outcome: str
    queue: str
    agent: str  # mod_callcenter agent name (``1001@default``)
    callback_reason: str
    recording: str


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    if isinstance(value, str):
        return unquote(value) if "%" in value else value
    return ""


def _variables(data: dict) -> dict[str, str]:
    return {str(k): _text(v) for k, v in data.get("variables", {}).items()}


def _callflows(data: dict) -> list[dict]:
    flows = data.get("callflow")
    if isinstance(flows, dict):
        flows = [flows]
    return [f for f in flows or [] if isinstance(f, dict)]


def _first_profile(data: dict) -> dict[str, str]:
    """The caller profile the call started with (mod_json_cdr lists the newest first; the
    original has the lowest ``profile_index``), its values decoded."""
    flows = _callflows(data)
    if not flows:
        return {}

    def index(flow: dict) -> int:
        try:
            return int(_text(flow.get("profile_index")) or 0)
        except ValueError:
            return 0

    indexed = [f for f in flows if index(f) > 0]
    flow = min(indexed, key=index) if indexed else flows[-1]
    profile = flow.get("caller_profile")
    out = {str(k): _text(v) for k, v in (profile or {}).items() if not isinstance(v, dict | list)}
    times = flow.get("times")
    if isinstance(times, dict):
        out.update({f"times.{k}": _text(v) for k, v in times.items()})
    return out


def _number(text: str) -> int | None:
    text = (text or "").strip()
    if not text.isdigit():
        return None
    return int(text)


def _time(variables: dict[str, str], name: str) -> datetime | None:
    """``<name>_uepoch`` (µs), else ``<name>_epoch`` (s); ``0``/missing → ``None``."""
    micro = _number(variables.get(f"{name}_uepoch", ""))
    if micro:
        return _EPOCH + timedelta(microseconds=micro)
    seconds = _number(variables.get(f"{name}_epoch", ""))
    if seconds:
        return _EPOCH + timedelta(seconds=seconds)
    return None


def _seconds(variables: dict[str, str], name: str) -> datetime | None:
    seconds = _number(variables.get(name, ""))
    return _EPOCH + timedelta(seconds=seconds) if seconds else None


def _span(start: datetime | None, end: datetime | None) -> int | None:
    if start is None or end is None or end < start:
        return None
    return round((end - start).total_seconds())


def _as_event(variables: dict[str, str], profile: dict[str, str], leg_uuid: str) -> Event:
    """The CDR as the leg's ``CHANNEL_HANGUP_COMPLETE`` (the same variables), so the event
    stream's rules read it."""
    headers: list[tuple[str, str]] = [
        ("Event-Name", "CHANNEL_HANGUP_COMPLETE"),
        ("Unique-ID", leg_uuid),
        ("Call-Direction", variables.get("direction") or profile.get("direction") or ""),
        ("Hangup-Cause", variables.get("hangup_cause", "")),
        ("Caller-Caller-ID-Number", profile.get("caller_id_number", "")),
        ("Caller-Destination-Number", profile.get("destination_number", "")),
    ]
    headers += [(f"variable_{name}", value) for name, value in variables.items()]
    return Event(tuple((k, v) for k, v in headers if v != ""))


def cdr_facts(data: dict) -> CdrFacts:
    """Read a decoded CDR (:func:`cdr_decode`). Raises :class:`DomainError` when it names
    no leg (no ``variables.uuid`` nor caller-profile uuid)."""
    variables = _variables(data)
    profile = _first_profile(data)
    leg_uuid = (variables.get("uuid") or profile.get("uuid") or "").strip()[:64]
    if not leg_uuid:
        raise _bad(_("The CDR has no call uuid (variables.uuid)."))
    ended = None
    leg = None
    for domain_event in normalize(_as_event(variables, profile, leg_uuid)):
        if isinstance(domain_event, CallEnded):
            ended = domain_event
        elif isinstance(domain_event, LegEnded):
            leg = domain_event
    call_uuid = ended.call_uuid if ended else (leg.call_uuid if leg else leg_uuid)
    direction = (ended.direction if ended else None) or variables.get("direction") or INBOUND
    caller = (
        profile.get("caller_id_number")
        or variables.get("caller_id_number")
        or variables.get("original_caller_id_number")
        or variables.get("ani")
        or ""
    )
    dialled = (
        variables.get("tvshop_dnis")
        or variables.get("original_destination_number")
        or profile.get("destination_number")
        or variables.get("destination_number")
        or ""
    )
    created_at = _time(variables, "start")
    if created_at is None:
        micro = _number(profile.get("times.created_time", ""))
        created_at = _EPOCH + timedelta(microseconds=micro) if micro else None
    ended_at = (ended.ended_at if ended else None) or _time(variables, "end")
    outcome = ended.outcome if ended else CallOutcome.FAILED.value
    queued_at = _seconds(variables, "cc_queue_joined_epoch")
    answered_at = None
    if outcome == CallOutcome.ANSWERED:
        answered_at = _seconds(variables, "cc_queue_answered_epoch") or _time(variables, "bridge")
    wait = ended.wait_seconds if ended else None
    if wait is None and queued_at is not None:
        wait = _span(queued_at, answered_at or ended_at)
    talk = ended.talk_seconds if ended else None
    if talk is None and outcome == CallOutcome.ANSWERED:
        talk = _span(_time(variables, "bridge") or answered_at, ended_at)
    cause = (ended.cause if ended else None) or variables.get("hangup_cause") or ""
    return CdrFacts(
        leg_uuid=leg_uuid,
        call_uuid=call_uuid[:64],
        core_uuid=_text(data.get("core-uuid") or data.get("core_uuid"))[:64],
        is_call_leg=call_uuid == leg_uuid,
        direction=direction if direction in (INBOUND, OUTBOUND) else INBOUND,
        caller=caller.strip()[:64],
        dialled=dialled.strip()[:32],
        created_at=created_at,
        queued_at=queued_at,
        answered_at=answered_at,
        ended_at=ended_at,
        wait_seconds=wait,
        talk_seconds=talk,
        cause=cause[:50],
        outcome=outcome,
        queue=(variables.get("cc_queue") or variables.get("tvshop_callback_queue") or "")[:50],
        agent=variables.get("cc_agent", ""),
        callback_reason=variables.get("tvshop_callback_reason", ""),
        recording=(
            (ended.recording if ended else None)
            or variables.get("cc_record_filename")
            or variables.get("tvshop_recording")
            or ""
        )[:300],
    )


# -- ingest ------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class CdrIngestResult:
    record: CallDetailRecord
    duplicate: bool

    @property
    def result(self) -> str:
        return self.record.result


def cdr_ingest(*, data: dict, received_at: datetime | None = None) -> CdrIngestResult:
    """Store one decoded CDR and reconcile the call records with it (one transaction).

    Idempotent per leg uuid: a CDR already stored returns it with ``duplicate=True`` and
    changes nothing. Raises :class:`DomainError` only for a CDR that names no leg; any
    other failure of the reconcile is logged and kept on the record (``failed``).
    """
    facts = cdr_facts(data)
    received_at = received_at or timezone.now()
    with transaction.atomic():
        record = CallDetailRecord(
            uuid=facts.leg_uuid,
            call_uuid=facts.call_uuid,
            core_uuid=facts.core_uuid,
            received_at=received_at,
            result=CdrResult.FAILED,
            data=data,
        )
        try:
            with transaction.atomic():
                record.save(force_insert=True)
        except IntegrityError:
            known = CallDetailRecord.objects.get(uuid=facts.leg_uuid)
            return CdrIngestResult(record=known, duplicate=True)
        _apply(record, facts)
        record.save(update_fields=["result", "detail", "call"])
        _notify(record)
    logger.info(
        "CDR %s (call %s): %s %s", facts.leg_uuid, facts.call_uuid, record.result, record.detail
    )
    return CdrIngestResult(record=record, duplicate=False)


def cdr_replay(*, record: CallDetailRecord) -> CallDetailRecord:
    """Apply a stored CDR again (a ``failed`` one, once its cause is fixed). Reconciling is
    itself idempotent, so replaying a CDR that was applied changes nothing."""
    facts = cdr_facts(record.data)
    with transaction.atomic():
        record = CallDetailRecord.objects.select_for_update().get(pk=record.pk)
        _apply(record, facts)
        record.save(update_fields=["result", "detail", "call"])
        _notify(record)
    logger.info("CDR %s replayed: %s %s", record.uuid, record.result, record.detail)
    return record


def _notify(record: CallDetailRecord) -> None:
    """A call created or completed from its CDR goes to the supervisors' and wallboard's
    live views after commit, as the bridge's updates do (a notification: pages re-read)."""
    call = record.call
    if call is None or record.result not in (CdrResult.CREATED, CdrResult.COMPLETED):
        return
    summary = {"type": "call.update", "call": call_summary(call)}
    messages = [(SUPERVISORS, summary), (WALLBOARD, summary)]
    transaction.on_commit(lambda: _publish(messages))


def _publish(messages) -> None:
    try:
        publish_messages(messages)
    except Exception:  # Redis down must not fail an ingest that has committed
        logger.exception("CDR: pushing call.update failed")


def _apply(record: CallDetailRecord, facts: CdrFacts) -> None:
    """Reconcile inside a savepoint; a lost race with the bridge creating the same call
    (unique uuid) is retried once, then finds the bridge's row."""
    for attempt in (1, 2):
        try:
            with transaction.atomic():
                record.result, record.call, record.detail = call_reconcile_cdr(facts)
            return
        except IntegrityError:
            if attempt == 2:
                logger.exception("CDR %s: reconcile failed", facts.leg_uuid)
                record.result, record.call = CdrResult.FAILED, None
                record.detail = "integrity error"
        except Exception as exc:  # kept for replay: the switch's copy must not be lost
            logger.exception("CDR %s: reconcile failed", facts.leg_uuid)
            record.result, record.call = CdrResult.FAILED, None
            record.detail = f"{type(exc).__name__}: {exc}"[:300]
            return
