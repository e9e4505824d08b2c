"""`hullwatch hil run SCENARIO`: run a scenario against the daemon and print a verdict.

Exit status 0 when every expectation is met, 1 when any is missed, 78 when the
scenario file is invalid.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .accelerated import run_accelerated
from .realtime import run_realtime
from .scenario import load_scenario

EX_CONFIG = 78


def register(commands: Any) -> None:
    hil = commands.add_parser("hil", help="hardware-in-the-loop scenarios")
    actions = hil.add_subparsers(dest="hil_command", required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run a scenario and judge the daemon")
    run.add_argument("scenario", type=Path, help="scenario file (hil/scenarios/*.toml)")
    run.add_argument(
        "--accelerated",
        action="store_true",
        help="simulated time, in one process (default: real time, real processes)",
    )
    run.add_argument("--report", type=Path, help="write the JSON report here")
    run.add_argument("--workdir", type=Path, help="keep logs here (default: a temporary directory)")
    run.add_argument("--broker", help="HOST:PORT of a broker to use (real time only)")
    run.add_argument("--quiet", action="store_true", help="no progress lines")
    run.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    try:
        scenario = load_scenario(args.scenario)
    except (OSError, tomllib.TOMLDecodeError, ValidationError) as exc:
        print(f"hullwatch hil: {args.scenario}: {exc}", file=sys.stderr)
        return EX_CONFIG
    progress = None if args.quiet else sys.stderr
    name = args.scenario.stem
    with tempfile.TemporaryDirectory(prefix="hullwatch-hil-") as temporary:
        workdir = args.workdir or Path(temporary)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.accelerated:
            result = run_accelerated(
                scenario, name=name, log_path=workdir / "daemon.log", progress=progress
            )
        else:
            broker = None
            if args.broker:
                host, _, port = args.broker.rpartition(":")
                broker = (host or "127.0.0.1", int(port))
            result = run_realtime(
                scenario,
                name=name,
                scenario_path=args.scenario,
                workdir=workdir,
                broker_address=broker,
                progress=progress,
            )
        print(result.summary())
        if args.report:
            result.write_report(args.report)
    return 0 if result.passed else 1
