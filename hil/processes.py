"""Start and stop the real processes (simulator, daemon) that demos and HIL tests run."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

STARTUP_TIMEOUT_S = 15.0


def hullwatch_command() -> list[str]:
    """The installed `hullwatch` console script next to this interpreter."""
    script = Path(sys.executable).parent / "hullwatch"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from hullwatch.daemon.cli import main; main()"]


class ManagedProcess:
    def __init__(
        self, name: str, args: list[str], log_path: Path, env: Mapping[str, str] | None = None
    ) -> None:
        self.name = name
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            args,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> int:
        if self.alive():
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return int(self.process.returncode)

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")


def wait_for_unix_socket(path: Path, process: ManagedProcess, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        if not process.alive():
            raise RuntimeError(f"{process.name} exited early:\n{process.log_text()}")
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                probe.connect(str(path))
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{process.name} did not open {path} within {timeout_s} s"
                ) from None
            time.sleep(0.05)


def start_simulator(scenario: Path, socket_path: Path, log_path: Path) -> ManagedProcess:
    process = ManagedProcess(
        "simulator",
        [*hullwatch_command(), "sim", "--scenario", str(scenario), "--socket", str(socket_path)],
        log_path,
    )
    wait_for_unix_socket(socket_path, process, STARTUP_TIMEOUT_S)
    return process


def start_daemon(config: Path, log_path: Path, env: Mapping[str, str]) -> ManagedProcess:
    """`hullwatch run config`, its output appended to `log_path`.

    Unless `env` sets `HULLWATCH_STATE_DIR`, the daemon keeps its outbox in
    `log_path.with_suffix(".state")` (`daemon.log` -> `daemon.state`): test and demo
    daemons never share, nor touch, the system's `/var/lib/hullwatch` (a second
    daemon on one state directory refuses to start). The same log path means the same
    outbox, so a restarted daemon picks up what its predecessor left.
    """
    environment = {"HULLWATCH_STATE_DIR": str(log_path.with_suffix(".state")), **env}
    return ManagedProcess(
        "daemon", [*hullwatch_command(), "run", str(config)], log_path, env=environment
    )
