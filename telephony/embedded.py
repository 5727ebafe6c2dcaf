"""The embedded wiring's telephony: the built-in FreeSWITCH simulator and the ESL bridge,
running inside the web process (``make run``: no switch, no Redis, one command).

**Where it starts.** ``tvshop/asgi.py`` calls :func:`start` when it builds the ASGI
application and :func:`should_start` holds (``settings.EMBEDDED``, no ``ESL_HOST``, and not
switched off with ``TVSHOP_EMBEDDED_TELEPHONY=0``). The ASGI module is imported by the
process that serves requests — daphne's ``runserver`` imports it in the autoreloader's child,
after the reloader forked, and a restart on code change starts a fresh one — and by nothing
else: ``migrate``, ``shell``, ``simulate_airing`` and other commands never import it, and the
test suite runs the server wiring (``DATABASE_URL`` set), where it never starts. Starting from
``AppConfig.ready`` would run in every management command and in the reloader's parent too;
starting lazily on the first request would leave the simulator closed until someone opens a
page (``simulate_airing`` would find nothing listening).

**How it runs.** One daemon thread with its own event loop runs the simulator (listening on
``TELEPHONY_ESL`` host/port, 127.0.0.1:8021 by default, so ``simulate_airing`` and the
desktop's click-to-dial reach it like a real switch) and the bridge (one database thread:
SQLite serialises writes anyway). The simulator is configured from the database when it
starts: each active seat is a mod_callcenter agent ``<ext>@default`` with the status the
seat had (a real switch keeps agent status across restarts), each active hotline routes to
its queue; with no seats yet, agents 1001–1010 (Available) keep the demo's calls flowing.
Seats or hotlines added later reach the simulator at the next start.

**Channel layer.** The embedded layer is Channels' in-memory layer, which belongs to the
event loop of the web server; messages from the bridge's thread are therefore handed to
that loop (:func:`capture_loop` wraps the ASGI application and remembers the loop it is
called on). Before any websocket connected there is nobody to deliver to, and the bridge
sends in its own loop.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import os
import threading
from collections.abc import Callable

from django.conf import settings

logger = logging.getLogger("telephony.embedded")

DEFAULT_AGENTS = [f"{1001 + i}@default" for i in range(10)]
DEFAULT_HOTLINES = [("4008001234", "orders")]


class _State:
    def __init__(self) -> None:
        self.thread: threading.Thread | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop_event: asyncio.Event | None = None
        self.web_loop: asyncio.AbstractEventLoop | None = None
        self.address: dict | None = None
        self.server = None
        self.bridge = None
        self.error: BaseException | None = None


_state = _State()
_lock = threading.Lock()


def should_start() -> bool:
    conf = getattr(settings, "TELEPHONY_ESL", {}) or {}
    return bool(
        getattr(settings, "EMBEDDED", False)
        and conf.get("simulated")
        and os.environ.get("TVSHOP_EMBEDDED_TELEPHONY", "1") not in {"0", "false", "no", "off"}
    )


def simulator_address() -> dict:
    """``{"host", "port", "password"}`` of the switch the embedded wiring talks to: the
    in-process simulator once it runs, else ``settings.TELEPHONY_ESL``."""
    if _state.address is not None:
        return dict(_state.address)
    conf = settings.TELEPHONY_ESL
    return {"host": conf["host"], "port": conf["port"], "password": conf["password"]}


def running_bridge():
    """The in-process bridge (``None`` unless started here)."""
    return _state.bridge


def simulator_config_from_db(*, host: str, port: int, password: str, speed: float = 1.0):
    """A :class:`SimConfig` from the seats and hotlines in the database."""
    from telephony.models import Seat
    from telephony.simulator import SimConfig
    from tvshop.media.models import Hotline

    agents: list[dict] = []
    hotlines: list[tuple[str, str]] = []
    try:
        for seat in Seat.objects.filter(active=True):
            agents.append({"name": seat.cc_agent, "status": seat.status})
        hotlines = list(Hotline.objects.filter(active=True).values_list("number", "queue_name"))
    except Exception:  # no tables yet (before migrate): run with defaults
        logger.warning("embedded telephony: cannot read seats/hotlines; using defaults")
    config = SimConfig.simple(
        hotlines=hotlines or DEFAULT_HOTLINES,
        agents=[a["name"] for a in agents] or DEFAULT_AGENTS,
        speed=speed,
        host=host,
        port=port,
        password=password,
    )
    statuses = {a["name"]: a["status"] for a in agents}
    for agent in config.agents:
        agent.status = statuses.get(agent.name, agent.status)
    return config


async def _send_to_web_loop(messages: list) -> int:
    from telephony.services.calls import send_messages

    web = _state.web_loop
    if web is None or web.is_closed() or web is asyncio.get_running_loop():
        return await send_messages(messages)
    future = asyncio.run_coroutine_threadsafe(send_messages(messages), web)
    return await asyncio.wrap_future(future)


async def _main(config, ready: threading.Event) -> None:
    from telephony.bridge import Bridge
    from telephony.simulator import SimulatorServer

    _state.loop = asyncio.get_running_loop()
    _state.stop_event = asyncio.Event()
    server = SimulatorServer(config)
    try:
        await server.start()
    except OSError as exc:
        # Something already listens there (another run, a real switch): use it.
        logger.error(
            "embedded telephony: cannot listen on %s:%s (%s); connecting to what is there",
            config.host,
            config.port,
            exc,
        )
        server = None
    _state.server = server
    port = server.port if server is not None else config.port
    _state.address = {"host": config.host, "port": port, "password": config.password}
    bridge = Bridge(config.host, port, config.password, send=_send_to_web_loop, name="bridge")
    _state.bridge = bridge
    await bridge.start()
    ready.set()
    logger.info("embedded telephony: simulator and bridge on %s:%s", config.host, port)
    try:
        await _state.stop_event.wait()
    finally:
        await bridge.stop()
        if server is not None:
            await server.close()


def _thread_main(config, ready: threading.Event) -> None:
    try:
        asyncio.run(_main(config, ready))
    except BaseException as exc:  # reported, the web process keeps serving
        _state.error = exc
        logger.exception("embedded telephony stopped")
    finally:
        ready.set()


def start(*, timeout: float = 10.0, port: int | None = None, speed: float = 1.0) -> bool:
    """Start the simulator and the bridge in a background thread (once per process)."""
    with _lock:
        if _state.thread is not None:
            return False
        conf = settings.TELEPHONY_ESL
        config = simulator_config_from_db(
            host=conf["host"],
            port=conf["port"] if port is None else port,
            password=conf["password"],
            speed=speed,
        )
        ready = threading.Event()
        _state.thread = threading.Thread(
            target=_thread_main, args=(config, ready), name="embedded-telephony", daemon=True
        )
        _state.thread.start()
    ready.wait(timeout)
    atexit.register(stop)
    # The callback dispatcher (no Celery beat in the embedded default).
    from telephony.callbacks.dispatcher import embedded_loop_start

    embedded_loop_start()
    from telephony.routing.controller import embedded_loop_start as routing_loop_start

    routing_loop_start()
    return True


def stop(timeout: float = 10.0) -> None:
    """Stop the bridge and the simulator (at exit; tests)."""
    thread, loop, stop_event = _state.thread, _state.loop, _state.stop_event
    if thread is None:
        return
    if loop is not None and stop_event is not None and not loop.is_closed():
        loop.call_soon_threadsafe(stop_event.set)
    thread.join(timeout)
    with _lock:
        _state.__init__()


def capture_loop(application: Callable) -> Callable:
    """Wrap an ASGI application to remember the web server's event loop."""

    async def app(scope, receive, send):
        if _state.web_loop is None:
            _state.web_loop = asyncio.get_running_loop()
        return await application(scope, receive, send)

    return app
