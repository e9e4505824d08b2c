"""The `hullwatch replay` command: arguments, exit codes, and output only when all went well."""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from typing import TextIO

from .exit_codes import ExitCode
from .replay import ReplayRun
from .replay_input import RecordingError, expand, merged
from .settings.config import ConfigError, load_config


def run_replay(
    args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None
) -> int:
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=err)
        return ExitCode.CONFIG
    if args.plot is not None and importlib.util.find_spec("matplotlib") is None:
        print(
            "hullwatch replay: --plot needs matplotlib: pip install 'hullwatch[plot]'",
            file=err,
        )
        return ExitCode.UNAVAILABLE
    recordings = expand(args.recordings)
    if not recordings:
        print("hullwatch replay: no recording found in the directories given", file=err)
        return ExitCode.USAGE

    def notice(text: str) -> None:
        print(text, file=err, flush=True)

    run = ReplayRun(config, telemetry=args.json, notice=notice, raw_pressure=args.raw_pressure)
    sensor_ids = [sensor.id for sensor in config.sensors]
    try:
        run.run(merged(recordings, sensor_ids=sensor_ids, notice=notice))
    except RecordingError as exc:
        print(exc, file=err)
        return ExitCode.DATA_ERROR
    lines = run.json_lines() if args.json else run.alert_lines()
    if lines:
        out.write("\n".join(lines) + "\n")
        out.flush()
    if args.report is not None:
        report = run.report(recordings, args.config)
        args.report.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    if args.plot is not None:
        from .replay_plot import plot_replay

        plot_replay(run, args.plot, title=f"{config.station}: {', '.join(map(str, recordings))}")
    return ExitCode.OK
