"""ESLClient against the test ESL server over real TCP on 127.0.0.1 (ephemeral ports)."""

from __future__ import annotations

import asyncio
import random

import pytest

from telephony.esl.client import (
    ESLClient,
    EventBuffer,
    OverflowPolicy,
    backoff_delay,
)
from telephony.esl.errors import AccessDenied, AuthError, CommandError, ConnectionLost
from telephony.esl.events import Event, parse_event
from telephony.esl.testserver import ESLServerProtocol, ESLTestServer
from tests.telephony.captures import capture_bytes, capture_frames

PASSWORD = "ClueCon"
FAST = {
    "reconnect_initial": 0.02,
    "reconnect_max": 0.1,
    "reconnect_jitter": 0.5,
    "connect_timeout": 2.0,
    "command_timeout": 2.0,
}
API = {
    "status": "UP 0 years, 0 days\nFreeSWITCH (Version 1.11.1) is ready\n",
    "uuid_kill": lambda args: "-ERR No such channel!\n",
    "show channels as json": '{"row_count": 0}\n',
}


@pytest.fixture
async def server():
    async with ESLTestServer(password=PASSWORD, heartbeat_interval=0.05, api_responses=API) as srv:
        yield srv


@pytest.fixture
async def make_client(server):
    clients: list[ESLClient] = []

    def _make(**kwargs) -> ESLClient:
        options = {**FAST, "heartbeat_timeout": 1.0, **kwargs}
        password = options.pop("password", PASSWORD)
        client = ESLClient("127.0.0.1", server.port, password, **options)
        clients.append(client)
        return client

    yield _make
    for client in clients:
        await client.close()


def cc_event(server: ESLTestServer, action: str, **extra: str) -> list[tuple[str, str]]:
    headers = server.event_headers("CUSTOM", "mod_callcenter.c", "cc_agent_update", 1043)
    headers.insert(0, ("Event-Subclass", "callcenter::info"))
    return [*headers, ("CC-Action", action), *extra.items()]


# -- login ---------------------------------------------------------------------------------


async def test_wrong_password_raises_auth_error_and_is_not_retried(server, make_client):
    client = make_client(password="WrongPassword")

    with pytest.raises(AuthError, match="-ERR invalid") as raised:
        await client.connect(timeout=3)

    await asyncio.sleep(0.2)  # several backoff periods
    assert len(server.connections) == 1
    assert server.commands("auth")[0].args == "WrongPassword"
    assert "WrongPassword" not in str(raised.value)  # never log the secret
    with pytest.raises(AuthError):
        await anext(client)  # the event iteration ends with the same error


async def test_acl_rejection_raises_access_denied(server, make_client):
    server.reject_connections = True
    client = make_client()
    with pytest.raises(AccessDenied, match="Access Denied"):
        await client.connect(timeout=3)
    assert server.commands("auth") == []


async def test_connect_keeps_retrying_until_the_switch_listens(unused_tcp_port):
    client = ESLClient("127.0.0.1", unused_tcp_port, PASSWORD, **FAST)
    try:
        await client.start()
        await asyncio.sleep(0.3)
        assert client.stats.connect_failures >= 2
        assert not client.connected
        async with ESLTestServer(port=unused_tcp_port, heartbeat_interval=None):
            await client.wait_connected(timeout=3)
            assert client.connected
    finally:
        await client.close()


# -- commands ------------------------------------------------------------------------------


async def test_api_returns_the_body_and_err_names_the_command(make_client):
    client = make_client()
    await client.connect(timeout=3)

    assert (await client.api("status")).startswith("UP 0 years")
    assert await client.api("show channels as json") == '{"row_count": 0}\n'

    with pytest.raises(CommandError) as raised:
        await client.api("uuid_kill 00000000-0000-0000-0000-000000000000")
    assert raised.value.command == "api uuid_kill 00000000-0000-0000-0000-000000000000"
    assert raised.value.reply == "-ERR No such channel!"
    assert "uuid_kill" in str(raised.value) and "No such channel" in str(raised.value)

    with pytest.raises(CommandError, match="no_such_command"):
        await client.api("no_such_command")


async def test_socket_command_err_raises_command_error(make_client):
    client = make_client()
    await client.connect(timeout=3)
    with pytest.raises(CommandError, match=r"'linger 5'.*not controlling a session"):
        await client.linger(5)
    with pytest.raises(CommandError, match="command not found"):
        await client.command("no_such_command")


async def test_commands_cannot_smuggle_a_second_command(server, make_client):
    client = make_client()
    await client.connect(timeout=3)
    with pytest.raises(ValueError):
        await client.api("status\n\nexit")
    assert server.commands("exit") == []
    assert client.connected


