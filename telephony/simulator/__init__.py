"""A FreeSWITCH simulator speaking real ESL over TCP (see README.md). No Django inside."""

from telephony.simulator.clock import SimClock
from telephony.simulator.config import (
    AgentConfig,
    CallerConfig,
    HotlineConfig,
    QueueConfig,
    SimConfig,
    TierConfig,
)
from telephony.simulator.scenario import Scenario, ScenarioReport
from telephony.simulator.server import SimulatorServer
from telephony.simulator.switch import Switch

__all__ = [
    "AgentConfig",
    "CallerConfig",
    "HotlineConfig",
    "QueueConfig",
    "Scenario",
    "ScenarioReport",
    "SimClock",
    "SimConfig",
    "SimulatorServer",
    "Switch",
    "TierConfig",
]
