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


def chamber_scenario(*, seed: int, volume_m3: float = 0.05, extra: str = "") -> str:
    """A sealed 1 atm chamber `chamber` with one BMP390 at 0x77; `extra` adds tables."""
    return f"""
seed = {seed}
[[zones]]
id = "chamber"
volume_m3 = {volume_m3}
pressure_pa = 101325.0
temperature_k = 295.15
{extra}
[[sensors]]
kind = "bmp390"
zone = "chamber"
address = 0x77
"""


def chamber_config(
    *,
    station: str,
    prefix: str = "hwtest",
    mqtt: str = "",
    zone: str = "",
    volume_m3: float = 0.05,
    window_s: float = 4.0,
    extra: str = "",
) -> str:
    """The daemon's config for `chamber_scenario`: sensor `bmp-a` at 25 Hz, a 4 s window.

    `mqtt` and `zone` add keys to those tables; `extra` adds tables at the end. The
    sensor's bus is a placeholder: `start_station` points it at the simulator.
    """
    return f"""
station = "{station}"
[mqtt]
topic_prefix = "{prefix}"
reconnect_min_s = 0.2
reconnect_max_s = 1.0
{mqtt}
[[zones]]
id = "chamber"
volume_m3 = {volume_m3}
floor_pa = 70000.0
window_s = {window_s}
warning_pa_per_s = 0.2
critical_pa_per_s = 50.0
{zone}
[[sensors]]
id = "bmp-a"
zone = "chamber"
driver = "bmp390"
bus = "sim:/placeholder.sock"
address = 0x77
rate_hz = 25.0
{extra}
"""
