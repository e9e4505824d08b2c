"""The daemon's log during an in-process run: JSON lines into a file, then the process's own
logging back."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import structlog


@contextmanager
def daemon_log_to(log_path: Path | None) -> Iterator[None]:
    """Send structlog's output (INFO and above, JSON) to `log_path`, or nowhere when None.

    An accelerated run puts the daemon in this process: without this its log lines
    would land in the caller's output, and after it the caller's configuration must
    come back even when the run fails.
    """
    saved = structlog.get_config()
    with open(log_path or os.devnull, "w") as log_file:
        structlog.configure(
            processors=[
                structlog.processors.add_log_level,
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.JSONRenderer(),
            ],
            wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
            logger_factory=structlog.PrintLoggerFactory(file=log_file),
            cache_logger_on_first_use=False,
        )
        try:
            yield
        finally:
            # The log file closes after this: give the process its own logging back.
            structlog.configure(**saved)
