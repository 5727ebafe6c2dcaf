"""The ESL bridge (see :mod:`telephony.bridge.service`)."""

from telephony.bridge.service import Bridge, BridgeStats, lane_key
from telephony.bridge.workers import BatchWriter

__all__ = ["BatchWriter", "Bridge", "BridgeStats", "lane_key"]