async def test_concurrent_api_calls_get_their_own_replies(make_client):
    client = make_client()
    await client.connect(timeout=3)
    results = await asyncio.gather(
        *(client.api(cmd) for cmd in ["status", "show channels as json"] * 10)
    )
    assert results == [API["status"], API["show channels as json"]] * 10


async def test_api_while_disconnected_raises_connection_lost(make_client):
    client = make_client()
    with pytest.raises(ConnectionLost, match="not connected"):
        await client.api("status")


class SlowBgapiProtocol(ESLServerProtocol):
    """bgapi jobs finish only when the test releases them, in any order."""

    async def handle_bgapi(self, command: str) -> str:
        release = self.server.releases.setdefault(command, asyncio.Event())
        await release.wait()
        return self.server.outputs[command]


async def test_two_bgapi_jobs_answered_out_of_order_are_matched_by_job_uuid():
    async with ESLTestServer(heartbeat_interval=None, protocol_class=SlowBgapiProtocol) as srv:
        srv.releases = {"originate A": asyncio.Event(), "originate B": asyncio.Event()}
        srv.outputs = {"originate A": "+OK aaaa\n", "originate B": "-ERR SUBSCRIBER_ABSENT\n"}
        client = ESLClient("127.0.0.1", srv.port, PASSWORD, heartbeat_timeout=None, **FAST)
        await client.connect(timeout=3)
        try:
            job_a, job_b = await asyncio.gather(
                client.bgapi("originate A"), client.bgapi("originate B")
            )
            assert not job_a.done() and not job_b.done()

            # When B finishes first, then A
            srv.releases["originate B"].set()
            with pytest.raises(CommandError, match=r"'bgapi originate B'.*SUBSCRIBER_ABSENT"):
                await asyncio.wait_for(job_b, 2)
            assert not job_a.done()
            srv.releases["originate A"].set()

            # Then each future holds its own job's output
            assert await asyncio.wait_for(job_a, 2) == "+OK aaaa\n"
            # and the client chose the Job-UUIDs (sent as a header the server honoured)
            sent = [c.get("Job-UUID") for c in srv.commands("bgapi")]
            assert len(set(sent)) == 2 and None not in sent
        finally:
            await client.close()


async def test_bgapi_pending_when_the_connection_drops_fails_with_connection_lost():
    async with ESLTestServer(heartbeat_interval=None, protocol_class=SlowBgapiProtocol) as srv:
        srv.releases, srv.outputs = {}, {}
        client = ESLClient("127.0.0.1", srv.port, PASSWORD, heartbeat_timeout=None, **FAST)
        await client.connect(timeout=3)
        try:
            job = await client.bgapi("originate C")
            srv.connections[0].drop()
            with pytest.raises(ConnectionLost, match="originate C"):
                await asyncio.wait_for(job, 2)
        finally:
            await client.close()


class HangingApiProtocol(ESLServerProtocol):
    async def handle_api(self, command: str) -> str:
        if command == "hang":
            await asyncio.Event().wait()
        return await super().handle_api(command)


async def test_api_waiting_when_the_connection_drops_raises_connection_lost():
    async with ESLTestServer(heartbeat_interval=None, protocol_class=HangingApiProtocol) as srv:
        client = ESLClient("127.0.0.1", srv.port, PASSWORD, heartbeat_timeout=None, **FAST)
        await client.connect(timeout=3)
        try:
            call = asyncio.create_task(client.api("hang"))
            await srv.wait_until(lambda: bool(srv.commands("api")))
            srv.connections[0].drop()
            with pytest.raises(ConnectionLost, match="'api hang'"):
                await asyncio.wait_for(call, 2)
        finally:
            await client.close()


async def test_a_command_without_reply_times_out_and_the_link_is_rebuilt():
    async with ESLTestServer(heartbeat_interval=None, protocol_class=HangingApiProtocol) as srv:
        client = ESLClient("127.0.0.1", srv.port, PASSWORD, heartbeat_timeout=None, **FAST)
        await client.connect(timeout=3)
        try:
            with pytest.raises(ConnectionLost, match="no reply"):
                await client.api("hang", timeout=0.2)
            await srv.wait_until(lambda: len(srv.live_connections) == 1 and client.connected)
            assert client.stats.connects == 2
        finally:
            await client.close()


# -- events --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["plain", "json"])
async def test_subscribed_events_arrive_in_either_format(server, make_client, fmt):
    client = make_client()
    await client.connect(timeout=3)
    await client.events(fmt, ["CHANNEL_CREATE", "CUSTOM", "callcenter::info"])
    # the client keeps HEARTBEAT/BACKGROUND_JOB and puts CUSTOM (and its subclasses) last
    assert server.commands("event")[-1].args == (
        f"{fmt} HEARTBEAT BACKGROUND_JOB CHANNEL_CREATE CUSTOM callcenter::info"
    )

    server.broadcast(cc_event(server, "agent-status-change", **{"CC-Agent-Status": "On Break"}))
    server.broadcast(server.event_headers("CHANNEL_ANSWER", "x.c", "f", 1))  # not subscribed

    event = await client.next_event(timeout=2)
    assert event.format == fmt
    assert (event.name, event.subclass) == ("CUSTOM", "callcenter::info")
    assert event.get("CC-Agent-Status") == "On Break"
    # heartbeats flow (watchdog food) but were not asked for, so they are not delivered
    await asyncio.sleep(0.2)
    assert client.queued_events == 0


