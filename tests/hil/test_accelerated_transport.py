"""The accelerated run's in-process bus against the socket path it stands in for.

`SimulatedTimeI2CBus` must give the daemon exactly what `SimSocketBus` talking to
`BusServer` gives it: the same bytes, the same errors with the same messages,
at the same simulated times, hung transfers and the transfers queued behind
them included. Whole runs with faults must come out the same either way.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from hullwatch.drivers.bmp3 import registers as r
from hullwatch.drivers.bus import I2CBus
from hullwatch.drivers.errors import BusError
from hullwatch.drivers.transports.sim import SimSocketBus
from hullwatch.hil.accelerated import AcceleratedStats, Transport, run_accelerated
from hullwatch.hil.bmp3_sim import Bmp3Simulator
from hullwatch.hil.faults import ActiveWindow, FaultyDevice
from hullwatch.hil.i2c_bus import SimulatedI2CBus
from hullwatch.hil.loopback import SimulatedTimeI2CBus
from hullwatch.hil.scenario import Scenario
from hullwatch.hil.sim_server import BusServer
from hullwatch.hil.virtual_loop import run_simulated

ADDRESS = 0x77
NO_DEVICE = 0x42
TIMEOUT_S = 0.5
READ_CHIP_ID = bytes([r.REG_CHIP_ID])

Outcome = tuple[str, float, str, int | None, str]


def _wire(clock: Callable[[], float]) -> SimulatedI2CBus:
    chip = Bmp3Simulator(clock=clock, conditions=lambda _t: (101_325.0, 22.0))
    faulty = FaultyDevice(chip, clock)
    faulty.add("hang", ActiveWindow(1.0, 3.0))  # longer than the client's timeout
    faulty.add("hang", ActiveWindow(5.0, 5.2))  # shorter: the server answers ETIMEDOUT
    faulty.add("nack", ActiveWindow(6.0, 6.5))
    wire = SimulatedI2CBus()
    wire.attach(ADDRESS, faulty)
    return wire


async def _script(bus: I2CBus) -> list[Outcome]:
    """Transfers at set simulated times, two of them queued behind a hung one."""
    loop = asyncio.get_running_loop()
    outcomes: list[Outcome] = []

    async def at(t_s: float, label: str, transfer: Callable[[], Awaitable[Any]]) -> None:
        await asyncio.sleep(t_s - loop.time())
        try:
            value = await transfer()
        except BusError as exc:
            outcomes.append((label, round(loop.time(), 9), type(exc).__name__, exc.errno, str(exc)))
        else:
            outcomes.append((label, round(loop.time(), 9), "ok", None, repr(value)))

    def chip_id(address: int = ADDRESS) -> Callable[[], Awaitable[bytes]]:
        return lambda: bus.write_read(address, READ_CHIP_ID, 1)

    await at(0.5, "chip id", chip_id())
    await at(0.6, "nobody there", chip_id(NO_DEVICE))
    await at(0.7, "a write", lambda: bus.write(ADDRESS, bytes([r.REG_ODR, 0x02])))
    await asyncio.gather(
        at(1.0, "into the hang", chip_id()),
        at(1.1, "queued behind it", chip_id()),
        at(1.2, "a write queued too", lambda: bus.write(ADDRESS, bytes([r.REG_ODR, 0x03]))),
    )
    await at(3.5, "after the hang", chip_id())
    await at(5.0, "into a short hang", chip_id())
    await at(6.1, "a NACK", chip_id())
    await at(7.0, "after it all", lambda: bus.write_read(ADDRESS, bytes([r.REG_ODR]), 1))
    return outcomes


async def _over_socket(socket_path: Path) -> list[Outcome]:
    loop = asyncio.get_running_loop()
    server = BusServer(_wire(loop.time), socket_path)
    await server.start()
    bus = SimSocketBus(str(socket_path), timeout_s=TIMEOUT_S)
    try:
        return await _script(bus)
    finally:
        await bus.close()
        await server.close()


async def _in_process(socket_path: Path) -> list[Outcome]:
    loop = asyncio.get_running_loop()
    bus = SimulatedTimeI2CBus(_wire(loop.time), name=f"sim:{socket_path}", timeout_s=TIMEOUT_S)
    return await _script(bus)


def test_the_in_process_bus_answers_as_the_socket_does(tmp_path: Path) -> None:
    socket_path = tmp_path / "sim.sock"
    over_socket = run_simulated(_over_socket(socket_path))
    in_process = run_simulated(_in_process(socket_path))
    assert in_process == over_socket
    # And the script did meet every case it is there for.
    by_label = {label: (t_s, kind, errno) for label, t_s, kind, errno, _ in in_process}
    assert by_label["chip id"] == (0.5, "ok", None)
    assert by_label["nobody there"][1:] == ("BusError", 121)  # EREMOTEIO
    assert by_label["into the hang"] == (1.5, "BusTimeoutError", 110)  # after TIMEOUT_S
    assert by_label["queued behind it"] == (2.0, "BusTimeoutError", 110)  # its turn, then hung
    assert by_label["a write queued too"] == (2.5, "BusTimeoutError", 110)
    assert by_label["into a short hang"] == (5.2, "BusError", 110)  # the server's ETIMEDOUT
    assert by_label["a NACK"][1:] == ("BusError", 121)
    assert by_label["after it all"] == (7.0, "ok", None)
    assert in_process[-1][-1] == repr(bytes([0x02]))  # the write before the hang stuck


# Two chips on one bus, a leak, and every kind of bus and chip fault on one of them.
FAULTS_SCENARIO: dict[str, Any] = {
    "seed": 9,
    "duration_s": 40.0,
    "zones": [
        {
            "id": "chamber",
            "volume_m3": 0.05,
            "pressure_pa": 101_325.0,
            "temperature_k": 295.15,
            "cycle_amplitude_k": 0.2,
            "cycle_period_s": 60.0,
            "detector": {"window_s": 6.0, "warning_pa_per_s": 0.5},
        }
    ],
    "sensors": [
        {"kind": "bmp388", "zone": "chamber", "address": 0x76, "rate_hz": 25.0},
        {
            "kind": "ms5611",
            "zone": "chamber",
            "address": 0x77,
            "rate_hz": 20.0,
            "pressure_oversampling": 1024,
        },
    ],
    "events": [{"at_s": 28.0, "zone": "chamber", "action": "open_hole", "diameter_mm": 0.2}],
    "faults": [
        {"at_s": 3.0, "duration_s": 1.0, "address": 0x77, "kind": "eio"},
        {"at_s": 6.0, "duration_s": 2.0, "address": 0x77, "kind": "hang"},
        {"at_s": 10.0, "duration_s": 0.2, "address": 0x77, "kind": "hang"},
        {"at_s": 12.0, "duration_s": 1.0, "address": 0x77, "kind": "nack"},
        {"at_s": 15.0, "duration_s": 3.0, "address": 0x77, "kind": "stuck"},
        {"at_s": 20.0, "duration_s": 2.0, "address": 0x77, "kind": "disappear"},
        {"at_s": 24.0, "address": 0x76, "kind": "spike", "spike_pa": 400.0},
    ],
    "expect": [{"kind": "alert", "zone": "chamber", "after_s": 28.0, "within_s": 10.0}],
}


def _run(transport: Transport) -> tuple[list[tuple[float, dict[str, Any]]], AcceleratedStats]:
    stats = AcceleratedStats()
    result = run_accelerated(
        Scenario.model_validate(FAULTS_SCENARIO),
        name="transports",
        progress=None,
        stats=stats,
        transport=transport,
    )
    assert result.passed, result.summary()
    volatile = {"event_id", "time"}  # a fresh UUID and the wall clock
    alerts = [
        (alert.t_s, {k: v for k, v in alert.document.wire_dict().items() if k not in volatile})
        for alert in result.alerts
    ]
    # Each run serves its bus at a socket in a temporary directory of its own.
    stats.health = [
        (t_s, sensor, health, re.sub(r"sim:\S+\.sock", "sim:SOCKET", reason))
        for t_s, sensor, health, reason in stats.health
    ]
    return alerts, stats


def test_a_run_with_faults_is_the_same_over_either_transport() -> None:
    socket_alerts, socket_stats = _run("socket")
    alerts, stats = _run("in-process")
    assert alerts == socket_alerts
    assert stats == socket_stats
    # The faults did reach the daemon: the MS5611 went through failure and back.
    reasons = [reason for _, sensor, _, reason in stats.health if sensor == "ms5611-77"]
    assert any("no answer from the simulated bus" in reason for reason in reasons)
    assert any("Remote I/O error" in reason for reason in reasons)
    assert stats.samples_taken > 0.9 * 40.0 * 25.0


def test_an_accelerated_run_refuses_a_bus_it_does_not_simulate() -> None:
    from hullwatch.hil.accelerated import _in_process

    open_bus = _in_process(SimulatedI2CBus(), "sim:/run/a.sock")
    assert open_bus("sim:/run/a.sock", timeout_s=0.5).name == "sim:/run/a.sock"
    with pytest.raises(ValueError, match="one simulated bus"):
        open_bus("/dev/i2c-1", timeout_s=0.5)
