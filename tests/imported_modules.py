"""The modules a Python process imported, read from its `-X importtime` report."""

from __future__ import annotations

# `-X importtime` (or PYTHONPROFILEIMPORTTIME=1) writes one line per import to stderr:
# "import time: <self us> | <cumulative us> | <indent><module>".
_PREFIX = "import time:"


def imported_modules(stderr: str) -> set[str]:
    """Every module named in the import-time lines of `stderr` (other lines are ignored)."""
    modules = set()
    for line in stderr.splitlines():
        if line.startswith(_PREFIX) and "|" in line:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "package":  # the report's header line
                modules.add(name)
    return modules


def simulator_modules(stderr: str) -> list[str]:
    """The `hullwatch.hil` modules among them, sorted."""
    return sorted(m for m in imported_modules(stderr) if m.split(".")[:2] == ["hullwatch", "hil"])
