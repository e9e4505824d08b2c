"""The floor of `bench/e2e.py`: the cheapest loop that reads the same sensors the same way.

    .venv/bin/python bench/e2e_floor.py CONFIG.toml

A bare asyncio loop: one task per configured sensor, reading through our own
driver and transport, built exactly as the daemon builds them
(`SensorFactory`: the same driver, bus, address and chip settings), on the
daemon's schedule (a deadline grid at the sensor's `rate_hz`, `asyncio.sleep`
to the next slot). No guard, no detector, no MQTT: what the daemon costs
beyond it is what it does with a reading. Runs until SIGTERM or SIGINT, then
prints the readings it took as one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from pathlib import Path

from hullwatch.daemon.service.sensors import SensorFactory
from hullwatch.daemon.settings.config import load_config
from hullwatch.drivers.sensor import PressureSensor


async def _poll(sensor: PressureSensor, rate_hz: float, counts: list[int], index: int) -> None:
    await sensor.initialise()
    loop = asyncio.get_running_loop()
    period_s = 1.0 / rate_hz
    start_s = loop.time()
    slot = 0
    while True:
        slot += 1
        delay_s = start_s + slot * period_s - loop.time()
        if delay_s < 0.0:
            behind = int(-delay_s / period_s) + 1  # skip missed slots, as the poller does
            slot += behind
            delay_s += behind * period_s
        await asyncio.sleep(delay_s)
        if await sensor.read() is not None:
            counts[index] += 1


async def _run(config_path: Path) -> list[int]:
    config = load_config(config_path)
    factory = SensorFactory(config.sensors)
    counts = [0] * len(config.sensors)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    tasks = [
        asyncio.create_task(_poll(factory.build(sensor), sensor.rate_hz, counts, i))
        for i, sensor in enumerate(config.sensors)
    ]
    await stop.wait()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await factory.close()
    return counts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("config", type=Path, help="a hullwatch configuration (its sensors)")
    args = parser.parse_args()
    counts = asyncio.run(_run(args.config))
    print(json.dumps({"readings": sum(counts)}), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
