"""Pages of the supervision package: the wallboard, the supervision actions it posts, the
recordings list and the recording stream (play / download).

Every view checks its permission on the server; writes and audit rows go through
:mod:`telephony.supervision.services`; refusals come back with their 4xx status.
"""

from __future__ import annotations

import mimetypes
import re
from collections.abc import Iterator
from pathlib import Path

from django.contrib.auth.decorators import login_required, permission_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from crm.masking import phone_for_user
from telephony.models import Call
from telephony.supervision import selectors, services
from telephony.supervision.forms import RecordingSearchForm, SupervisionForm
from telephony.supervision.models import Recording
from tvshop.errors import DomainError

WS_PATH = "/ws/wallboard/"
CHUNK = 64 * 1024
RECORDINGS_PER_PAGE = 25
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


# --- wallboard -----------------------------------------------------------------------------


def _labels() -> dict:
    return {
        "connecting": _("Connecting…"),
        "connected": _("Live"),
        "disconnected": _("Connection lost, reconnecting…"),
        "refused": _("The live connection was refused. Reload the page or log in again."),
        "views": {
            selectors.VIEW_LOGGED_OUT: _("Logged out"),
            selectors.VIEW_READY: _("Ready"),
            selectors.VIEW_NOT_READY: _("Not ready"),
            selectors.VIEW_ACW: _("After-call work"),
            selectors.VIEW_RINGING: _("Ringing"),
            selectors.VIEW_TALKING: _("Talking"),
        },
        "modes": {mode.value: str(mode.label) for mode in services.SupervisionMode},
        "confirm_hangup": _("End this call for the caller and the agent?"),
        "unknown": _("unknown"),
        "on": _("on"),
        "off": _("off"),
        "no_station": _("No station"),
        "calls_per_minute": _("Calls per minute"),
        "waiting": _("waiting"),
        "talking": _("talking"),
        "in_ivr": _("in IVR"),
        "seat_actions": {a.value: str(a.label) for a in services.SeatAction},
        "confirm_logout": _("Log this agent out of the seat?"),
    }


@login_required
@permission_required(services.WALLBOARD_PERMISSION, raise_exception=True)
@require_GET
def wallboard(request):
    """The supervisor's live page: rendered from a snapshot, then kept live by the socket."""
    snapshot = selectors.wallboard_snapshot()
    can_supervise = request.user.has_perm(services.SUPERVISE_PERMISSION)
    config = {
        "ws_path": WS_PATH,
        "snapshot": snapshot,
        "can_supervise": can_supervise,
        "supervise_url": reverse("telephony:supervise", args=[0]).replace("/0/", "/{id}/"),
        "seat_force_url": reverse("telephony:seat_force", args=[0]).replace("/0/", "/{id}/"),
        "labels": _labels(),
    }
    context = {
        "snapshot": snapshot,
        "config": config,
        "can_supervise": can_supervise,
        "modes": services.SupervisionMode,
    }
    context.update(_display(snapshot))
    return render(request, "telephony/wallboard.html", context)


def _clock(seconds: float | int | None) -> str:
    """``m:ss`` (or ``h:mm:ss``) for a duration in seconds."""
    seconds = max(int(seconds or 0), 0)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _display(snapshot: dict) -> dict:
    """What the server-rendered page shows besides the snapshot itself (the script keeps
    the same fields current afterwards)."""
    import datetime as dt

    now = dt.datetime.fromisoformat(snapshot["at"])
    labels = _labels()

    def age(iso: str | None) -> float:
        return (now - dt.datetime.fromisoformat(iso)).total_seconds() if iso else 0

    for seat in snapshot["seats"]:
        seat["view_display"] = labels["views"].get(seat["view"], seat["view"])
        seat["since_display"] = _clock(age(seat["since"])) if seat["since"] else ""
    for queue in snapshot["queues"]:
        queue["longest_wait_display"] = _clock(queue["longest_wait_seconds"])
        level = queue["service_level_today"]
        queue["service_level_percent"] = round(level * 100) if level is not None else None
    extensions = {s["seat_id"]: s["extension"] for s in snapshot["seats"]}
    calls = []
    for call in snapshot["live_calls"]:
        if call["answered_at"]:
            state, since = labels["talking"], call["answered_at"]
        elif call["queued_at"]:
            state, since = labels["waiting"], call["queued_at"]
        else:
            state, since = labels["in_ivr"], call["created_at"]
        calls.append(
            {
                **call,
                "state_display": state,
                "extension": extensions.get(call["seat_id"], ""),
                "duration_display": _clock(age(since)),
            }
        )
    return {
        "calls": calls,
        "waiting_total": sum(q["waiting"] for q in snapshot["queues"]),
        "longest_wait": _clock(
            max((q["longest_wait_seconds"] for q in snapshot["queues"]), default=0)
        ),
    }


@login_required
@permission_required(services.WALLBOARD_PERMISSION, raise_exception=True)
@require_GET
def wallboard_snapshot(request):
    """The snapshot as JSON (a browser without websockets polls this)."""
    return JsonResponse(selectors.wallboard_snapshot())


