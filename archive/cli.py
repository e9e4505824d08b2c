"""`hullwatch archive --config FILE` (registered through the `hullwatch.commands` entry
point: the daemon never imports this package or its PostgreSQL driver)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from hullwatch.daemon.exit_codes import ExitCode


def register(commands: Any) -> None:
    archive = commands.add_parser(
        "archive",
        help="store the alerts, health and telemetry of every station on a central broker "
        "in PostgreSQL (docs/fleet.md)",
    )
    archive.add_argument("--config", type=Path, required=True, help="archive configuration (TOML)")
    archive.add_argument(
        "--check", action="store_true", help="validate the configuration and exit (0 or 78)"
    )
    archive.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    # Imported here: every `hullwatch` command loads this module to register `archive`.
    from hullwatch.daemon.service.logging_setup import configure_logging
    from hullwatch.daemon.settings.config import ConfigError

    from .config import load_archive_config

    try:
        config = load_archive_config(args.config)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print("hullwatch archive: refusing to start with an invalid configuration", file=sys.stderr)
        return ExitCode.CONFIG
    if args.check:
        print(f"{args.config}: valid")
        return ExitCode.OK
    try:
        from .service import serve
    except ImportError as exc:  # psycopg is in the `fleet` extra
        print(f"hullwatch archive: {exc}: pip install 'hullwatch[fleet]'", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    configure_logging(config.logging.level, config.logging.format)
    asyncio.run(serve(config))
    return ExitCode.OK
