"""`hullwatch check-config FILE`: validate a configuration and say what is wrong with it.

Every problem is one line, `<source>: <key_path> = <value>: <message>`, where the
source is the file or the environment variable the value came from; problems
with the file as a whole (unreadable, TOML syntax) are `<source>: <message>`.
Exit status 0 when the configuration is valid, 78 (EX_CONFIG) when it is not.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from ..exit_codes import ExitCode
from .config import ConfigError, load_config
from .secret_hygiene import secret_warnings


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def check_config(path: Path, *, stream: TextIO, environ: Mapping[str, str] | None = None) -> int:
    """Print a one-line summary (exit 0) or every problem and a count (exit 78)."""
    try:
        config = load_config(path, environ)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=stream)
        print(f"{_count(len(exc.problems), 'problem')} in {path}", file=stream)
        return ExitCode.CONFIG
    for warning in secret_warnings(config.mqtt):
        print(f"{path}: {warning}", file=stream)
    print(
        f"{path}: ok: station {config.station!r}, {_count(len(config.zones), 'zone')}, "
        f"{_count(len(config.sensors), 'sensor')}",
        file=stream,
    )
    return ExitCode.OK
