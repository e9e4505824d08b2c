"""`hullwatch sim`: run a scenario's simulated chamber and serve its I2C bus on a socket."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from .scenario import load_scenario
from .sim_server import BusServer
from .world import World

log = structlog.get_logger("hullwatch.sim")

EVENT_POLL_INTERVAL_S = 0.1
EX_CONFIG = 78


def register(commands: Any) -> None:
    """Add the `sim` subcommand (called through the `hullwatch.commands` entry point)."""
    sim = commands.add_parser("sim", help="run a simulated chamber and serve its I2C bus")
    sim.add_argument("--scenario", type=Path, required=True, help="scenario file (TOML)")
    sim.add_argument(
        "--socket", type=Path, required=True, help="Unix socket to serve the I2C bus on"
    )
    sim.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        print(f"hullwatch sim: {args.scenario}: {exc}", file=sys.stderr)
        return EX_CONFIG
    asyncio.run(serve(scenario_path=args.scenario, socket_path=args.socket, scenario=scenario))
    return 0


async def serve(*, scenario_path: Path, socket_path: Path, scenario: Any) -> None:
    start = time.monotonic()

    def clock() -> float:
        return time.monotonic() - start

    world = World(scenario, clock)
    server = BusServer(world.bus, socket_path)
    # Serial links first: once the socket answers, everything is there.
    world.start()
    await server.start()
    log.info(
        "simulator ready",
        scenario=str(scenario_path),
        socket=str(socket_path),
        addresses=[f"0x{address:02x}" for address in world.bus.addresses],
        serial_links=sorted(world.serial),
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)

    def report_reads() -> None:
        # SIGUSR1: the pressure readings each chip served so far (bench/e2e.py).
        reads = {
            f"0x{address:02x}": chip.pressure_reads for address, chip in sorted(world.chips.items())
        }
        log.info("simulator counts", pressure_reads=reads)

    loop.add_signal_handler(signal.SIGUSR1, report_reads)
    try:
        while not stop.is_set():
            # The chambers advance lazily on every conversion; this tick makes
            # events fire on time when nobody is reading, and logs every event
            # that fired since the last tick, whoever advanced the world.
            world.tick(clock())
            for event in world.take_fired():
                log.info(
                    "scenario event",
                    at_s=event.at_s,
                    zone=event.zone,
                    what=event.description,
                    pressure_pa=round(world.chambers[event.zone].pressure_pa, 2),
                )
            try:
                await asyncio.wait_for(stop.wait(), EVENT_POLL_INTERVAL_S)
            except TimeoutError:
                continue
    finally:
        await server.close()
        world.close()
        log.info("simulator stopped")
