"""Suite-wide: the fast inner loop (`make test-fast`) starts no process.

`make test-fast` runs `pytest -m "not integration and not hil"` with
HULLWATCH_TEST_FAST=1. Tests that start real processes (Mosquitto, PostgreSQL,
the simulator, the daemon, a CLI in a subprocess) carry the `integration`
marker, tests that run whole simulated scenarios the `hil` marker. So that the
markers stay true, a test that starts a process in a fast run fails, naming
itself, instead of quietly making the inner loop slow.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

FAST_ENV = "HULLWATCH_TEST_FAST"


def pytest_sessionstart(session: pytest.Session) -> None:
    """matplotlib builds its font cache the first time it runs on a machine and asks
    `fc-list` for the fonts: a process, but matplotlib's, once, not a test's. Build it
    before the guard below is in place, so a fresh checkout's first fast run passes."""
    if os.environ.get(FAST_ENV) == "1":
        # Without matplotlib the plots' tests skip.
        with contextlib.suppress(ImportError):
            import matplotlib.font_manager  # noqa: F401  (builds the cache on import)


@pytest.fixture(autouse=True)
def _no_process_in_a_fast_run(request: pytest.FixtureRequest) -> Iterator[None]:
    if os.environ.get(FAST_ENV) != "1" or request.node.get_closest_marker("integration"):
        yield
        return
    original = subprocess.Popen.__init__
    nodeid = request.node.nodeid

    def refuse(self: subprocess.Popen[Any], *args: Any, **kwargs: Any) -> None:
        # Popen.__del__ looks at these; nothing was started.
        self._child_created = False  # type: ignore[attr-defined]
        self.returncode = 0
        pytest.fail(f"{nodeid} starts a process ({args[0]!r}): mark it `integration`")

    subprocess.Popen.__init__ = refuse  # type: ignore[assignment,method-assign]
    try:
        yield
    finally:
        subprocess.Popen.__init__ = original  # type: ignore[method-assign]
