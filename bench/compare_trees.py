"""Before and after: the same benches run on two checkouts' code, side by side in one run.

    .venv/bin/python bench/compare_trees.py                   # before = BEFORE_REF
    .venv/bin/python bench/compare_trees.py --before a183ad4 --rounds 3
    .venv/bin/python bench/compare_trees.py --before 778538b --after measure-13

Each round runs, for each tree in turn (the order alternates: A B, B A, …, so a
machine that slows down during the run weighs on both alike):

- `bench/hil_speed.py --hours H`: CPU µs per sample of an accelerated run (the
  daemon's pollers, guard, detector and alert policy, with the simulator);
- `bench/alert_latency.py --json`: real-time alert latency through a real
  Mosquitto (sample → decision → received), and the process's CPU per sample.

Both bench files are this checkout's; the code they import is the tree's: the
other tree is `git archive`d into a temporary directory and put first on
PYTHONPATH as the `hullwatch` namespace (the editable install of this checkout
stays behind it). A tree from before the daemon's rooms works too
(`alert_latency` finds the flat modules).

Prints each figure's median over the rounds per tree and the ratio after/before.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import re
import statistics
import subprocess
import sys
import tarfile
import tempfile
import tomllib
from io import BytesIO
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# The last commit before the service room was split into alert policy, supervisor,
# telemetry, noise keeper and process (issue 13).
BEFORE_REF = "778538b"
PACKAGES = ("daemon", "drivers", "hil", "analysis", "archive")
CPU_LINE = re.compile(r"([0-9.]+) µs of CPU time per sample")


def _missing_requirements(source: Path) -> list[str]:
    """The tree's declared dependencies that this environment does not have (an older
    tree may need a library this checkout dropped, e.g. aiomqtt)."""
    project = tomllib.loads((source / "pyproject.toml").read_text())["project"]
    missing = []
    for requirement in project.get("dependencies", []):
        name = re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0]
        try:
            importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement)
    return missing


def _tree_at(ref: str, into: Path) -> str:
    """The tree of `ref`, extracted under `into`: the PYTHONPATH that imports its code
    (its `hullwatch` namespace, and what it needs that this environment lacks)."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", ref],
        check=True,
        capture_output=True,
    ).stdout
    source = into / "source"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(source, filter="data")
    path = [str(_namespace(source, into))]
    missing = _missing_requirements(source)
    if missing:
        site = into / "site"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(site), *missing],
            check=True,
        )
        path.append(str(site))
    return os.pathsep.join(path)


def _namespace(source: Path, into: Path) -> Path:
    """A directory holding `hullwatch/<package>` links to `source`'s packages."""
    shim = into / "shim"
    (shim / "hullwatch").mkdir(parents=True)
    for package in PACKAGES:
        if (source / package).is_dir():
            (shim / "hullwatch" / package).symlink_to(source / package)
    return shim


def _run(pythonpath: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, *args],
        env={**os.environ, "PYTHONPATH": pythonpath},
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{result.stderr[-2000:]}")
    return result.stdout


def measure(pythonpath: str, hours: float) -> dict[str, float]:
    speed = _run(pythonpath, str(ROOT / "bench" / "hil_speed.py"), "--hours", str(hours))
    found = CPU_LINE.search(speed)
    if found is None:
        raise RuntimeError(f"hil_speed printed no CPU figure:\n{speed}")
    latency = json.loads(_run(pythonpath, str(ROOT / "bench" / "alert_latency.py"), "--json"))
    shim = pythonpath.split(os.pathsep)[0]
    if not latency["daemon_source"].startswith(shim):
        raise RuntimeError(f"ran {latency['daemon_source']}, not the code under {shim}")
    return {
        "accelerated CPU µs/sample": float(found.group(1)),
        "real-time CPU µs/sample": latency["cpu_us_per_sample"],
        "sample → decision ms": latency["sample_to_decision"]["median_ms"],
        "decision → received ms": latency["decision_to_received"]["median_ms"],
        "sample → received ms": latency["sample_to_received"]["median_ms"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=BEFORE_REF, help=f"git ref (default {BEFORE_REF})")
    parser.add_argument(
        "--after", default=None, help="git ref (default: this checkout's working tree)"
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--hours", type=float, default=0.25, help="hil_speed's simulated hours")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hullwatch-compare-") as tmp:
        after = (
            str(_namespace(ROOT, Path(tmp) / "after"))
            if args.after is None
            else _tree_at(args.after, Path(tmp) / "after")
        )
        trees = {
            f"before ({args.before})": _tree_at(args.before, Path(tmp) / "before"),
            f"after ({args.after or 'this checkout'})": after,
        }
        figures: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        for round_index in range(args.rounds):
            order = list(trees) if round_index % 2 == 0 else list(reversed(trees))
            for name in order:
                figures[name].append(measure(trees[name], args.hours))
                print(f"round {round_index + 1}: {name} done", file=sys.stderr, flush=True)
    before, after = (
        {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        for runs in figures.values()
    )
    names = list(figures)
    print(f"medians over {args.rounds} rounds, one run")
    print(f"{'figure':28s} {names[0]:>22s} {names[1]:>22s} {'after/before':>13s}")
    for key in before:
        print(f"{key:28s} {before[key]:22.3f} {after[key]:22.3f} {after[key] / before[key]:13.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
