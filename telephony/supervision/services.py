"""Writes of the supervision package: opening a recording (audited) and supervising a live
call (listen, whisper, barge in, force hang-up; audited, executed on the switch).

Recordings
    A call's ``recording_path`` comes from the switch. :func:`recording_file` maps it to a
    file under ``TELEPHONY_RECORDINGS_ROOT`` — an absolute path starting with
    ``TELEPHONY_RECORDINGS_SWITCH_PREFIX`` (where the switch writes them, e.g.
    ``/var/lib/freeswitch/recordings``) is re-rooted there, a relative path is joined to it —
    and refuses anything that resolves outside the root (``..``, symlinks, other absolute
    paths). :func:`recording_access_record` writes the audit row of one play or download.

Supervision
    :func:`call_supervise` checks the permission, that the call is live in the database and
    on the switch (``uuid_exists``), and — for listen, whisper and barge — that the
    supervisor holds a seat, whose phone the switch then rings::

        originate {…,eavesdrop_…}user/<supervisor ext> &eavesdrop(<call uuid>)

    The eavesdropped uuid is the caller's leg (``Call.uuid``); its bridged partner (the
    "b-leg" in eavesdrop's terms) is the agent. Listen hears both and speaks to nobody;
    whisper speaks to the agent only (``eavesdrop_whisper_bleg``); barge speaks to both
    (``eavesdrop_bridge_aleg`` + ``eavesdrop_bridge_bleg``). Force hang-up is
    ``uuid_kill <uuid>``. Commands go through ``switch_bgapi_job`` and wait briefly for the
    job's verdict, so a phone that is not registered or a call that just ended is reported
    at once. The audit row is written in the same transaction, before the command, which
    runs last: a refusal rolls the audit row back and reaches the page as a clear message.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import logging
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from telephony.choices import CallOutcome
from telephony.models import Call, SeatSession
from tvshop.audit.services import audit_record
from tvshop.errors import Conflict, DomainError, Forbidden, NotFound

logger = logging.getLogger("telephony.supervision")

LISTEN_PERMISSION = "telephony.listen_recording"
SUPERVISE_PERMISSION = "telephony.supervise_call"
WALLBOARD_PERMISSION = "telephony.view_wallboard"

#: Seconds a supervision command waits for the switch's verdict before answering.
DEFAULT_SUPERVISE_WAIT = 2.0


class AuditActions:
    """Audit ``action`` codes of this package (free-form codes; the audit log shows them)."""

    RECORDING_PLAY = "recording_play"
    RECORDING_DOWNLOAD = "recording_download"
    SUPERVISE = "supervise"


class SupervisionMode(TextChoices):
    LISTEN = "listen", _("Listen")
    WHISPER = "whisper", _("Whisper")
    BARGE = "barge", _("Barge in")
    HANGUP = "hangup", _("Force hang-up")


#: Channel variables of the supervisor's leg per mode (FreeSWITCH mod_dptools eavesdrop).
EAVESDROP_VARIABLES: dict[str, dict[str, str]] = {
    SupervisionMode.LISTEN: {"eavesdrop_enable_dtmf": "false"},
    SupervisionMode.WHISPER: {"eavesdrop_enable_dtmf": "false", "eavesdrop_whisper_bleg": "true"},
    SupervisionMode.BARGE: {
        "eavesdrop_enable_dtmf": "false",
        "eavesdrop_bridge_aleg": "true",
        "eavesdrop_bridge_bleg": "true",
    },
}


# --- recordings ----------------------------------------------------------------------------


class RecordingMissing(NotFound):
    code = "recording_missing"

    def __init__(self, message=None, **kwargs):
        super().__init__(message or _("This call has no recording file."), **kwargs)


class RecordingOutsideRoot(Forbidden):
    code = "recording_outside_root"

    def __init__(self, message=None, **kwargs):
        super().__init__(
            message or _("The recording's path is outside the recordings folder."), **kwargs
        )


def recordings_root() -> Path:
    root = getattr(settings, "TELEPHONY_RECORDINGS_ROOT", None)
    if not root:
        from tvshop.env import VAR_DIR

        root = VAR_DIR / "recordings"
    return Path(root).resolve()


def recording_file(call: Call) -> Path:
    """The recording of ``call`` as a readable file under the recordings root.

    Raises :class:`RecordingMissing` (no path, no file) or :class:`RecordingOutsideRoot`."""
    raw = (call.recording_path or "").strip()
    if not raw or "\x00" in raw:
        raise RecordingMissing()
    root = recordings_root()
    path = Path(raw)
    prefix = getattr(settings, "TELEPHONY_RECORDINGS_SWITCH_PREFIX", "") or ""
    if prefix and path.is_absolute():
        with contextlib.suppress(ValueError):  # not under the prefix: checked below
            path = path.relative_to(Path(prefix))
    candidate = (root / path).resolve() if not path.is_absolute() else path.resolve()
    if not candidate.is_relative_to(root):
        logger.warning("recording of call %s points outside the root: %r", call.pk, raw)
        raise RecordingOutsideRoot()
    if not candidate.is_file():
        raise RecordingMissing(_("The recording file is not on the server (yet)."))
    return candidate


def recording_access_record(*, actor, call: Call, download: bool, ip: str | None = None) -> None:
    """Audit one play (or download) of ``call``'s recording by ``actor``."""
    if not actor.has_perm(LISTEN_PERMISSION):
        raise Forbidden(_("You may not listen to recordings."))
    action = AuditActions.RECORDING_DOWNLOAD if download else AuditActions.RECORDING_PLAY
    with transaction.atomic():
        audit_record(
            actor=actor,
            action=action,
            obj=call,
            after={"recording": call.recording_path, "uuid": call.uuid},
            ip=ip,
        )


