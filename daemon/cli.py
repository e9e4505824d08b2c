"""The `hullwatch` command.

Subcommands of the daemon itself are defined here; each imports its module
only when it runs. Subcommands that belong to other packages (the simulator's
`sim`, `demo` and `hil`, the analysis's `characterize`) register through the
`hullwatch.commands` entry-point group. An entry point is loaded only when its
command is the one chosen, or when the whole list is shown (`hullwatch --help`,
an unknown command): `hullwatch run` never imports the simulator.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

from .exit_codes import ExitCode

Handler = Callable[[argparse.Namespace], int]


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser for `argv`: every command is listed, but only the entry point of the
    command `argv` chooses is loaded (all of them when `argv` is None or chooses none)."""
    parser = argparse.ArgumentParser(
        prog="hullwatch", description="Leak detection for pressurized chambers."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = commands.add_parser("run", help="run the daemon")
    run.add_argument("config", type=Path, help="configuration file (TOML)")
    run.set_defaults(handler=_run)

    check = commands.add_parser(
        "check-config", help="validate a configuration file; exit 78 when it is invalid"
    )
    check.add_argument("config", type=Path, help="configuration file (TOML)")
    check.set_defaults(handler=_check_config)

    watch = commands.add_parser("watch", help="print alerts and station status from a broker")
    watch.add_argument("--host", default="127.0.0.1")
    watch.add_argument("--port", type=int, default=1883)
    watch.add_argument("--prefix", default="hullwatch", help="topic prefix (default hullwatch)")
    watch.add_argument("--station", default="+", help="one station (default: all)")
    watch.add_argument("--username")
    watch.add_argument("--password")
    watch.add_argument("--json", action="store_true", help="print JSON lines")
    watch.add_argument(
        "--count", type=int, default=0, help="exit after this many alerts (0: run until Ctrl-C)"
    )
    watch.add_argument(
        "--fleet",
        action="store_true",
        help="every station's status and open alerts: a table refreshed in place on a "
        "terminal, one line per change otherwise (docs/fleet.md)",
    )
    watch.add_argument("--tls-ca", metavar="FILE", help="CA certificate: connect with TLS")
    watch.add_argument("--tls-cert", metavar="FILE", help="client certificate (PEM)")
    watch.add_argument("--tls-key", metavar="FILE", help="the client certificate's key (PEM)")
    watch.set_defaults(handler=_watch)

    scan = commands.add_parser(
        "scan",
        help="probe I2C buses and identify the pressure sensors on them (resets them: "
        "stop the daemon first)",
    )
    scan.add_argument(
        "buses", nargs="*", metavar="BUS", help="/dev/i2c-N or sim:/path/to/simulator.sock"
    )
    scan.add_argument(
        "--serial",
        action="append",
        default=[],
        metavar="PORT",
        help="a serial port to try the bridge and PTB330 protocols on (repeatable)",
    )
    scan.add_argument("--timeout-s", type=float, default=0.5, help="per transfer (default 0.5)")
    scan.add_argument("--json", action="store_true", help="print JSON lines")
    scan.set_defaults(handler=_scan)

    record = commands.add_parser(
        "record",
        help="read the configured sensors for a while and write a recording, without "
        "detecting or publishing (a baseline survey; stop the daemon first)",
    )
    _add_record_arguments(record)
    record.set_defaults(handler=_record)

    replay = commands.add_parser(
        "replay",
        help="run recordings through the daemon's guard and detector at full speed and "
        "print the alerts it would publish",
    )
    _add_replay_arguments(replay)
    replay.set_defaults(handler=_replay)

    entries = entry_points(group="hullwatch.commands")
    chosen = None if argv is None else chosen_command(argv)
    if chosen in entries.names:
        entries = entries.select(name=chosen)
    elif chosen in commands.choices:
        return parser
    # None or an unknown word: every command, so that the help or the error lists them all.
    for entry in entries:
        register = entry.load()
        register(commands)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in `argv`, or None for the top-level help.

    The top-level parser takes no option but `-h`, so the first word that is not
    an option is the command.
    """
    for word in argv:
        if word in ("-h", "--help"):
            return None
        if not word.startswith("-"):
            return word
    return None


def _run(args: argparse.Namespace) -> int:
    from .service.process import run_service

    return run_service(args.config)


def _check_config(args: argparse.Namespace) -> int:
    from .settings.check_config import check_config

    return check_config(args.config, stream=sys.stdout)


def _scan(args: argparse.Namespace) -> int:
    import asyncio

    from .scan import scan

    if not args.buses and not args.serial:
        print("hullwatch scan: name at least one I2C bus or --serial port", file=sys.stderr)
        return ExitCode.USAGE
    return asyncio.run(
        scan(
            args.buses,
            serial_ports=args.serial,
            timeout_s=args.timeout_s,
            out=sys.stdout,
            as_json=args.json,
        )
    )


def _add_record_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", type=Path, help="configuration file (TOML)")
    parser.add_argument("--duration", required=True, help="how long: 90s, 30m, 2h, 1d")
    parser.add_argument(
        "--output",
        type=Path,
        metavar="DIR",
        help="where the files go (default: the configuration's recording directory)",
    )


def _add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "recordings",
        nargs="+",
        type=Path,
        metavar="RECORDING",
        help="hullwatch recordings (.csv.gz) or plain CSV (t_s,pressure_pa[,temperature_c]"
        "[,sensor]); a directory stands for the recordings in it",
    )
    parser.add_argument("--config", type=Path, required=True, help="configuration file (TOML)")
    parser.add_argument(
        "--json",
        action="store_true",
        help="one JSON line per document the daemon would publish (alerts and telemetry)",
    )
    parser.add_argument(
        "--raw-pressure",
        action="store_true",
        help="ignore the temperatures: fit the pressure as read (a sensor open to the room, "
        "to which no gas law applies)",
    )
    parser.add_argument("--report", type=Path, metavar="OUT.json", help="write a summary")
    parser.add_argument(
        "--plot", type=Path, metavar="OUT.png", help="draw a PNG (needs hullwatch[plot])"
    )


def _record(args: argparse.Namespace) -> int:
    from .record_command import run_record

    return run_record(args)


def _replay(args: argparse.Namespace) -> int:
    from .replay_command import run_replay

    return run_replay(args)


def _watch(args: argparse.Namespace) -> int:
    from .watch import run_watch

    return run_watch(args)


def main(argv: Sequence[str] | None = None) -> None:
    words = sys.argv[1:] if argv is None else argv
    parser = build_parser(words)
    args = parser.parse_args(words)
    handler: Handler = args.handler
    try:
        code = handler(args)
    except KeyboardInterrupt:
        code = ExitCode.INTERRUPTED
    sys.exit(int(code))
