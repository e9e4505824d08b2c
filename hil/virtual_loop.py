"""An asyncio event loop on simulated time, for accelerated hardware-in-the-loop runs.

asyncio asks its selector to wait until the next timer is due. This loop's
selector never waits: it polls the real file descriptors (so Unix-socket
traffic between an in-process simulator and the daemon's transports flows as
usual) and, when nothing is ready, moves the loop's clock forward to that
next timer instead. Every `asyncio.sleep`, `wait_for` timeout and `loop.time()`
of the unmodified daemon code then runs on simulated time: a day of sampling
at 25 Hz takes as long as the CPU needs for the samples, not a day.

Socket I/O takes no simulated time, which is what the I2C transfers' few
hundred microseconds amount to at the scale of a sampling period. When the
only descriptor is the loop's own self-pipe (the daemon on the in-process bus),
there is nothing to poll for but wake-ups from other threads, whose callbacks
are queued already: the poll, a system call, then runs only every
`_SELF_PIPE_POLL_EVERY` selects, to drain the pipe.
"""

from __future__ import annotations

import asyncio
import selectors
from collections.abc import Coroutine
from typing import Any, TypeVar

_T = TypeVar("_T")


# With no file descriptor but the loop's own self-pipe registered (an accelerated
# run on the in-process bus), the poll finds nothing but wake-up bytes from other
# threads, which only need draining now and then: poll every this many selects.
_SELF_PIPE_POLL_EVERY = 256


class _SimulatedTimeSelector(selectors.DefaultSelector):
    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualTimeLoop | None = None
        self._skipped = 0

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        if (
            self.loop is not None
            and timeout is not None
            and self._skipped < _SELF_PIPE_POLL_EVERY
            and len(self.get_map()) <= 1
        ):
            # A poll is a system call per loop iteration, two per timer.
            self._skipped += 1
            self.loop.advance(timeout)
            return []
        self._skipped = 0
        ready = super().select(0)
        if ready or self.loop is None:
            return ready
        if timeout is None:
            # Nothing scheduled and nothing readable: in a simulation that is a
            # deadlock, not a wait for the outside world.
            raise RuntimeError("simulated time stalled: no timer and no I/O ready")
        self.loop.advance(timeout)
        return ready


class VirtualTimeLoop(asyncio.SelectorEventLoop):
    def __init__(self, start_s: float = 0.0) -> None:
        selector = _SimulatedTimeSelector()
        super().__init__(selector)
        selector.loop = self
        self._now_s = start_s

    def time(self) -> float:
        return self._now_s

    def advance(self, seconds: float) -> None:
        if seconds > 0:
            self._now_s += seconds


def run_simulated(main: Coroutine[Any, Any, _T], *, start_s: float = 0.0) -> _T:
    """`asyncio.run`, on simulated time."""
    loop = VirtualTimeLoop(start_s)
    try:
        asyncio.set_event_loop(loop)
        return loop.run_until_complete(main)
    finally:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.run_until_complete(loop.shutdown_asyncgens())
        asyncio.set_event_loop(None)
        loop.close()