# --- supervision ---------------------------------------------------------------------------


class CallGone(Conflict):
    code = "call_gone"

    def __init__(self, message=None, **kwargs):
        super().__init__(message or _("This call has already ended."), **kwargs)


class NoSupervisorSeat(Conflict):
    code = "no_seat"

    def __init__(self, message=None, **kwargs):
        super().__init__(
            message
            or _(
                "Log into a seat first: the switch rings your seat's phone to listen, "
                "whisper or barge in."
            ),
            **kwargs,
        )


@dataclasses.dataclass
class SupervisionResult:
    mode: str
    call_id: int
    job_uuid: str
    finished: bool
    output: str = ""
    extension: str = ""


def supervise_wait() -> float:
    return float(getattr(settings, "TELEPHONY_SUPERVISE_WAIT_SECONDS", DEFAULT_SUPERVISE_WAIT))


def _variables(values: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in values.items())


def supervise_command(*, mode: str, call_uuid: str, extension: str = "") -> str:
    """The switch command for ``mode`` on the call ``call_uuid`` (pure; tested as text)."""
    if mode == SupervisionMode.HANGUP:
        return f"uuid_kill {call_uuid} MANAGER_REQUEST"
    variables = {
        "origination_caller_id_name": f"supervise-{mode}",
        "origination_caller_id_number": extension,
        "tvshop_supervise": str(mode),
        "tvshop_supervised_call": call_uuid,
        **EAVESDROP_VARIABLES[mode],
    }
    return f"originate {{{_variables(variables)}}}user/{extension} &eavesdrop({call_uuid})"


def _switch_has_channel(call_uuid: str) -> bool:
    from telephony.switch import switch_api

    return switch_api(f"uuid_exists {call_uuid}").strip().lower() == "true"


