"""Does the outbox's fsync stall the event loop? `ThreadWriter` vs `InlineWriter`, side by side.

    .venv/bin/python bench/outbox_stall.py [--rounds 3] [--window-s 2] [--fsync-ms 200]
    make bench-outbox

An asyncio loop runs a poller at 25 Hz the way `daemon/service/poller.py` does
(`asyncio.sleep` to the next slot on the loop's monotonic clock, whole missed
slots skipped) and records how late each tick wakes, while another task adds
alerts to a durable outbox on disk (`Outbox.open`: SQLite, WAL, `synchronous=FULL`
for each `add`), taking its seq from `next_seq` and asking `when_durable` as the
service does. Two writers: `ThreadWriter` (the daemon's: commits on the outbox's
own thread) and `InlineWriter` (`inline_writes=True`: commits on the loop's
thread, so the loop waits for each fsync). Two alert rates: realistic, 2 adds/s
(two zones re-alerting at the shortest `alert_update_interval_s`, 1 s), and
stressed, 50 adds/s. Two disks:

- local: the real disk under `--dir` (default: a temporary directory beside this
  file, not /tmp, which is tmpfs on many systems and has no fsync to wait for);
- slow: the same disk, with every fsync and fdatasync made `--fsync-ms` longer,
  as on a worn SD card. How: the bench compiles a small C library that wraps
  libc's `fsync` and `fdatasync` (sleep, then the real call) and runs itself in a
  child process with it in `LD_PRELOAD`. SQLite, the outbox and the kernel's
  fsync are the real ones; only the time the call takes is added, in the same
  place a slow card adds it (the writer's thread blocked in a system call inside
  SQLite, with the GIL released). The delay is switched on and off between cells
  through a variable in that library, so both disks run in one process. The run
  checks that the wrapper sees SQLite's syncs (fsyncs per add, printed) and stops
  if it does not. Not modelled: a slow card also delays other I/O to it; the
  loop's tasks do none (the poller reads I2C or a serial port). Needs Linux with
  glibc and a C compiler (`cc`).

Why not hold SQLite's write lock from another connection for X ms, as
tests/daemon/test_outbox.py does: that shows that a write can wait without the
loop waiting, but as a disk it is not slow by a known amount per commit. The
outbox's commit waits in SQLite's busy handler, which retries after sleeps of up
to 100 ms, so it ends up to 100 ms after the lock is freed; and with a backlog
of adds, a blocker that takes the lock again for the next one can get it back
before the writer's next retry.

Each cell (disk x rate x writer) opens a fresh outbox in a directory of its own,
measures for `--window-s`, then lets the writer's backlog drain at the real
disk's pace before closing. Within a round the writers alternate (thread,
inline, thread, inline, ...), so the load of a shared machine falls on both.
Reported per writer, pooled over the rounds: tick lateness median / p99 / max in
ms, missed poller slots, adds/s (calls to `add` that returned in the window) and
durable/s (of those, commits reported by `when_durable` in the window), and the
ratio inline/thread. Results go in docs/delivery.md ("Fsync policy").
"""

from __future__ import annotations

import argparse
import asyncio
import ctypes
import datetime
import json
import logging
import math
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import structlog

from hullwatch.daemon.delivery.outbox import Kind, Outbox

POLL_RATE_HZ = 25.0
RATES_PER_S = {"realistic": 2.0, "stressed": 50.0}
WRITERS = ("thread", "inline")
MAX_MESSAGES = 100_000  # never reached: no eviction in the measurement
SHIM_ENV = "HULLWATCH_BENCH_FSYNC_SHIM"

_SHIM_C = r"""
/* fsync and fdatasync, each made hullwatch_fsync_delay_us longer (bench/outbox_stall.py). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <time.h>

volatile long hullwatch_fsync_delay_us = 0;
volatile long hullwatch_fsync_calls = 0;

static void slow_disk(void) {
    long delay_us = hullwatch_fsync_delay_us;
    __sync_fetch_and_add(&hullwatch_fsync_calls, 1);
    if (delay_us <= 0) return;
    struct timespec left = {delay_us / 1000000, (delay_us % 1000000) * 1000};
    int saved = errno;
    while (nanosleep(&left, &left) == -1 && errno == EINTR) {}
    errno = saved;
}

int fsync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
    slow_disk();
    return real(fd);
}

int fdatasync(int fd) {
    static int (*real)(int);
    if (!real) real = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
    slow_disk();
    return real(fd);
}
"""


