"""Time for the simulator: a simulated epoch clock running ``speed`` times faster than wall
time, so tests can run minutes of call-centre life in seconds. Inject another clock (same
two methods) to drive it differently."""

from __future__ import annotations

import asyncio
import time


class SimClock:
    """``now()`` is simulated epoch seconds; ``sleep(s)`` waits ``s`` simulated seconds."""

    def __init__(self, speed: float = 1.0, start_epoch: float | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._t0 = time.monotonic()
        self._e0 = time.time() if start_epoch is None else start_epoch

    def now(self) -> float:
        return self._e0 + (time.monotonic() - self._t0) * self.speed

    def wall(self, seconds: float) -> float:
        """Wall-clock seconds for ``seconds`` of simulated time."""
        return max(0.0, seconds) / self.speed

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(self.wall(seconds))