def call_supervise(
    *, supervisor, call: Call, mode: str, ip: str | None = None
) -> SupervisionResult:
    """Listen to, whisper to, barge into or end ``call`` as ``supervisor``.

    Refusals: :class:`~tvshop.errors.Forbidden` without ``telephony.supervise_call``;
    :class:`CallGone` when the call ended (in the database or on the switch);
    :class:`NoSupervisorSeat` when listening/whispering/barging without a seat; a
    ``DomainError`` carrying the switch's cause when the switch refuses (e.g. the
    supervisor's phone is not registered: ``SUBSCRIBER_ABSENT``).
    """
    from telephony.switch import SwitchRefused, switch_bgapi_job

    if mode not in SupervisionMode.values:
        raise DomainError(_("Unknown supervision action."), fields={"mode": [_("Unknown.")]})
    if not supervisor.has_perm(SUPERVISE_PERMISSION):
        raise Forbidden(_("You may not supervise calls."))
    with transaction.atomic():
        # No row lock: the command may wait seconds for the switch, and the bridge must
        # stay free to record the call's end meanwhile.
        locked = Call.objects.filter(pk=call.pk).first()
        if locked is None or locked.outcome != CallOutcome.IN_PROGRESS or locked.ended_at:
            raise CallGone()
        extension = ""
        if mode != SupervisionMode.HANGUP:
            session = (
                SeatSession.objects.select_related("seat")
                .filter(user=supervisor, ended_at=None)
                .first()
            )
            if session is None:
                raise NoSupervisorSeat()
            if locked.seat_id is not None and session.seat_id == locked.seat_id:
                raise DomainError(_("This is your own call."), code="own_call")
            extension = session.seat.extension
        command = supervise_command(mode=mode, call_uuid=locked.uuid, extension=extension)
        audit_record(
            actor=supervisor,
            action=AuditActions.SUPERVISE,
            obj=locked,
            after={
                "mode": str(mode),
                "uuid": locked.uuid,
                "extension": extension,
                "agent_id": locked.agent_id,
                "at": timezone.now(),
            },
            note=str(mode),
            ip=ip,
        )
        # Last, so a refusal rolls the audit row back.
        try:
            exists = _switch_has_channel(locked.uuid)
        except SwitchRefused:  # a switch without uuid_exists: let the command decide
            exists = True
        if not exists:
            raise CallGone(_("The call is no longer on the switch."))
        job = switch_bgapi_job(command, wait=supervise_wait())
        if job.finished and job.error:
            if "no such channel" in job.error.lower():
                raise CallGone(_("The call is no longer on the switch."))
            raise Conflict(
                _("The switch could not do it: %(cause)s") % {"cause": job.error},
                code="switch_failed",
            )
    return SupervisionResult(
        mode=str(mode),
        call_id=locked.pk,
        job_uuid=job.job_uuid,
        finished=job.finished,
        output=job.output.strip(),
        extension=extension,
    )


# --- retention -----------------------------------------------------------------------------


def recordings_retention_days() -> int | None:
    """``TELEPHONY_RECORDINGS_RETENTION_DAYS``; ``None`` (the default) keeps recordings."""
    days = getattr(settings, "TELEPHONY_RECORDINGS_RETENTION_DAYS", None)
    return int(days) if days else None


def recordings_purge(*, older_than, actor=None, batch_size: int = 500) -> int:
    """Delete the recording files of calls started before ``older_than`` and clear their
    ``recording_path``; returns how many recordings were removed. Files outside the
    recordings root are never touched (their path stays, a warning is logged); a path whose
    file is already gone is cleared. One audit row per run that removed something.
    """
    from telephony.supervision.models import Recording

    removed = 0
    last_id = 0
    while True:
        calls = list(
            Recording.objects.with_file()
            .filter(created_at__lt=older_than, pk__gt=last_id)
            .order_by("pk")[:batch_size]
        )
        if not calls:
            break
        last_id = calls[-1].pk
        cleared: list[int] = []
        for call in calls:
            try:
                path = recording_file(call)
            except RecordingOutsideRoot:
                continue
            except RecordingMissing:
                cleared.append(call.pk)
                continue
            try:
                path.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                logger.warning("could not delete %s", path, exc_info=True)
                continue
            cleared.append(call.pk)
        if cleared:
            # The files are gone whatever happens next: clear their paths right away.
            Call.objects.filter(pk__in=cleared).update(recording_path="")
            removed += len(cleared)
    if removed:
        with transaction.atomic():
            audit_record(
                actor=actor,
                action="delete",
                object_type=Recording,
                object_repr=f"{removed} recordings",
                after={"removed": removed, "older_than": older_than},
                note="recordings retention",
            )
    return removed


