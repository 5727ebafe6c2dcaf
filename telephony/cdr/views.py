"""The endpoint FreeSWITCH's mod_json_cdr posts CDRs to.

Not a user-facing view: the switch authenticates with HTTP Basic credentials
(``settings.TELEPHONY_CDR``, from ``CDR_USERNAME``/``CDR_PASSWORD``), compared in constant
time. CSRF does not apply to this machine-to-machine POST (no cookie session), so this one
view is exempt. Answers: 200 with what was done (also for a CDR already stored — the
switch must stop retrying), 400 with ``{code, message}`` for a body that is not a CDR,
401 without or with wrong credentials, 405 for anything but POST.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from telephony.cdr.services import cdr_decode, cdr_ingest
from tvshop.errors import DomainError

logger = logging.getLogger("telephony.cdr")

REALM = "tvshop-cdr"


def _authorized(request: HttpRequest) -> bool:
    config = settings.TELEPHONY_CDR
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _sep, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    username, sep, password = decoded.partition(":")
    # both compared, always, so the time does not tell which one was wrong
    user_ok = hmac.compare_digest(username.encode(), config["username"].encode())
    password_ok = hmac.compare_digest(password.encode(), config["password"].encode())
    return bool(sep) and user_ok and password_ok


def _refused() -> JsonResponse:
    response = JsonResponse(
        {"code": "not_authenticated", "message": "CDR credentials missing or wrong."}, status=401
    )
    response["WWW-Authenticate"] = f'Basic realm="{REALM}", charset="UTF-8"'
    return response


@csrf_exempt
@require_POST
def cdr_post(request: HttpRequest) -> JsonResponse:
    if not _authorized(request):
        logger.warning("CDR post refused from %s", request.META.get("REMOTE_ADDR"))
        return _refused()
    try:
        data = cdr_decode(request.body, request.content_type or "")
        outcome = cdr_ingest(data=data)
    except DomainError as exc:
        logger.warning("CDR rejected: %s", exc.message)
        return JsonResponse({"code": exc.code, "message": exc.message}, status=400)
    record = outcome.record
    return JsonResponse(
        {
            "uuid": record.uuid,
            "call_uuid": record.call_uuid,
            "result": record.result,
            "call": record.call_id,
            "duplicate": outcome.duplicate,
        }
    )
