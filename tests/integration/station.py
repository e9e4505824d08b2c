"""A daemon process on simulated buses, as an integration test starts it (see conftest)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hullwatch.hil.processes import ManagedProcess, start_simulator


@dataclass
class Station:
    """A daemon process on its simulated buses, as one test started it."""

    workdir: Path
    config_path: Path
    daemon: ManagedProcess
    simulators: dict[str, ManagedProcess] = field(default_factory=dict)
    restarted: list[ManagedProcess] = field(default_factory=list)

    def socket(self, bus: str = "sim") -> Path:
        return self.workdir / f"{bus}.sock"

    def restart_simulator(self, bus: str = "sim") -> ManagedProcess:
        """A fresh simulator process on `bus`'s socket (after the old one was stopped)."""
        self.restarted.append(self.simulators[bus])
        generation = len(self.restarted) + 1
        self.simulators[bus] = start_simulator(
            self.workdir / f"{bus}.toml", self.socket(bus), self.workdir / f"{bus}-{generation}.log"
        )
        return self.simulators[bus]

    def stop(self) -> None:
        self.daemon.stop()
        for simulator in [*self.simulators.values(), *self.restarted]:
            simulator.stop()


StartStation = Callable[..., Station]
