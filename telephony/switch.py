"""Commands to the phone switch from synchronous code (web views, services).

Web views do not share the bridge's long-lived ESL connection: each command opens a
short-lived one (connect, auth, command, exit), which costs a couple of milliseconds on a
LAN and keeps a web worker independent of the bridge process.

* :func:`switch_api` — ``api CMD``; returns the switch's text.
* :func:`switch_bgapi` — ``bgapi CMD``; returns the job uuid once the switch accepted the
  job. :func:`switch_bgapi_job` does the same and can wait a little for the job's result
  (click-to-dial uses it to report fast failures such as ``SUBSCRIBER_ABSENT`` at once).

A background job's connection stays open in a daemon thread until its ``BACKGROUND_JOB``
arrives (at most :data:`JOB_HOLD_SECONDS`): FreeSWITCH runs a job to its end whatever
happens to the socket, but the built-in simulator ends a connection's jobs with it, and the
result is only delivered to a live connection.

Where the switch is: ``settings.TELEPHONY_ESL`` (``ESL_HOST``/``ESL_PORT``/``ESL_PASSWORD``);
in the embedded wiring (no ``ESL_HOST``) the built-in simulator's address as published by
``telephony.embedded.simulator_address()`` once it runs.

Every failure is a translated :class:`~tvshop.errors.DomainError` — the switch is down
(:class:`SwitchUnavailable`, 503) or refused the command (:class:`SwitchRefused`, 409) — so a
page shows a message and never a 500.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import uuid as uuid_module
from collections.abc import Callable
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from telephony.esl.client import ESLClient
from telephony.esl.errors import AccessDenied, AuthError, CommandError, ESLError
from tvshop.errors import DomainError

logger = logging.getLogger("telephony.switch")

CONNECT_TIMEOUT = 3.0  # seconds to reach and log into the switch
COMMAND_TIMEOUT = 5.0  # seconds for an api reply
JOB_HOLD_SECONDS = 120.0  # how long a bgapi connection waits for its job's result


class SwitchUnavailable(DomainError):
    code = "switch_unavailable"
    status = 503

    def __init__(self, message=None, **kwargs):
        super().__init__(
            message
            or _(
                "The phone switch cannot be reached. Try again in a moment; "
                "if it keeps failing, tell a supervisor."
            ),
            **kwargs,
        )


class SwitchRefused(DomainError):
    """The switch answered ``-ERR``; ``reply`` is its text (e.g. ``-ERR Invalid Agent!``)."""

    code = "switch_refused"
    status = 409

    def __init__(self, command: str, reply: str):
        self.command = command
        self.reply = reply.strip()
        word = command.split(" ", 1)[0]
        super().__init__(
            _("The phone switch refused “%(command)s”: %(reply)s")
            % {"command": word, "reply": self.reply}
        )


@dataclass(frozen=True)
class SwitchAddress:
    host: str
    port: int
    password: str


def switch_address() -> SwitchAddress:
    """Where to send commands: the configured switch, or the embedded simulator."""
    conf = getattr(settings, "TELEPHONY_ESL", {}) or {}
    host, port = conf.get("host") or "127.0.0.1", int(conf.get("port") or 8021)
    password = conf.get("password") or "ClueCon"
    if conf.get("simulated"):
        try:
            from telephony import embedded  # written by the bridge work; may not exist
        except ImportError:
            embedded = None
        if embedded is not None and hasattr(embedded, "simulator_address"):
            address = embedded.simulator_address()
            if isinstance(address, dict):
                host = address.get("host", host)
                port = int(address.get("port", port))
                password = address.get("password", password)
            elif isinstance(address, tuple | list) and len(address) >= 2:
                host, port = address[0], int(address[1])
                if len(address) > 2:
                    password = address[2]
    return SwitchAddress(host=host, port=port, password=password)


class _WebClient(ESLClient):
    """The ESL client with a ``bgapi`` whose Job-UUID the caller knows up front (the base
    ``bgapi`` picks its own; a fast job may be finished before the caller could see it)."""

    async def bgapi_as(
        self, cmd: str, job_uuid: str, *, timeout: float | None = None
    ) -> asyncio.Future[str]:
        line = f"bgapi {cmd}"
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._jobs[job_uuid] = (line, future)
        future.add_done_callback(lambda _f: self._jobs.pop(job_uuid, None))
        try:
            await self._checked(line, [("Job-UUID", job_uuid)], timeout=timeout)
        except BaseException:
            future.cancel()
            raise
        return future


def _client(address: SwitchAddress) -> _WebClient:
    return _WebClient(
        address.host,
        address.port,
        address.password,
        heartbeat_timeout=None,
        connect_timeout=CONNECT_TIMEOUT,
        command_timeout=COMMAND_TIMEOUT,
        reconnect_initial=0.05,
        reconnect_max=0.2,
        queue_size=100,
        name="esl-web",
    )


async def _connect(client: _WebClient, address: SwitchAddress) -> None:
    try:
        await client.connect(timeout=CONNECT_TIMEOUT)
    except (AuthError, AccessDenied) as exc:
        logger.error("switch %s:%s refused our login: %s", address.host, address.port, exc)
        raise SwitchUnavailable(
            _("The phone switch refused the application's login; tell an administrator.")
        ) from exc
    except (TimeoutError, ESLError, OSError) as exc:
        logger.warning("switch %s:%s unreachable: %s", address.host, address.port, exc)
        raise SwitchUnavailable() from exc


async def _api(cmd: str, address: SwitchAddress) -> str:
    client = _client(address)
    try:
        await _connect(client, address)
        try:
            return await client.api(cmd, timeout=COMMAND_TIMEOUT)
        except CommandError as exc:
            raise SwitchRefused(cmd, exc.reply) from exc
        except ESLError as exc:
            raise SwitchUnavailable() from exc
    finally:
        await client.close()


def switch_api(cmd: str) -> str:
    """``api cmd`` on the switch; its reply text. Raises SwitchUnavailable / SwitchRefused.

    For synchronous callers. Called from a thread that runs an event loop (where
    ``async_to_sync`` refuses to work), the command runs on a helper thread instead.
    """
    address = switch_address()
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return async_to_sync(_api)(cmd, address)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, _api(cmd, address)).result()


@dataclass
class BgJob:
    """A background job: ``finished`` once its result arrived (within the wait)."""

    job_uuid: str
    finished: bool = False
    output: str = ""
    error: str = ""  # the -ERR text without "-ERR " (e.g. "SUBSCRIBER_ABSENT")

    @property
    def ok(self) -> bool:
        return self.finished and not self.error


JobCallback = Callable[[BgJob], None]


def _error_text(reply: str) -> str:
    text = reply.strip()
    for prefix in ("-ERR", "-USAGE:", "-USAGE"):
        if text.startswith(prefix):
            return text[len(prefix) :].strip() or text
    return text


def switch_bgapi_job(
    cmd: str,
    *,
    wait: float = 0.0,
    on_result: JobCallback | None = None,
    hold: float = JOB_HOLD_SECONDS,
) -> BgJob:
    """``bgapi cmd``: returns once the switch accepted the job (its uuid), after waiting up
    to ``wait`` seconds for the result. If the result comes later, ``on_result`` is called
    with it from the job's thread (which closes its own database connection afterwards);
    it is not called when the result arrived within ``wait``.
    """
    address = switch_address()
    job_uuid = str(uuid_module.uuid4())
    accepted: concurrent.futures.Future[str] = concurrent.futures.Future()
    result: concurrent.futures.Future[BgJob] = concurrent.futures.Future()
    claim = threading.Lock()
    claimed = {"by_caller": False}

    async def run() -> None:
        client = _client(address)
        try:
            try:
                await _connect(client, address)
                job = await client.bgapi_as(cmd, job_uuid, timeout=COMMAND_TIMEOUT)
            except CommandError as exc:
                accepted.set_exception(SwitchRefused(cmd, exc.reply))
                return
            except DomainError as exc:
                accepted.set_exception(exc)
                return
            except ESLError as exc:
                accepted.set_exception(SwitchUnavailable())
                logger.warning("bgapi %r not accepted: %s", cmd, exc)
                return
            accepted.set_result(job_uuid)
            outcome = BgJob(job_uuid=job_uuid, finished=True)
            try:
                outcome.output = await asyncio.wait_for(job, timeout=hold)
            except CommandError as exc:
                outcome.error = _error_text(exc.reply)
            except (TimeoutError, ESLError) as exc:
                outcome.finished = False
                logger.warning("bgapi %r: no result (%s)", cmd, exc)
            result.set_result(outcome)
        finally:
            with contextlib.suppress(Exception):
                await client.close()

    def late_result() -> None:
        """Outside the event loop (the handler may use the ORM)."""
        if on_result is None or not result.done():
            return
        outcome = result.result()
        with claim:
            late = not claimed["by_caller"]
        if not (late and outcome.finished):
            return
        try:
            on_result(outcome)
        except Exception:
            logger.exception("bgapi %r: result handler failed", cmd)
        finally:
            from django.db import connection

            connection.close()

    def thread_main() -> None:
        try:
            asyncio.run(run())
        except BaseException as exc:  # never leave the caller waiting
            if not accepted.done():
                accepted.set_exception(exc)
            return
        late_result()

    threading.Thread(target=thread_main, name="esl-bgapi", daemon=True).start()
    try:
        job_uuid = accepted.result(timeout=CONNECT_TIMEOUT + COMMAND_TIMEOUT + 1)
    except concurrent.futures.TimeoutError as exc:
        raise SwitchUnavailable() from exc
    except DomainError:
        raise
    except Exception as exc:
        logger.exception("bgapi %r failed", cmd)
        raise SwitchUnavailable() from exc
    if wait > 0:
        try:
            outcome = result.result(timeout=wait)
        except concurrent.futures.TimeoutError:
            pass
        else:
            with claim:
                claimed["by_caller"] = True
            return outcome
    with claim:
        if result.done():
            claimed["by_caller"] = True
            return result.result()
    return BgJob(job_uuid=job_uuid)


def switch_bgapi(cmd: str) -> str:
    """``bgapi cmd``; the job uuid once the switch accepted it."""
    return switch_bgapi_job(cmd).job_uuid
