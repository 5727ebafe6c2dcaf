"""The one place that reads the process environment.

Two wirings share the same code:

* **embedded** (no ``DATABASE_URL``): SQLite file, in-process channel layer, Celery tasks
  run in the calling process. One command, nothing to install — for a first look and small
  sites.
* **servers** (``DATABASE_URL`` set, usually with ``REDIS_URL``): PostgreSQL, Redis channel
  layer and cache, a Celery worker and beat. A missing production setting stops the start
  with a clear message instead of falling back silently.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"


def _flag(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in {"1", "true", "yes", "on"}:
        return True
    if raw.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0/true/false, got {raw!r}")


def _embedded_secret_key() -> str:
    """A per-checkout random key kept in var/ (never in the repository)."""
    VAR_DIR.mkdir(exist_ok=True)
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


@dataclass(frozen=True)
class Env:
    database_url: str | None
    redis_url: str | None
    secret_key: str
    debug: bool
    allowed_hosts: list[str]
    csrf_trusted_origins: list[str]
    embedded: bool
    esl_host: str | None
    esl_port: int
    esl_password: str | None
    email_backend: str
    # HTTP Basic credentials FreeSWITCH's mod_json_cdr posts CDRs with (telephony/cdr)
    cdr_username: str = "freeswitch"
    cdr_password: str = "CHANGE-ME-tvshop-cdr"


def read_env() -> Env:
    database_url = os.environ.get("DATABASE_URL") or None
    redis_url = os.environ.get("REDIS_URL") or None
    embedded = database_url is None
    secret_key = os.environ.get("SECRET_KEY", "")
    if not secret_key:
        if not embedded:
            raise ImproperlyConfigured(
                "SECRET_KEY is not set. With DATABASE_URL (the server wiring) a SECRET_KEY "
                "must be given in the environment, e.g. SECRET_KEY=$(openssl rand -base64 48)."
            )
        secret_key = _embedded_secret_key()
    debug = _flag("DEBUG", default=embedded)
    hosts = [h for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h]
    if not hosts:
        if not embedded and not debug:
            raise ImproperlyConfigured(
                "ALLOWED_HOSTS is not set. Give the host names the site is served under, "
                "comma-separated, e.g. ALLOWED_HOSTS=crm.example.com."
            )
        hosts = ["127.0.0.1", "localhost", "testserver"]
    origins = [o for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o]
    if os.environ.get("ESL_HOST") and not os.environ.get("ESL_PASSWORD"):
        raise ImproperlyConfigured(
            "ESL_PASSWORD is not set. With ESL_HOST (a real FreeSWITCH) give the event "
            "socket password of event_socket.conf.xml; FreeSWITCH's default must be changed."
        )
    cdr_username = os.environ.get("CDR_USERNAME") or "freeswitch"
    cdr_password = os.environ.get("CDR_PASSWORD") or ""
    if os.environ.get("ESL_HOST") and not (
        os.environ.get("CDR_USERNAME") and cdr_password and len(cdr_password) >= 12
    ):
        raise ImproperlyConfigured(
            "CDR_USERNAME and CDR_PASSWORD are not set (the password at least 12 characters). "
            "With ESL_HOST (a real FreeSWITCH) give the credentials mod_json_cdr posts call "
            "records with (json_cdr.conf.xml, param cred=username:password)."
        )
    return Env(
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret_key,
        debug=debug,
        allowed_hosts=hosts,
        csrf_trusted_origins=origins,
        embedded=embedded,
        esl_host=os.environ.get("ESL_HOST") or None,
        esl_port=int(os.environ.get("ESL_PORT", "8021")),
        esl_password=os.environ.get("ESL_PASSWORD") or None,
        email_backend=os.environ.get(
            "EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend"
        ),
        cdr_username=cdr_username,
        cdr_password=cdr_password or "CHANGE-ME-tvshop-cdr",
    )