@login_required
@permission_required(services.SUPERVISE_PERMISSION, raise_exception=True)
@require_POST
def supervise(request, pk: int):
    """Listen, whisper, barge in or force hang-up on a live call (JSON answer)."""
    call = Call.objects.filter(pk=pk).first()
    if call is None:
        return JsonResponse(
            {"code": "call_gone", "message": _("This call has already ended."), "fields": {}},
            status=409,
        )
    form = SupervisionForm(request.POST)
    if not form.is_valid():
        return JsonResponse(
            {
                "code": "invalid",
                "message": _("Choose an action."),
                "fields": {k: [str(m) for m in v] for k, v in form.errors.items()},
            },
            status=400,
        )
    mode = form.cleaned_data["mode"]
    try:
        result = services.call_supervise(
            supervisor=request.user, call=call, mode=mode, ip=_ip(request)
        )
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    if mode == services.SupervisionMode.HANGUP:
        message = _("The call was ended.")
    elif result.finished:
        message = _("Connected: you are on the call (%(mode)s).") % {
            "mode": services.SupervisionMode(mode).label
        }
    else:
        message = _("Ringing your phone (seat %(ext)s)…") % {"ext": result.extension}
    return JsonResponse(
        {
            "ok": True,
            "mode": result.mode,
            "call_id": result.call_id,
            "job_uuid": result.job_uuid,
            "message": message,
        }
    )


@login_required
@permission_required(services.SUPERVISE_PERMISSION, raise_exception=True)
@require_POST
def seat_force(request, pk: int):
    """Force an agent not ready, or log them out, from the wallboard (JSON answer)."""
    action = request.POST.get("action", "")
    if action not in services.SeatAction.values:
        return JsonResponse(
            {
                "code": "invalid",
                "message": _("Choose an action."),
                "fields": {"action": [_("Unknown.")]},
            },
            status=400,
        )
    try:
        if action == services.SeatAction.NOT_READY:
            services.seat_force_not_ready(supervisor=request.user, seat_id=pk, ip=_ip(request))
            message = _("The agent is now not ready.")
        else:
            services.seat_force_logout(supervisor=request.user, seat_id=pk, ip=_ip(request))
            message = _("The agent was logged out.")
    except DomainError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"ok": True, "action": action, "seat_id": pk, "message": message})


# --- recordings ----------------------------------------------------------------------------


@login_required
@permission_required(services.LISTEN_PERMISSION, raise_exception=True)
@require_GET
def recording_list(request):
    """Search recordings; each row plays inline and downloads."""
    form = RecordingSearchForm(request.GET or None)
    if form.is_bound and form.is_valid():
        queryset = selectors.recordings_search(**form.search_kwargs())
    elif form.is_bound:
        queryset = Recording.objects.none()
    else:
        queryset = selectors.recordings_search()
    page = Paginator(queryset, RECORDINGS_PER_PAGE).get_page(request.GET.get("page"))
    rows = [
        {
            "call": call,
            "caller": phone_for_user(
                call.caller if call.direction == "inbound" else (call.callee or call.caller),
                request.user,
            ),
        }
        for call in page.object_list
    ]
    template = (
        "telephony/recording_results.html"
        if request.headers.get("HX-Request") == "true"
        else "telephony/recording_list.html"
    )
    return render(request, template, {"form": form, "page_obj": page, "rows": rows})


def _parse_range(header: str, size: int) -> tuple[int, int] | bool | None:
    """One ``bytes=`` range → (start, end inclusive); ``None``: serve it all (no header,
    several ranges, or a unit we do not speak); ``False``: unsatisfiable (416)."""
    header = (header or "").strip()
    if not header:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return False
        return max(size - length, 0), size - 1
    start = int(first)
    end = int(last) if last else size - 1
    if start >= size or end < start:
        return False
    return start, min(end, size - 1)


def _file_part(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(start)
        left = length
        while left > 0:
            chunk = handle.read(min(CHUNK, left))
            if not chunk:
                return
            left -= len(chunk)
            yield chunk


@login_required
@permission_required(services.LISTEN_PERMISSION, raise_exception=True)
@require_GET
def recording_stream(request, pk: int, download: bool = False):
    """The recording's bytes, range-capable (the audio element seeks with ``Range``).

    Audited once per play — the request that starts at byte 0 — and once per download."""
    call = get_object_or_404(Recording.objects.with_file(), pk=pk)
    try:
        path = services.recording_file(call)
    except DomainError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        return HttpResponse(exc.message, status=exc.status, content_type="text/plain")
    size = path.stat().st_size
    wanted = _parse_range(request.headers.get("Range", ""), size)
    if wanted is False:
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        response["Accept-Ranges"] = "bytes"
        return response
    start, end = wanted if wanted else (0, size - 1)
    if start == 0:
        services.recording_access_record(
            actor=request.user, call=call, download=download, ip=_ip(request)
        )
    length = max(end - start + 1, 0)
    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = StreamingHttpResponse(
        _file_part(path, start, length), status=206 if wanted else 200, content_type=content_type
    )
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, no-store"
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    disposition = "attachment" if download else "inline"
    name = f"call-{call.pk}-{call.created_at:%Y%m%d-%H%M%S}{path.suffix}"
    response["Content-Disposition"] = f'{disposition}; filename="{name}"'
    return response


def recording_download(request, pk: int):
    return recording_stream(request, pk, download=True)
