"""Reading recordings for `hullwatch replay`: hullwatch's own format and plain CSV.

Both are CSV with a header row; lines starting with `#` are comments. The
columns read are `t_s` and `pressure_pa` (required), `temperature_c`, `sensor`,
`wall_time` and `flags` (optional); others are ignored. A file whose first line
is the recording header (`recording.MAGIC`) was written by hullwatch after the
sample guard: its samples go to the detector as they are. A plain CSV holds raw
readings, which go through the guard first, as the poller's do.

Gzip'd files are recognised by their first bytes. A gzip'd recording that ends
in the middle (the daemon killed, a power cut) is read up to where it ends,
with a notice: that is how the format is meant to fail.

Every problem is a `RecordingError` with `file:line: reason`, raised when the
line is reached: the replay buffers its output and prints none of it then.
"""

from __future__ import annotations

import csv
import gzip
import heapq
import math
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Final

from .service.recording import FLAG_RESET, MAGIC

REQUIRED: Final = ("t_s", "pressure_pa")
_GZIP_MAGIC: Final = b"\x1f\x8b"

Notice = Callable[[str], None]


class RecordingError(Exception):
    """A recording that cannot be replayed: `path:line: reason`."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        # Line 0: the file as a whole (it cannot be opened).
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")


@dataclass(frozen=True, slots=True)
class InputSample:
    t_s: float
    sensor_id: str
    pressure_pa: float
    temperature_c: float | None  # None: the file has none (raw pressure, no gas law)
    wall_time_s: float | None  # Unix time, where the file has it
    guarded: bool  # already through the guard (a hullwatch recording)
    reset: bool  # the daemon's detector forgot this sensor's series before it


def expand(paths: Sequence[Path]) -> list[Path]:
    """Files as given; a directory stands for the `*.csv.gz` and `*.csv` files in it."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(
                p for p in path.iterdir() if p.name.endswith((".csv", ".csv.gz")) and p.is_file()
            )
            files.extend(found)
        else:
            files.append(path)
    return files


def merged(
    paths: Sequence[Path],
    *,
    sensor_ids: Sequence[str],
    notice: Notice,
) -> Iterator[InputSample]:
    """Every file's samples, merged by time (each file's own order kept on equal times)."""
    streams = [read_samples(path, sensor_ids=sensor_ids, notice=notice) for path in paths]
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=_time_of)


def _time_of(sample: InputSample) -> float:
    return sample.t_s


def read_samples(path: Path, *, sensor_ids: Sequence[str], notice: Notice) -> Iterator[InputSample]:
    """The samples of one file, checked line by line."""
    known = set(sensor_ids)
    default_sensor = sensor_ids[0]
    lines = _numbered_lines(path, notice)
    guarded = False
    header: list[str] | None = None
    header_line = 0
    for number, text in lines:
        if number == 1 and text.startswith(MAGIC):
            guarded = True
        if text.startswith("#") or not text.strip():
            continue
        header = [name.strip() for name in _cells(text)]
        header_line = number
        break
    if header is None:
        raise RecordingError(path, max(header_line, 1), "no header row (t_s,pressure_pa,...)")
    column = _columns(path, header_line, header)
    width = len(header)
    t_at, p_at = column["t_s"], column["pressure_pa"]
    temperature_at = column.get("temperature_c")
    sensor_at = column.get("sensor")
    wall_at = column.get("wall_time")
    flags_at = column.get("flags")
    previous_t_s = -math.inf
    for number, text in lines:
        if text.startswith("#") or not text.strip():
            continue
        cells = _cells(text)
        if len(cells) != width:
            raise RecordingError(path, number, f"expected {width} cells, found {len(cells)}")
        t_s = _number(path, number, "t_s", cells[t_at])
        if t_s < previous_t_s:
            raise RecordingError(
                path, number, f"time goes backwards: t_s {t_s:g} after {previous_t_s:g}"
            )
        previous_t_s = t_s
        pressure_pa = _number(path, number, "pressure_pa", cells[p_at])
        temperature_c = None
        if temperature_at is not None and cells[temperature_at].strip():
            temperature_c = _number(path, number, "temperature_c", cells[temperature_at])
        sensor_id = default_sensor
        if sensor_at is not None and cells[sensor_at].strip():
            sensor_id = cells[sensor_at].strip()
            if sensor_id not in known:
                raise RecordingError(
                    path,
                    number,
                    f"unknown sensor {sensor_id!r}: the configuration has {', '.join(sensor_ids)}",
                )
        wall_time_s = None
        if wall_at is not None and cells[wall_at].strip():
            wall_time_s = _wall_time(path, number, cells[wall_at].strip())
        reset = flags_at is not None and FLAG_RESET in cells[flags_at].split(";")
        yield InputSample(t_s, sensor_id, pressure_pa, temperature_c, wall_time_s, guarded, reset)


def _columns(path: Path, line: int, header: list[str]) -> Mapping[str, int]:
    column: dict[str, int] = {}
    for index, name in enumerate(header):
        if name in column:
            raise RecordingError(path, line, f"column {name!r} appears twice")
        column[name] = index
    for name in REQUIRED:
        if name not in column:
            raise RecordingError(
                path, line, f"missing column {name!r} (the header has: {','.join(header)})"
            )
    return column


def _cells(text: str) -> list[str]:
    text = text.rstrip("\r\n")
    if '"' not in text:
        return text.split(",")  # the common case, without the csv module's cost
    return next(csv.reader([text]))


def _number(path: Path, line: int, name: str, cell: str) -> float:
    try:
        value = float(cell)
    except ValueError:
        raise RecordingError(path, line, f"{name}: not a number: {cell.strip()!r}") from None
    if not math.isfinite(value):
        raise RecordingError(path, line, f"{name}: not a finite number: {cell.strip()!r}")
    return value


def _wall_time(path: Path, line: int, cell: str) -> float:
    try:
        moment = datetime.fromisoformat(cell)
    except ValueError:
        raise RecordingError(path, line, f"wall_time: not an ISO 8601 time: {cell!r}") from None
    if moment.tzinfo is None:
        raise RecordingError(path, line, f"wall_time: no time zone (write Z for UTC): {cell!r}")
    return moment.timestamp()


def _numbered_lines(path: Path, notice: Notice) -> Iterator[tuple[int, str]]:
    """(line number, text) of a plain or gzip'd file; a gzip stream that ends early
    ends the file, with a notice, and an incomplete last line is dropped."""
    try:
        with path.open("rb") as probe:
            compressed = probe.read(2) == _GZIP_MAGIC
        stream: IO[str] = (
            gzip.open(path, "rt", encoding="utf-8", newline="")  # noqa: SIM115 closed below
            if compressed
            else path.open(encoding="utf-8", newline="")
        )
    except OSError as exc:
        raise RecordingError(path, 0, f"cannot read: {exc.strerror or exc}") from exc
    number = 0
    with stream:
        held: str | None = None
        try:
            for text in _lines(stream):
                if held is not None:
                    number += 1
                    yield number, held
                held = text
        except EOFError:
            if held is not None and held.endswith("\n"):
                number += 1
                yield number, held
            notice(
                f"{path}: the compressed file ends early after line {number} (a writer "
                "that was killed or lost power): replaying what it holds"
            )
            return
        except UnicodeDecodeError:
            raise RecordingError(path, number + 1, "not UTF-8 text") from None
        except (OSError, gzip.BadGzipFile) as exc:
            raise RecordingError(path, number + 1, f"cannot read: {exc}") from exc
        if held is not None:
            number += 1
            yield number, held


def _lines(stream: Iterable[str]) -> Iterator[str]:
    yield from stream