def recordings_purge_expired(*, now=None) -> int:
    """:func:`recordings_purge` with the configured retention (nothing when unset)."""
    days = recordings_retention_days()
    if not days:
        return 0
    now = now or timezone.now()
    return recordings_purge(older_than=now - dt.timedelta(days=days))


# --- seats: force not-ready, force logout (wallboard) -------------------------------------


class SeatNotStaffed(Conflict):
    code = "seat_empty"

    def __init__(self, message=None, **kwargs):
        super().__init__(message or _("Nobody is logged into this seat."), **kwargs)


class SeatAction(TextChoices):
    NOT_READY = "not_ready", _("Force not ready")
    LOGOUT = "logout", _("Force logout")


def _staffed_seat(seat_id: int):
    """The seat's open session and seat, both locked (``SeatNotStaffed`` if nobody is in)."""
    session = (
        SeatSession.objects.select_for_update(of=("self", "seat"))
        .select_related("seat", "user")
        .filter(seat_id=seat_id, ended_at=None)
        .first()
    )
    if session is None:
        from telephony.models import Seat

        if not Seat.objects.filter(pk=seat_id).exists():
            raise NotFound(_("No such seat."))
        raise SeatNotStaffed()
    return session


def seat_force_not_ready(*, supervisor, seat_id: int, ip: str | None = None):
    """Put the agent in seat ``seat_id`` on break (``On Break``, reason *other*), as
    ``supervisor``: audited with the supervisor as the actor, pushed to the switch
    (``callcenter_config agent set status``; a refusal rolls everything back) and to the
    agent's desktop. A call in progress goes on; the queues stop offering new ones."""
    from telephony.choices import AgentStatus, NotReadyReason
    from telephony.services.desktop import _set_status

    if not supervisor.has_perm(SUPERVISE_PERMISSION):
        raise Forbidden(_("You may not supervise agents."))
    with transaction.atomic():
        session = _staffed_seat(seat_id)
        seat = _set_status(
            actor=supervisor,
            seat=session.seat,
            user=session.user,
            status=AgentStatus.ON_BREAK,
            reason=NotReadyReason.OTHER,
            note=f"forced not ready by supervisor {supervisor.pk}" + (f" from {ip}" if ip else ""),
        )
    return seat


def seat_force_logout(*, supervisor, seat_id: int, ip: str | None = None):
    """Close the session of the agent in seat ``seat_id`` as ``supervisor`` (an agent who
    left without logging out): the seat goes ``Logged Out`` on the switch, audited (actor:
    the supervisor), the agent's desktop is told. A call in progress is not cut — the
    switch only stops offering calls; the bridge records the call's end as usual."""
    from telephony.choices import AgentStatus
    from telephony.services.desktop import _push_status, _set_status
    from tvshop.audit.models import AuditAction
    from tvshop.audit.services import snapshot

    if not supervisor.has_perm(SUPERVISE_PERMISSION):
        raise Forbidden(_("You may not supervise agents."))
    with transaction.atomic():
        session = _staffed_seat(seat_id)
        user = session.user
        before = snapshot(session)
        session.ended_at = timezone.now()
        session.save(update_fields=["ended_at"])
        note = f"forced logout of seat {session.seat.extension} by supervisor {supervisor.pk}"
        audit_record(
            actor=supervisor,
            action=AuditAction.LOGOUT,
            obj=session,
            before=before,
            after=snapshot(session),
            note=note,
            ip=ip,
        )
        _set_status(
            actor=supervisor,
            seat=session.seat,
            user=user,
            status=AgentStatus.LOGGED_OUT,
            note=note,
        )
        _push_status(user.pk, None)
    return session
