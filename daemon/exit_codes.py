"""Process exit codes (sysexits.h), documented in the README.

systemd's `RestartPreventExitStatus=78` keys on EX_CONFIG: a bad configuration
file is not fixed by restarting.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # an unexpected error; the service manager may restart us
    USAGE = 64  # EX_USAGE: bad command line
    DATA_ERROR = 65  # EX_DATAERR: a malformed input file (a recording: file:line: reason)
    UNAVAILABLE = 69  # EX_UNAVAILABLE: a required sensor never came up
    SOFTWARE = 70  # EX_SOFTWARE: an internal error
    CONFIG = 78  # EX_CONFIG: the configuration is invalid
    INTERRUPTED = 130  # stopped by SIGINT (Ctrl-C) in the foreground
