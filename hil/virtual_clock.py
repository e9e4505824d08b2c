"""Simulated time for tests and accelerated runs: `sleep` moves the clock instead of waiting.

One timeline: a `sleep` advances the shared clock by its duration at once and
yields to the event loop. That is exact for one task at a time (a driver and
its chip, a poller); running several tasks concurrently on simulated time
needs a scheduler that orders their deadlines, which this is not.
"""

from __future__ import annotations

import asyncio


class VirtualClock:
    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s

    def now(self) -> float:
        return self._now_s

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise ValueError("time does not run backwards")
        self._now_s += seconds

    async def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
        await asyncio.sleep(0)
