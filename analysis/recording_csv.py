"""Read a plain CSV recording: `t_s,pressure_pa[,temperature_c][,sensor]`.

One header row names the columns (in any order; unknown columns are an
error, so a misspelt `temperature_c` is not silently ignored). An empty
`temperature_c` cell means "no temperature": a column empty in every row of a
sensor gives that sensor no temperature at all, and one empty in some rows
only is an error (the compensated quantity would have holes). Rows without a
`sensor` cell belong to the default sensor.

Every problem is reported as `file:line: reason` and nothing is returned
when any row is bad.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

REQUIRED_COLUMNS = ("t_s", "pressure_pa")
OPTIONAL_COLUMNS = ("temperature_c", "sensor")


class RecordingError(Exception):
    """A recording that cannot be read; `str()` is `file:line: reason`."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        self.path = path
        self.line = line
        self.reason = reason
        super().__init__(f"{path}:{line}: {reason}")


@dataclass(frozen=True)
class SensorSeries:
    """One sensor's samples from one file, in time order."""

    source: Path
    sensor_id: str
    times_s: FloatArray
    pressure_pa: FloatArray
    temperature_c: FloatArray | None
    lines: npt.NDArray[np.int64]  # each sample's line in the file, for messages

    @property
    def label(self) -> str:
        return f"{self.source.name}:{self.sensor_id}"


@dataclass
class _Rows:
    times_s: list[float]
    pressure_pa: list[float]
    temperature_c: list[float | None]
    lines: list[int]


def read_recording(path: Path, default_sensor_id: str) -> list[SensorSeries]:
    """Every sensor's series in `path`, in order of first appearance."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            return _parse(path, handle, default_sensor_id)
    except OSError as error:
        raise RecordingError(path, 0, f"cannot read: {error.strerror or error}") from error
    except UnicodeDecodeError as error:
        raise RecordingError(path, 0, "not UTF-8 text") from error
    except csv.Error as error:
        raise RecordingError(path, 0, f"not CSV: {error}") from error


def _parse(path: Path, handle: TextIO, default_sensor_id: str) -> list[SensorSeries]:
    reader = csv.reader(handle)
    header = next(reader, None)
    if header is None:
        raise RecordingError(path, 1, "empty file: expected a header row t_s,pressure_pa,...")
    columns = [name.strip() for name in header]
    unknown = [name for name in columns if name not in REQUIRED_COLUMNS + OPTIONAL_COLUMNS]
    if unknown:
        raise RecordingError(
            path,
            1,
            f"unknown column {unknown[0]!r}: the columns are t_s, pressure_pa, "
            "temperature_c (optional), sensor (optional)",
        )
    missing = [name for name in REQUIRED_COLUMNS if name not in columns]
    if missing:
        raise RecordingError(path, 1, f"missing column {missing[0]!r}")
    duplicated = {name for name in columns if columns.count(name) > 1}
    if duplicated:
        raise RecordingError(path, 1, f"column {sorted(duplicated)[0]!r} appears twice")
    index = {name: position for position, name in enumerate(columns)}

    by_sensor: dict[str, _Rows] = {}
    for row in reader:
        line = reader.line_num
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            raise RecordingError(
                path, line, f"{len(row)} cells where the header has {len(columns)}"
            )
        time_s = _number(path, line, "t_s", row[index["t_s"]])
        pressure_pa = _number(path, line, "pressure_pa", row[index["pressure_pa"]])
        temperature_c: float | None = None
        if "temperature_c" in index and row[index["temperature_c"]].strip():
            temperature_c = _number(path, line, "temperature_c", row[index["temperature_c"]])
        sensor_id = row[index["sensor"]].strip() if "sensor" in index else ""
        rows = by_sensor.setdefault(sensor_id or default_sensor_id, _Rows([], [], [], []))
        if rows.times_s and time_s <= rows.times_s[-1]:
            raise RecordingError(
                path,
                line,
                f"time goes backwards or repeats: t_s {time_s:g} after {rows.times_s[-1]:g}",
            )
        rows.times_s.append(time_s)
        rows.pressure_pa.append(pressure_pa)
        rows.temperature_c.append(temperature_c)
        rows.lines.append(line)
    if not by_sensor:
        raise RecordingError(path, reader.line_num, "no samples after the header")
    return [_series(path, sensor_id, rows) for sensor_id, rows in by_sensor.items()]


def _number(path: Path, line: int, column: str, cell: str) -> float:
    text = cell.strip()
    if not text:
        raise RecordingError(path, line, f"{column} is empty")
    try:
        value = float(text)
    except ValueError:
        raise RecordingError(path, line, f"{column} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise RecordingError(path, line, f"{column} is {text!r}: not a finite number")
    return value


def _series(path: Path, sensor_id: str, rows: _Rows) -> SensorSeries:
    present = [value is not None for value in rows.temperature_c]
    temperature_c: FloatArray | None = None
    if all(present):
        temperature_c = np.array(rows.temperature_c, dtype=np.float64)
    elif any(present):
        gap_line = rows.lines[present.index(False)]
        raise RecordingError(
            path,
            gap_line,
            f"sensor {sensor_id!r}: temperature_c is empty here but not in other rows",
        )
    return SensorSeries(
        source=path,
        sensor_id=sensor_id,
        times_s=np.array(rows.times_s, dtype=np.float64),
        pressure_pa=np.array(rows.pressure_pa, dtype=np.float64),
        temperature_c=temperature_c,
        lines=np.array(rows.lines, dtype=np.int64),
    )