async def test_captured_stream_replayed_by_the_server_reaches_the_consumer(server, make_client):
    client = make_client(heartbeat_timeout=None)
    await client.connect(timeout=3)
    await client.events("plain", ["ALL"])
    frames = [f for f in capture_frames("stream-plain-ALL.txt") if f.is_event]

    server.broadcast_raw(frames)

    received = [await client.next_event(timeout=2) for _ in frames]
    assert len(received) == 380
    assert [e.sequence for e in received] == [parse_event(f).sequence for f in frames]
    assert "SHUTDOWN" in {e.name for e in received}


async def test_heartbeats_are_delivered_when_asked_for(server, make_client):
    client = make_client()
    await client.connect(timeout=3)
    await client.events("json", ["HEARTBEAT"])
    event = await client.next_event(timeout=2)
    assert event.name == "HEARTBEAT"
    assert event.get("Event-Info") == "System Ready"


async def test_filters_keep_heartbeat_and_bgapi_working(server, make_client):
    client = make_client(heartbeat_timeout=0.5)
    await client.connect(timeout=3)
    await client.events("plain", ["CHANNEL_CREATE"])

    await client.filter("Caller-Destination-Number", "4008001234")

    assert [c.args for c in server.commands("filter")] == [
        "Event-Name HEARTBEAT",
        "Event-Name BACKGROUND_JOB",
        "Caller-Destination-Number 4008001234",
    ]
    await asyncio.sleep(1.0)  # twice the watchdog timeout: heartbeats still pass the filter
    assert client.stats.watchdog_timeouts == 0
    assert await asyncio.wait_for(await client.bgapi("status"), 2) == API["status"]
    server.broadcast(server.event_headers("CHANNEL_CREATE", "x.c", "f", 1))  # filtered out
    server.broadcast(
        [
            *server.event_headers("CHANNEL_CREATE", "x.c", "f", 1),
            ("Caller-Destination-Number", "4008001234"),
        ]
    )
    wanted = [e async for e in _drain(client, 0.3) if e.name == "CHANNEL_CREATE"]
    assert len(wanted) == 1

    await client.filter_delete("Caller-Destination-Number", "4008001234")
    assert server.live_connections[0].filters == []


async def _drain(client: ESLClient, seconds: float):
    """Events until none arrived for ``seconds`` (at most 50, so a stream cannot hang us)."""
    for _ in range(50):
        try:
            yield await client.next_event(timeout=seconds)
        except TimeoutError:
            return


# -- resilience ----------------------------------------------------------------------------


async def test_dropped_connection_reconnects_resubscribes_and_resyncs(server, make_client):
    # Given a connected, subscribed, filtered client with a resync hook
    resyncs: list[str] = []

    async def resync(client: ESLClient) -> None:
        resyncs.append(await client.api("show channels as json"))

    client = make_client(on_connected=resync)
    await client.connect(timeout=3)
    await client.events("json", ["CHANNEL_ANSWER"])
    await client.filter("Unique-ID", "abc")
    await server.wait_until(lambda: len(resyncs) == 1)

    # When the switch side cuts the TCP connection
    server.live_connections[0].drop()

    # Then the client comes back, subscribes and filters again, and resyncs again
    await server.wait_until(lambda: len(resyncs) == 2, timeout=3)
    second = server.live_connections[0]
    assert second is not server.connections[0]
    assert second.event_format == "json" and "CHANNEL_ANSWER" in second.event_types
    assert ("Unique-ID", "abc") in second.filters
    assert [c.args for c in second.commands if c.name == "event"] == [
        "json HEARTBEAT BACKGROUND_JOB CHANNEL_ANSWER"
    ]
    assert client.stats.connects == 2 and client.stats.disconnects == 1
    assert resyncs == ['{"row_count": 0}\n'] * 2
    # and events flow on the new connection
    server.broadcast([*server.event_headers("CHANNEL_ANSWER", "x.c", "f", 1), ("Unique-ID", "abc")])
    assert (await client.next_event(timeout=2)).uuid == "abc"


