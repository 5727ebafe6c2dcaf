"""The simulator's configuration: plain dataclasses built from plain data (no Django).

Durations are in *simulated* seconds; :attr:`SimConfig.speed` compresses them (``speed=20``
makes a 15 s ring timeout last 0.75 s of wall time). Names follow FreeSWITCH's own
configuration (``callcenter.conf.xml`` agent and queue parameters) so a config can be read
side by side with the shipped XML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

AGENT_STATUSES = ("Logged Out", "Available", "Available (On Demand)", "On Break")
AGENT_STATES = ("Idle", "Waiting", "Receiving", "In a queue call")
STRATEGIES = (
    "longest-idle-agent",
    "round-robin",
    "top-down",
    "sequentially-by-agent-order",
    "agent-with-least-talk-time",
    "agent-with-fewest-calls",
    "random",
)


def _build(cls: type, data: Mapping[str, Any] | Any) -> Any:
    if isinstance(data, cls):
        return data
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown option(s) {sorted(unknown)}")
    return cls(**data)


@dataclass
class AgentConfig:
    """One mod_callcenter agent (``type=callback``) and the simulated phone behind it."""

    name: str  # "1001@default"
    status: str = "Available"
    answer_delay: float = 1.5  # seconds the phone rings before the agent picks up
    answers: bool = True  # False: never picks up (every offer ends in RONA)
    max_no_answer: int = 3
    wrap_up_time: int = 5
    reject_delay_time: int = 5
    busy_delay_time: int = 5
    no_answer_delay_time: int = 0
    leg_timeout: int = 15  # the contact's [leg_timeout=15]: ring timeout before RONA
    # the agent puts the caller on hold during a call (checking stock, asking a colleague):
    # with this probability per answered call, ``hold_after`` seconds into the talk, for
    # ``hold_seconds`` (uuid_hold on the agent's leg: CHANNEL_HOLD, then CHANNEL_UNHOLD)
    hold_probability: float = 0.0
    hold_after: float = 10.0
    hold_seconds: float = 15.0

    def __post_init__(self) -> None:
        if "@" not in self.name:
            self.name = f"{self.name}@default"
        if self.status not in AGENT_STATUSES:
            raise ValueError(f"agent {self.name}: invalid status {self.status!r}")

    @property
    def extension(self) -> str:
        return self.name.split("@", 1)[0]

    @property
    def contact(self) -> str:
        return f"[leg_timeout={self.leg_timeout}]user/{self.extension}"


@dataclass
class TierConfig:
    agent: str
    level: int = 1
    position: int = 1
    state: str = "Ready"


@dataclass
class QueueConfig:
    """One mod_callcenter queue. ``agents`` are tier entries (names or :class:`TierConfig`);
    empty means every configured agent, positions in configuration order."""

    name: str
    strategy: str = "longest-idle-agent"
    moh_sound: str = "silence_stream://-1"
    time_base_score: str = "system"
    max_wait_time: int = 0  # 0 = no limit; else the member leaves (TIMEOUT) → overflow branch
    max_wait_time_with_no_agent: int = 0
    max_wait_time_with_no_agent_time_reached: int = 5
    discard_abandoned_after: int = 60
    abandoned_resume_allowed: bool = False
    agent_no_answer_status: str = "On Break"
    # mod_callcenter's record-template: a bridged call is recorded there and the caller's
    # channel gets ``cc_record_filename`` (``${uuid}`` is replaced). Empty: no recording.
    record_template: str = ""
    agents: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise ValueError(f"queue {self.name}: unsupported strategy {self.strategy!r}")
        tiers = []
        for index, item in enumerate(self.agents, start=1):
            if isinstance(item, str):
                item = TierConfig(agent=item, position=index)
            elif isinstance(item, Mapping):
                item = _build(TierConfig, item)
            if "@" not in item.agent:
                item.agent = f"{item.agent}@default"
            tiers.append(item)
        self.agents = tiers


@dataclass
class HotlineConfig:
    """A dialled number (DNIS) routed by the hotline dialplan to ``queue``."""

    number: str
    queue: str
    prompt: str = "tvshop/we_will_call_you_back.wav"


@dataclass
class CallerConfig:
    """How simulated people behave (defaults; a call may override them)."""

    patience: float = 60.0  # seconds a caller waits in the queue before hanging up
    talk_time: float = 60.0  # seconds of conversation once bridged to an agent
    prompt_time: float = 4.0  # length of the overflow "we will call you back" prompt
    customer_answer_delay: float = 1.5  # outbound legs to customers (click-to-dial, callbacks)
    customer_talk_time: float = 6.0
    busy_numbers: list[str] = field(default_factory=list)  # → USER_BUSY
    unanswered_numbers: list[str] = field(default_factory=list)  # ring until NO_ANSWER
    originate_timeout: int = 60


@dataclass
class SimConfig:
    hotlines: list[Any] = field(default_factory=list)
    queues: list[Any] = field(default_factory=list)
    agents: list[Any] = field(default_factory=list)
    callers: Any = field(default_factory=CallerConfig)
    speed: float = 1.0
    seed: int = 0
    heartbeat_interval: float = 20.0  # simulated seconds
    password: str = "ClueCon"
    host: str = "127.0.0.1"
    port: int = 8021
    hostname: str = "sim"
    domain: str = "127.0.0.1"
    core_uuid: str | None = None

    def __post_init__(self) -> None:
        self.agents = [
            _build(AgentConfig, {"name": a} if isinstance(a, str) else a) for a in self.agents
        ]
        self.hotlines = [_build(HotlineConfig, h) for h in self.hotlines]
        self.queues = [_build(QueueConfig, q) for q in self.queues]
        self.callers = _build(CallerConfig, self.callers)
        names = [q.name for q in self.queues]
        for hotline in self.hotlines:
            if hotline.queue not in names:  # a hotline's queue exists, with every agent
                self.queues.append(QueueConfig(name=hotline.queue))
                names.append(hotline.queue)
        for queue in self.queues:
            if not queue.agents:
                queue.agents = [
                    TierConfig(agent=a.name, position=i) for i, a in enumerate(self.agents, 1)
                ]
        if self.speed <= 0:
            raise ValueError("speed must be positive")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SimConfig:
        return _build(cls, dict(data))

    @classmethod
    def simple(
        cls,
        *,
        hotlines: Mapping[str, str] | Sequence[tuple[str, str]] = (("4008001234", "orders"),),
        agents: int | Sequence[str] = 2,
        strategy: str = "longest-idle-agent",
        **options: Any,
    ) -> SimConfig:
        """Hotlines ``{number: queue}``; agents ``1001@default`` … (or the names given),
        in every queue."""
        pairs = list(hotlines.items()) if isinstance(hotlines, Mapping) else list(hotlines)
        names = (
            [f"{1001 + i}@default" for i in range(agents)] if isinstance(agents, int) else agents
        )
        queues = list(dict.fromkeys(q for _, q in pairs))
        return cls(
            hotlines=[{"number": n, "queue": q} for n, q in pairs],
            queues=[{"name": q, "strategy": strategy} for q in queues],
            agents=[{"name": n} for n in names],
            **options,
        )