class FsyncShim:
    """The preloaded wrapper's two variables: the added delay and the count of calls."""

    def __init__(self, path: Path) -> None:
        library = ctypes.CDLL(str(path))  # the preloaded copy: dlopen finds it loaded
        self._delay_us = ctypes.c_long.in_dll(library, "hullwatch_fsync_delay_us")
        self._calls = ctypes.c_long.in_dll(library, "hullwatch_fsync_calls")

    @property
    def calls(self) -> int:
        return int(self._calls.value)

    def set_delay_ms(self, delay_ms: float) -> None:
        self._delay_us.value = round(delay_ms * 1000)

    def check_interposed(self, directory: Path) -> None:
        """Stop the run unless a plain fsync goes through the wrapper."""
        before = self.calls
        probe = directory / "fsync-probe"
        with probe.open("wb") as file:
            file.write(b"x")
            file.flush()
            os.fsync(file.fileno())
        probe.unlink()
        if self.calls == before:
            sys.exit(f"{SHIM_ENV}: fsync is not interposed (LD_PRELOAD did not take)")


@dataclass(frozen=True, slots=True)
class Cell:
    lateness_ms: list[float]
    missed_slots: int
    adds: int
    durable: int
    window_s: float  # from the start to the last add's return, at least the window


_PAYLOAD_FIELDS = {
    "schema": 1,
    "station": "lab-2",
    "kind": "update",
    "level": "warning",
    "previous_level": "warning",
    "time": "2026-11-30T12:00:00.000000+00:00",
    "pressure_pa": 101_325.12,
    "temperature_c": 21.345,
    "dpdt_pa_per_s": -0.012345,
    "dpdt_stderr_pa_per_s": 0.000678,
    "leak_rate_pa_m3_per_s": -4.938e-3,
    "leak_rate_stderr_pa_m3_per_s": 2.71e-4,
    "leak_rate_sccm": 2.9233,
    "hole_diameter_mm": 0.06012,
    "reserve_time_s": 812_345.6,
    "estimate_window_s": 600.0,
    "significance_sigma": 18.2,
    "sensors": ["bmp388-a", "ms5611-b"],
    "sensors_suspect": [],
    "reason": "pressure falling faster than the warning rate over 600 s",
}


def _add_alert(outbox: Outbox, zone: str) -> None:
    """What the service does per alert: a seq, the document into the outbox."""
    seq = outbox.next_seq()
    payload = json.dumps({**_PAYLOAD_FIELDS, "event_id": f"bench-{seq}", "seq": seq, "zone": zone})
    outbox.add(Kind.ALERT_UPDATE, f"hullwatch/lab-2/zones/{zone}/alert", payload, seq=seq)


async def _measure(outbox: Outbox, adds_per_s: float, window_s: float) -> Cell:
    loop = asyncio.get_running_loop()
    period_s = 1.0 / POLL_RATE_HZ
    start_s = loop.time()
    end_s = start_s + window_s
    lateness_ms: list[float] = []
    missed_slots = 0
    adds = 0
    durable = 0

    async def poll() -> None:
        # SensorPoller._sample_until_fault's schedule, with a tick in place of the read.
        nonlocal missed_slots
        slot = 0
        while True:
            slot += 1
            deadline_s = start_s + slot * period_s
            delay_s = deadline_s - loop.time()
            if delay_s < 0.0:
                behind = math.ceil(-delay_s / period_s)
                slot += behind
                missed_slots += behind
                deadline_s += behind * period_s
                delay_s += behind * period_s
            if deadline_s > end_s:
                return
            await asyncio.sleep(delay_s)
            lateness_ms.append(1e3 * (loop.time() - deadline_s))

    def on_durable() -> None:
        nonlocal durable
        durable += 1

    async def add_alerts() -> None:
        # Every alert is stored, however late (none is skipped when behind), until the
        # window ends: a writer that cannot keep up makes fewer adds.
        nonlocal adds
        interval_s = 1.0 / adds_per_s
        while (due_s := start_s + (adds + 0.5) * interval_s) < end_s:
            await asyncio.sleep(max(0.0, due_s - loop.time()))
            if loop.time() >= end_s:
                return
            _add_alert(outbox, zone=f"z{adds % 2}")
            outbox.when_durable(on_durable)
            adds += 1

    await asyncio.gather(poll(), add_alerts())
    # An inline add begun before the end may return after it: count its time too.
    return Cell(lateness_ms, missed_slots, adds, durable, max(window_s, loop.time() - start_s))


