"""The dependency rules of docs/architecture.md, over the import graph as written
(every `import` and `from … import` in the source, static: a lazy import inside a
function counts as much as one at the top)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DETECTION = ROOT / "daemon" / "detection"
# What the detection room may use of the standard library: computation only, no
# I/O and no clock.
PURE_STDLIB = frozenset(
    {
        "__future__",
        "array",
        "bisect",
        "collections",
        "dataclasses",
        "enum",
        "functools",
        "heapq",
        "itertools",
        "math",
        "operator",
        "statistics",
        "typing",
    }
)


def _imports(path: Path) -> Iterator[tuple[int, str, int]]:
    """(line, module, relative level) of every import in `path`."""
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            if node.level and node.module is None:
                for alias in node.names:
                    yield node.lineno, alias.name, node.level
            else:
                yield node.lineno, node.module or "", node.level


def _sources(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_the_rules_see_the_code() -> None:
    """The scan finds the room and its imports (a rule over nothing cannot fail)."""
    modules = {path.stem for path in DETECTION.glob("*.py")}
    assert {"detector", "sensor_lines", "thermal_events", "noise_estimate"} <= modules
    assert any(module == "math" for _, module, _ in _imports(DETECTION / "physics.py"))


@pytest.mark.parametrize("path", sorted(DETECTION.glob("*.py")), ids=lambda path: path.name)
def test_detection_imports_only_pure_code_and_itself(path: Path) -> None:
    room = {p.stem for p in DETECTION.glob("*.py")}
    wrong = []
    for line, module, level in _imports(path):
        if level == 1 and module.split(".")[0] in room:
            continue
        if level == 0 and module.split(".")[0] in PURE_STDLIB:
            continue
        wrong.append(f"{path.relative_to(ROOT)}:{line}: {'.' * level}{module}")
    assert wrong == []


def _absolute_imports_of(folder: str, prefixes: tuple[str, ...]) -> list[str]:
    """Every absolute import in `folder` of a module under one of `prefixes`."""
    return [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in _sources(folder)
        for line, module, level in _imports(path)
        if level == 0 and module.startswith(prefixes)
    ]


@pytest.mark.parametrize("folder", ["daemon", "drivers", "archive"])
def test_the_daemon_drivers_and_archive_never_import_the_simulator(folder: str) -> None:
    assert _absolute_imports_of(folder, ("hullwatch.hil",)) == []


def test_drivers_know_nothing_of_the_daemon() -> None:
    """Chip logic and transports stand alone: the daemon uses the drivers, never
    the other way round."""
    assert _absolute_imports_of("drivers", ("hullwatch.daemon", "hullwatch.archive")) == []


# Per room of daemon/: the other rooms it must never import (docs/architecture.md).
# The tools at daemon/'s top level (cli, watch, scan, replay, …) may import any room.
TOOLS = tuple(
    path.stem
    for path in sorted((ROOT / "daemon").glob("*.py"))
    if path.stem not in ("__init__", "exit_codes")
)
FORBIDDEN = {
    "settings": ("delivery", "service", "detection", *TOOLS),
    "delivery": ("service", *TOOLS),
    "service": TOOLS,
}


def _daemon_target(path: Path, module: str, level: int) -> str | None:
    """The daemon module an import names, as 'room.module' or 'module' (top level);
    None outside the daemon."""
    if level == 0:
        prefix = "hullwatch.daemon."
        return module[len(prefix) :] if module.startswith(prefix) else None
    package = list(path.relative_to(ROOT / "daemon").parent.parts)
    base = package[: len(package) - (level - 1)] if level > 1 else package
    return ".".join([*base, module]) if module else ".".join(base)


@pytest.mark.parametrize("room", sorted(FORBIDDEN))
def test_each_room_keeps_to_its_side_of_the_flow(room: str) -> None:
    wrong = []
    for path in sorted((ROOT / "daemon" / room).rglob("*.py")):  # sub-packages too (wire/)
        for line, module, level in _imports(path):
            target = _daemon_target(path, module, level)
            if target is None:
                continue
            head = target.split(".")[0]
            if head in FORBIDDEN[room]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {target}")
    assert wrong == []


def test_the_alert_policy_reads_no_clock_and_does_no_io() -> None:
    """`hullwatch replay` decides on recording time exactly what the daemon decided on
    monotonic time only while the policy between samples and alerts is pure: it may
    use the pure standard library, the detection room and the configuration model."""
    path = ROOT / "daemon" / "service" / "alert_policy.py"
    wrong = []
    for line, module, level in _imports(path):
        target = _daemon_target(path, module, level)
        if target is not None and target.split(".")[0] in ("detection", "settings"):
            continue
        if level == 0 and module.split(".")[0] in PURE_STDLIB:
            continue
        wrong.append(f"{path.relative_to(ROOT)}:{line}: {'.' * level}{module}")
    assert wrong == []