async def test_subscription_given_up_front_is_made_before_the_resync_hook(server, make_client):
    seen_before_hook: list[int] = []

    async def resync(client: ESLClient) -> None:
        seen_before_hook.append(len(server.live_connections[-1].event_types))

    client = make_client(on_connected=resync, event_format="json", event_names=["CHANNEL_HANGUP"])
    await client.connect(timeout=3)
    await server.wait_until(lambda: bool(seen_before_hook))
    assert seen_before_hook[0] >= 1
    assert "CHANNEL_HANGUP" in server.live_connections[0].event_types


async def test_backoff_grows_exponentially_with_jitter_and_a_cap():
    rng = random.Random(7)
    delays = [backoff_delay(n, initial=0.5, maximum=30, jitter=0.5, rng=rng) for n in range(12)]
    for n, delay in enumerate(delays):
        ceiling = min(30, 0.5 * 2**n)
        assert ceiling * 0.5 <= delay <= ceiling
    assert len(set(delays)) == len(delays)  # jittered, not lockstep
    assert backoff_delay(1000, initial=0.5, maximum=30, jitter=0) == 30


async def test_silent_switch_is_detected_by_the_watchdog(server, make_client):
    # Given heartbeats every 50 ms and a 300 ms watchdog
    client = make_client(heartbeat_timeout=0.3)
    await client.connect(timeout=3)
    await asyncio.sleep(0.7)
    assert client.stats.watchdog_timeouts == 0  # heartbeats keep it alive

    # When the switch goes silent without closing the socket
    server.live_connections[0].go_silent()
    loop = asyncio.get_running_loop()
    started = loop.time()

    # Then the client gives up on it within the timeout (+ backoff) and reconnects
    await server.wait_until(lambda: client.stats.connects == 2 and client.connected, timeout=2)
    assert loop.time() - started < 1.5  # 0.3 s timeout + ≤0.1 s backoff + slack
    assert client.stats.watchdog_timeouts == 1
    assert "no HEARTBEAT" in client.stats.last_disconnect_reason


async def test_shutdown_disconnect_notice_leads_to_reconnect(server, make_client):
    client = make_client()
    await client.connect(timeout=3)
    server.live_connections[0].disconnect()  # "The system is being shut down."
    await server.wait_until(lambda: client.stats.connects == 2 and client.connected)
    assert "shut down" in client.stats.last_disconnect_reason


async def test_linger_notice_keeps_the_connection(server, make_client):
    client = make_client()
    await client.connect(timeout=3)
    await client.myevents("a0000000-4008-4001-2340-000000000001")
    assert await client.linger(3) == "+OK will linger 3 seconds"
    connection = server.live_connections[0]

    connection.send_linger_notice("a0000000-4008-4001-2340-000000000001", "loopback/x-a")
    await asyncio.sleep(0.2)
    assert client.connected and client.stats.disconnects == 0
    assert (await client.api("status")).startswith("UP")

    # The final notice after the linger time ends it (and the client reconnects)
    connection.send_bytes(capture_bytes("disconnect-notice-myevents-end.txt"))
    await server.wait_until(lambda: client.stats.disconnects == 1)
    assert "goodbye" in client.stats.last_disconnect_reason


async def test_close_says_exit_and_does_not_reconnect(server, make_client):
    client = make_client()
    await client.connect(timeout=3)
    await client.close()
    assert [c.name for c in server.commands("exit")] == ["exit"]
    await asyncio.sleep(0.2)
    assert len(server.connections) == 1
    with pytest.raises(StopAsyncIteration):
        await anext(client)


# -- back-pressure -------------------------------------------------------------------------


async def test_slow_consumer_never_blocks_the_reader_and_overflow_is_counted(server, make_client):
    overflows: list[int] = []
    client = make_client(queue_size=10, on_overflow=overflows.append)
    await client.connect(timeout=3)
    await client.events("plain", ["CUSTOM", "callcenter::info"])

    # When 200 events arrive and nobody consumes them
    for n in range(200):
        server.broadcast(cc_event(server, "members-count", **{"CC-Count": str(n)}))

    # Then commands are still answered at once (the reader is not blocked)
    # (the reply is written after the 200 events, so all of them have been read by now)
    assert (await asyncio.wait_for(client.api("status"), 1)).startswith("UP")
    # and the overflow is counted, reported, and the newest events were kept
    assert client.stats.events_dropped == 190
    assert overflows[-1] == 190
    kept = [(await client.next_event(timeout=1)).get("CC-Count") for _ in range(10)]
    assert kept == [str(n) for n in range(190, 200)]
    assert client.connected


def test_event_buffer_drop_newest_keeps_what_was_queued():
    dropped: list[Event] = []
    buffer = EventBuffer(2, OverflowPolicy.DROP_NEWEST, dropped.append)
    events = [Event((("Event-Name", f"E{n}"),)) for n in range(4)]
    results = [buffer.put_nowait(e) for e in events]
    assert results == [True, True, False, False]
    assert [e.name for e in dropped] == ["E2", "E3"]
    assert len(buffer) == 2