def _run_cell(
    parent: Path,
    shim: FsyncShim,
    *,
    writer: str,
    adds_per_s: float,
    fsync_ms: float,
    window_s: float,
) -> Cell:
    state_dir = Path(tempfile.mkdtemp(prefix="cell-", dir=parent))
    outbox = Outbox.open(state_dir, max_messages=MAX_MESSAGES, inline_writes=writer == "inline")
    try:
        shim.set_delay_ms(fsync_ms)
        return asyncio.run(_measure(outbox, adds_per_s, window_s))
    finally:
        shim.set_delay_ms(0.0)  # the backlog drains at the real disk's pace
        outbox.close()
        shutil.rmtree(state_dir)


def _calibrate(parent: Path, shim: FsyncShim, adds: int = 20) -> tuple[float, float]:
    """(fsyncs per add, median ms per add) on the real disk, outside an event loop
    (each call waits for its commit)."""
    state_dir = Path(tempfile.mkdtemp(prefix="calibrate-", dir=parent))
    outbox = Outbox.open(state_dir, max_messages=MAX_MESSAGES)
    try:
        _add_alert(outbox, "z0")  # the first commit creates the WAL
        before = shim.calls
        spent_ms = []
        for _ in range(adds):
            start = time.perf_counter()
            _add_alert(outbox, "z0")
            spent_ms.append(1e3 * (time.perf_counter() - start))
        return (shim.calls - before) / adds, statistics.median(spent_ms)
    finally:
        outbox.close()
        shutil.rmtree(state_dir)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def _figures(cells: list[Cell]) -> tuple[float, float, float, int, float, float]:
    """Pooled over rounds: (median, p99, max lateness ms, missed slots, adds/s, durable/s)."""
    lateness = [ms for cell in cells for ms in cell.lateness_ms]
    seconds = sum(cell.window_s for cell in cells)
    return (
        statistics.median(lateness),
        _percentile(lateness, 0.99),
        max(lateness),
        sum(cell.missed_slots for cell in cells),
        sum(cell.adds for cell in cells) / seconds,
        sum(cell.durable for cell in cells) / seconds,
    )


def _filesystem(path: Path) -> str:
    """'<type> on <device>' of the mount holding `path` (Linux mountinfo)."""
    resolved = str(path.resolve())
    best = ("", "?", "?")
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        mount_point = fields[4]
        fstype, source = fields[fields.index("-") + 1 : fields.index("-") + 3]
        inside = resolved == mount_point or resolved.startswith(mount_point.rstrip("/") + "/")
        if inside and len(mount_point) >= len(best[0]):
            best = (mount_point, fstype, source)
    return f"{best[1]} on {best[2]} (mounted at {best[0]})"


def _compile_shim(directory: Path) -> Path:
    source = directory / "fsync_delay.c"
    library = directory / "fsync_delay.so"
    source.write_text(_SHIM_C)
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        sys.exit("bench/outbox_stall.py needs a C compiler (cc) for the slow disk")
    command = [compiler, "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"]
    subprocess.run(command, check=True)
    return library


def _in_child_with_shim() -> int:
    """Run this script again in a child process with the fsync wrapper preloaded."""
    with tempfile.TemporaryDirectory(prefix="hullwatch-fsync-shim-") as directory:
        library = _compile_shim(Path(directory))
        preload = " ".join(filter(None, [str(library), os.environ.get("LD_PRELOAD")]))
        env = {**os.environ, "LD_PRELOAD": preload, SHIM_ENV: str(library)}
        return subprocess.run([sys.executable, __file__, *sys.argv[1:]], env=env).returncode


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _print_setup(args: argparse.Namespace, parent: Path, shim: FsyncShim) -> None:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    print(
        f"{now}; {platform.machine()}, {os.cpu_count()} cores, load {_load()}; "
        f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}"
    )
    print(f"local disk: {_filesystem(parent)}")
    fsyncs_per_add, add_ms = _calibrate(parent, shim)
    if fsyncs_per_add == 0:
        sys.exit("SQLite's commits did not go through the fsync wrapper: no slow disk")
    print(
        f"one add outside a loop (waits for its commit): {add_ms:.2f} ms median; "
        f"{fsyncs_per_add:g} fsync(s) per add"
    )
    print(
        f"slow disk: each fsync +{args.fsync_ms:g} ms; poller {POLL_RATE_HZ:g} Hz; "
        f"{args.rounds} rounds x {args.window_s:g} s per cell; writers alternate in each round"
    )


