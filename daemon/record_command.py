"""`hullwatch record CONFIG --duration 30m`: a baseline survey, without detecting or publishing.

The configured sensors are read by the daemon's own drivers, pollers and
sample guards, and every accepted sample is written in the recording format
(docs/recording.md) to `--output` or the configuration's recording directory,
with the `[recording]` bounds (whether or not `recording.enabled` is set).
It resets the chips as the daemon does: stop the daemon first.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import re
import signal
import sys
import time

import structlog

from .exit_codes import ExitCode
from .service.logging_setup import configure_logging
from .service.poller import Health, Sample, SensorPoller
from .service.recording import Recorder
from .service.sample_guard import SampleGuard
from .service.sensors import SensorFactory
from .settings.config import Config, ConfigError, load_config

log = structlog.get_logger("hullwatch.record")

_DURATION = re.compile(r"(?P<value>[0-9]+(?:\.[0-9]*)?)\s*(?P<unit>s|m|h|d)?")
BUS_CLOSE_TIMEOUT_S = 2.0
_UNIT_S = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration_s(text: str) -> float:
    """`90s`, `30m`, `2h`, `1d`, or a bare number of seconds; ValueError otherwise."""
    match = _DURATION.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not a duration: {text!r} (write 90s, 30m, 2h or 1d)")
    seconds = float(match["value"]) * _UNIT_S[match["unit"] or "s"]
    if seconds <= 0:
        raise ValueError(f"the duration must be positive, not {text!r}")
    return seconds


def run_record(args: argparse.Namespace) -> int:
    try:
        duration_s = parse_duration_s(args.duration)
    except ValueError as exc:
        print(f"hullwatch record: --duration: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return ExitCode.CONFIG
    configure_logging(config.logging.level, config.logging.format)
    recorder = Recorder.for_config(config, args.output)
    samples = asyncio.run(_record(config, recorder, duration_s))
    written = recorder.writer.files_written
    total = sum(samples.values())
    summary = ", ".join(f"{sensor_id} {count}" for sensor_id, count in samples.items())
    print(
        f"hullwatch record: {total} samples ({summary}) in {len(written)} file(s) "
        f"under {recorder.writer.directory}",
        file=sys.stderr,
    )
    for path in written:
        print(path, file=sys.stdout)
    if total == 0:
        print("hullwatch record: no sensor delivered a sample", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    return ExitCode.OK


async def _record(config: Config, recorder: Recorder, duration_s: float) -> dict[str, int]:
    """Sample until `duration_s` of the loop's clock has passed, or SIGINT/SIGTERM."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    zone_of = {sensor.id: sensor.zone for sensor in config.sensors}
    guards = {
        sensor.id: SampleGuard(
            spike_threshold_pa=sensor.spike_threshold_pa,
            stuck_samples=sensor.stuck_samples,
            spike_noise_multiple=sensor.spike_noise_multiple,
        )
        for sensor in config.sensors
    }
    counts = dict.fromkeys(zone_of, 0)

    def on_sample(sample: Sample) -> None:
        counts[sample.sensor_id] += 1
        recorder.add(
            sample.sensor_id,
            zone_of[sample.sensor_id],
            sample.t_s,
            time.time() - (loop.time() - sample.t_s),
            sample.reading.pressure_pa,
            sample.reading.temperature_c,
            spikes_rejected=guards[sample.sensor_id].spikes_rejected,
        )

    def on_health(poller: SensorPoller) -> None:
        # As in the daemon: a sensor that is not ok has its series forgotten.
        if poller.health is not Health.OK:
            recorder.note_reset(poller.sensor_id)

    factory = SensorFactory(config.sensors)
    pollers = [
        SensorPoller(
            sensor_id=sensor.id,
            sensor=factory.build(sensor),
            rate_hz=sensor.rate_hz,
            on_sample=on_sample,
            on_fault=recorder.note_reset,
            guard=guards[sensor.id],
            on_health=on_health,
        )
        for sensor in config.sensors
    ]
    recorder.start()
    log.info("recording", seconds=duration_s, directory=str(recorder.writer.directory))
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(poller.run()) for poller in pollers]
            with contextlib.suppress(TimeoutError):  # the duration is up
                await asyncio.wait_for(stop.wait(), duration_s)
            for task in tasks:
                task.cancel()
    finally:
        try:
            await asyncio.wait_for(factory.close(), BUS_CLOSE_TIMEOUT_S)
        except TimeoutError:
            log.warning("a sensor bus did not close in time")
        await asyncio.to_thread(recorder.close)
    return counts
