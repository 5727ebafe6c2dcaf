"""The ESL bridge (see :mod:`telephony.bridge.service`)."""

from telephony.bridge.service import Bridge, BridgeStats, lane_key
from telephony.bridge.workers import LaneWorkers

__all__ = ["Bridge", "BridgeStats", "LaneWorkers", "lane_key"]