Cells = dict[tuple[str, str, str], list[Cell]]  # (disk, rate, writer): one per round


def _run_rounds(
    args: argparse.Namespace, parent: Path, shim: FsyncShim, disks: dict[str, float]
) -> Cells:
    cells: Cells = {}
    header = "round | disk  | rate      | writer | late median ms |    p99 |    max | missed slots"
    print(f"\n{header} | adds/s | durable/s")
    for round_index in range(args.rounds):
        for disk, fsync_ms in disks.items():
            for rate, adds_per_s in RATES_PER_S.items():
                for writer in WRITERS:
                    cell = _run_cell(
                        parent,
                        shim,
                        writer=writer,
                        adds_per_s=adds_per_s,
                        fsync_ms=fsync_ms,
                        window_s=args.window_s,
                    )
                    cells.setdefault((disk, rate, writer), []).append(cell)
                    median, p99, worst, missed, adds, durable = _figures([cell])
                    print(
                        f"{round_index + 1:5} | {disk:5} | {rate:9} | {writer:6} | "
                        f"{median:14.2f} | {p99:6.2f} | {worst:6.2f} | {missed:12} | "
                        f"{adds:6.1f} | {durable:9.1f}"
                    )
    return cells


def _print_summary(cells: Cells, disks: dict[str, float], rounds: int) -> None:
    print(f"\nall {rounds} rounds pooled")
    header = "disk  | rate          | writer        | late median ms |    p99 |    max | missed"
    print(f"{header} | adds/s")
    for disk in disks:
        for rate, adds_per_s in RATES_PER_S.items():
            label = f"{rate} {adds_per_s:g}/s"
            figures = {w: _figures(cells[(disk, rate, w)]) for w in WRITERS}
            for writer in WRITERS:
                median, p99, worst, missed, adds, durable = figures[writer]
                print(
                    f"{disk:5} | {label:13} | {writer:13} | {median:14.2f} | {p99:6.2f} | "
                    f"{worst:6.2f} | {missed:6} | {adds:.1f} (durable {durable:.1f})"
                )
            inline, thread = figures["inline"], figures["thread"]
            ratios = [inline[i] / thread[i] if thread[i] > 0 else math.inf for i in range(6)]
            print(
                f"{disk:5} | {label:13} | inline/thread | {ratios[0]:14.1f} | {ratios[1]:6.1f} | "
                f"{ratios[2]:6.1f} | {'':6} | {ratios[4]:.2f}"
            )
    print("\nthe thread writer on the slow disk / on the local disk (median, p99, max):")
    for rate in RATES_PER_S:
        local, slow = (_figures(cells[(disk, rate, "thread")]) for disk in disks)
        print(f"  {rate}: " + ", ".join(f"{slow[i] / local[i]:.2f}" for i in range(3)))
    print(f"load at the end {_load()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds of 8 cells (3)")
    parser.add_argument("--window-s", type=float, default=2.0, help="seconds per cell (2)")
    parser.add_argument("--fsync-ms", type=float, default=200.0, help="slow disk: ms per fsync")
    parser.add_argument(
        "--dir", type=Path, default=Path(__file__).resolve().parent, help="where the disk is"
    )
    args = parser.parse_args()
    shim_path = os.environ.get(SHIM_ENV)
    if shim_path is None:
        return _in_child_with_shim()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    shim = FsyncShim(Path(shim_path))
    with tempfile.TemporaryDirectory(prefix=".outbox-stall-", dir=args.dir) as parent:
        shim.check_interposed(Path(parent))
        _print_setup(args, Path(parent), shim)
        disks = {"local": 0.0, "slow": args.fsync_ms}
        _print_summary(_run_rounds(args, Path(parent), shim, disks), disks, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
