"""`hullwatch characterize RECORDING...`: each sensor's real noise.

Registered through the `hullwatch.commands` entry point, so the daemon's CLI
offers it without importing numpy; it needs the `analysis` extra.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hullwatch.daemon.exit_codes import ExitCode
from hullwatch.daemon.settings.config import Config, ConfigError, load_config

# numpy, scipy and allantools are imported when the command runs, not when the
# daemon's CLI registers it: `hullwatch run` must start without the extra.
if TYPE_CHECKING:
    from .characterize import SensorReport
    from .recording_csv import SensorSeries
    from .sampling import Sampling

DEFAULT_SENSOR_ID = "sensor"  # without --config, rows without a sensor column
DEFAULT_REFERENCE_TEMPERATURE_K = 293.15  # ZoneSettings' default
DEFAULT_FALSE_ALARM_INTERVAL_DAYS = 365.0


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "characterize",
        help="each sensor's real noise from recordings: Allan deviation, noise fit, "
        "slope spread against the white-noise claim (needs hullwatch[analysis])",
    )
    parser.add_argument(
        "recordings",
        nargs="+",
        type=Path,
        metavar="RECORDING",
        help="CSV with a header: t_s,pressure_pa[,temperature_c][,sensor]",
    )
    parser.add_argument(
        "--config",
        type=Path,
        help="the daemon's configuration: sensor ids, each zone's T_ref and false-alarm budget",
    )
    parser.add_argument("--plot", type=Path, metavar="OUT.png", help="write a log-log PNG")
    parser.add_argument("--json", action="store_true", help="one JSON line per sensor")
    parser.add_argument(
        "--false-alarm-interval-days",
        type=float,
        metavar="N",
        help="the budget for the smallest detectable fall (default: the zone's "
        f"false_alarm_interval_days, else {DEFAULT_FALSE_ALARM_INTERVAL_DAYS:g})",
    )
    parser.add_argument(
        "--allow-gaps",
        action="store_true",
        help="keep a recording whose samples skip more than 10 median periods "
        "(the Allan deviation then treats its gaps as jitter)",
    )
    parser.set_defaults(handler=main)


@dataclass(frozen=True)
class _Job:
    series: SensorSeries
    sampling: Sampling
    reference_temperature_k: float
    false_alarm_interval_days: float


def main(args: argparse.Namespace) -> int:
    try:
        from .characterize import characterize
        from .recording_csv import RecordingError
    except ImportError as error:
        print(
            f"hullwatch characterize: {error.name} is missing: pip install 'hullwatch[analysis]'",
            file=sys.stderr,
        )
        return ExitCode.UNAVAILABLE
    if args.false_alarm_interval_days is not None and args.false_alarm_interval_days <= 0:
        print(
            "hullwatch characterize: --false-alarm-interval-days must be positive", file=sys.stderr
        )
        return ExitCode.USAGE
    config: Config | None = None
    if args.config is not None:
        try:
            config = load_config(args.config)
        except ConfigError as error:
            print(error, file=sys.stderr)
            return ExitCode.CONFIG
    try:
        jobs = _read_all(args, config)
    except RecordingError as error:
        print(f"hullwatch characterize: {error}", file=sys.stderr)
        return ExitCode.DATA_ERROR
    reports = [
        characterize(
            job.series,
            job.sampling,
            reference_temperature_k=job.reference_temperature_k,
            false_alarm_interval_days=job.false_alarm_interval_days,
        )
        for job in jobs
    ]
    _write(reports, args)
    return ExitCode.OK


def _read_all(args: argparse.Namespace, config: Config | None) -> list[_Job]:
    """Every file read and checked before anything is computed or printed."""
    from .recording_csv import read_recording
    from .sampling import check_sampling

    default_sensor = config.sensors[0].id if config is not None else DEFAULT_SENSOR_ID
    jobs = []
    for path in args.recordings:
        for series in read_recording(path, default_sensor):
            sampling = check_sampling(series, allow_gaps=args.allow_gaps)
            reference_k, days = _zone_settings(series, config)
            if args.false_alarm_interval_days is not None:
                days = args.false_alarm_interval_days
            if series.temperature_c is None:
                print(
                    f"hullwatch characterize: {series.label}: no temperature, "
                    "pressure only (no compensated quantity)",
                    file=sys.stderr,
                )
            if sampling.gaps:
                print(
                    f"hullwatch characterize: {series.label}: {sampling.gaps} gap(s), "
                    f"{100.0 * sampling.gap_fraction:.1f} % of the time; kept (--allow-gaps)",
                    file=sys.stderr,
                )
            jobs.append(_Job(series, sampling, reference_k, days))
    return jobs


def _zone_settings(series: SensorSeries, config: Config | None) -> tuple[float, float]:
    """(T_ref in K, false-alarm interval in days) for the series' sensor."""
    from .recording_csv import RecordingError

    if config is None:
        return DEFAULT_REFERENCE_TEMPERATURE_K, DEFAULT_FALSE_ALARM_INTERVAL_DAYS
    sensor = next((s for s in config.sensors if s.id == series.sensor_id), None)
    if sensor is None:
        known = ", ".join(s.id for s in config.sensors)
        raise RecordingError(
            series.source,
            int(series.lines[0]),
            f"sensor {series.sensor_id!r} is not in the configuration (its sensors: {known})",
        )
    zone = config.zone(sensor.zone)
    days = zone.false_alarm_interval_days or DEFAULT_FALSE_ALARM_INTERVAL_DAYS
    return zone.reference_temperature_k, days


def _write(reports: list[SensorReport], args: argparse.Namespace) -> None:
    from .report_text import as_json, write_text

    for report in reports:
        if args.json:
            print(as_json(report), flush=True)
        else:
            write_text(report, sys.stdout)
    if args.plot is not None:
        from .plot import write_plot

        write_plot(reports, args.plot)
