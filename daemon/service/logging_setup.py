"""structlog: readable lines on a terminal, JSON lines otherwise (journald keeps them).

Under systemd, stderr is a stream to journald (`$JOURNAL_STREAM` names its
device and inode). Each line then starts with its syslog priority, `<2>` for
critical down to `<7>` for debug, which journald (`SyslogLevelPrefix=yes`, the
default) strips and stores as the entry's PRIORITY: a critical alert shows up
red in `journalctl` and can be selected with `journalctl -p crit`.

Records of the standard `logging` module (asyncio's "Exception in callback", other
libraries, `warnings`) go through the same renderer, with the logger's name in
`logger`: with `format = "json"` stderr holds JSON lines only.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Literal, TextIO

import structlog

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING}
_LEVELS["error"] = logging.ERROR

# syslog(3) priorities by structlog method name.
SYSLOG_PRIORITY: Mapping[str, int] = {
    "critical": 2,
    "exception": 3,
    "error": 3,
    "warning": 4,
    "warn": 4,
    "info": 6,
    "debug": 7,
}
_DEFAULT_PRIORITY = 6


def stderr_is_journal(environ: Mapping[str, str], stream: TextIO) -> bool:
    """True when `stream` is the journald stream `$JOURNAL_STREAM` (`<device>:<inode>`) names."""
    device, _, inode = environ.get("JOURNAL_STREAM", "").partition(":")
    try:
        status = os.fstat(stream.fileno())
        return (status.st_dev, status.st_ino) == (int(device), int(inode))
    except (ValueError, OSError):  # not set, malformed, or a stream without a descriptor
        return False


class SyslogPrefixed:
    """Wraps a renderer: `<N>` in front of each rendered line, N the syslog priority."""

    def __init__(self, renderer: structlog.types.Processor) -> None:
        self._renderer = renderer

    def __call__(
        self,
        logger: structlog.types.WrappedLogger,
        method_name: str,
        event_dict: structlog.types.EventDict,
    ) -> str:
        rendered = self._renderer(logger, method_name, event_dict)
        if isinstance(rendered, bytes | bytearray):
            rendered = rendered.decode(errors="replace")
        priority = SYSLOG_PRIORITY.get(method_name, _DEFAULT_PRIORITY)
        return f"<{priority}>{rendered}"


def configure_logging(
    level: str = "info", output_format: Literal["auto", "json", "console"] = "auto"
) -> None:
    use_console = output_format == "console" or (output_format == "auto" and sys.stderr.isatty())
    renderer: structlog.types.Processor = (
        structlog.dev.ConsoleRenderer() if use_console else structlog.processors.JSONRenderer()
    )
    if stderr_is_journal(os.environ, sys.stderr):
        renderer = SyslogPrefixed(renderer)
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            timestamper,
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    _route_standard_logging(renderer, timestamper, _LEVELS[level])


class _StructlogHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler `configure_logging` installed, so a second call replaces it."""


def _route_standard_logging(
    renderer: structlog.types.Processor, timestamper: structlog.types.Processor, level: int
) -> None:
    handler = _StructlogHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[
                structlog.processors.add_log_level,
                structlog.stdlib.add_logger_name,
                timestamper,
            ],
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _StructlogHandler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)
