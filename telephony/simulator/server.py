"""The simulator's ESL server: :class:`telephony.esl.testserver.ESLTestServer` (auth, event
subscriptions and filters, api/bgapi, linger, disconnect notices, HEARTBEAT) wired to a
:class:`~telephony.simulator.switch.Switch`.

::

    async with SimulatorServer(SimConfig.simple(agents=2, speed=10, port=0)) as server:
        ... ESLClient("127.0.0.1", server.port, "ClueCon") ...
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from telephony.esl.frames import Header
from telephony.esl.testserver import GOODBYE, ESLServerProtocol, ESLTestServer
from telephony.simulator.channels import Channel
from telephony.simulator.clock import SimClock
from telephony.simulator.config import SimConfig
from telephony.simulator.switch import Switch


class SimulatorProtocol(ESLServerProtocol):
    server: SimulatorServer

    async def handle_api(self, command: str) -> str:
        return await self.server.switch.api(command)

    async def _background_job(self, command: str, job_uuid: str) -> None:
        # As on a real switch, BACKGROUND_JOB is an ordinary event: every subscriber gets it.
        output = await self.handle_bgapi(command)
        self.server.switch.emit_background_job(job_uuid, command, output)

    def wants(self, headers: Sequence[Header]) -> bool:
        if self.authed and self.myevents_uuid is not None:
            # myevents: the events of that one session, whatever else was subscribed.
            for name, value in headers:
                if name == "Unique-ID":
                    return value == self.myevents_uuid
            return False
        return super().wants(headers)


class SimulatorServer(ESLTestServer):
    """A listening simulated FreeSWITCH (``port=0`` in the config: an ephemeral port)."""

    def __init__(
        self,
        config: SimConfig,
        *,
        clock: SimClock | None = None,
        switch: Switch | None = None,
    ) -> None:
        self.config = config
        self.switch = switch or Switch(config, clock=clock)
        speed = self.switch.clock.speed
        super().__init__(
            password=config.password,
            host=config.host,
            port=config.port,
            heartbeat_interval=(
                config.heartbeat_interval / speed if config.heartbeat_interval else None
            ),
            protocol_class=SimulatorProtocol,
            core_uuid=self.switch.core_uuid,
            hostname=config.hostname,
        )
        self.switch.listeners.append(self._on_event)
        self.switch.hangup_listeners.append(self._on_hangup)

    def _on_event(self, headers: list[Header], body: str | None) -> None:
        self.broadcast(headers, body)

    def _on_hangup(self, ch: Channel) -> None:
        for connection in self.live_connections:
            if connection.myevents_uuid == ch.uuid and connection.linger_seconds is not None:
                # after CHANNEL_HANGUP_COMPLETE, which hangup() emits in the same call
                asyncio.get_running_loop().call_soon(self._linger, connection, ch)

    def _linger(self, connection: ESLServerProtocol, ch: Channel) -> None:
        connection.send_linger_notice(ch.uuid, ch.name)
        seconds = self.switch.clock.wall(connection.linger_seconds or 0)
        asyncio.get_running_loop().call_later(
            seconds,
            lambda: (
                connection.closed
                or connection.disconnect(
                    GOODBYE,
                    [("Controlled-Session-UUID", ch.uuid), ("Content-Disposition", "disconnect")],
                )
            ),
        )

    async def close(self) -> None:
        await self.switch.close()
        await super().close()

    def event_headers(
        self, name: str, calling_file: str, calling_function: str, calling_line: int
    ) -> list[Header]:
        common = self.switch.common(name)
        head = [(k, common[k]) for k in list(common)[:9]]
        return [
            *head,
            ("Event-Calling-File", calling_file),
            ("Event-Calling-Function", calling_function),
            ("Event-Calling-Line-Number", str(calling_line)),
            ("Event-Sequence", common["Event-Sequence"]),
        ]

    def heartbeat_headers(self) -> list[Header]:
        return self.switch.heartbeat()

    def session_count(self) -> int:
        return len(self.switch.channels)
