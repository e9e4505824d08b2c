"""Recordings: every sample the guard accepted, in rotating gzip'd CSV files (docs/recording.md).

The event loop only appends a tuple to a deque (`Recorder.add`); a writer thread
formats, compresses and writes the queue every `flush_interval_s`. A write to
an SD card can stall for tens of milliseconds (erase blocks, a busy card);
done per sample on the event loop it would delay the pollers' reads and the
watchdog. A thread rather than the loop's executor: one long-lived writer owns
the file, so batches stay in order and nothing else waits behind it.

After each batch the gzip stream is sync-flushed: what has been written is a
readable gzip prefix, so a kill -9 or a crash loses only the samples still
queued (at most `flush_interval_s`, plus the page cache on a power cut: there
is no fsync, to spare the card). Bounds: a file is closed once it holds
`file_max_bytes` compressed, and the oldest files in the directory are deleted
so that all of them, the one being written included, hold at most
`total_max_bytes` (plus at most one batch).
"""

from __future__ import annotations

import collections
import gzip
import io
import json
import re
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import structlog

from ..settings.config import Config

log = structlog.get_logger("hullwatch.recording")

FORMAT_VERSION: Final = 1
MAGIC: Final = "# hullwatch-recording"
COLUMNS: Final = ("t_s", "wall_time", "sensor", "zone", "pressure_pa", "temperature_c", "flags")
# Flags of an accepted sample (`flags` column, joined by ';').
FLAG_RESET: Final = "reset"  # the detector forgot this sensor's series before it (a fault)
FLAG_AFTER_SPIKE: Final = "after_spike"  # the guard rejected a spike since the previous one
FILE_PATTERN: Final = re.compile(r"recording-\d{8}T\d{6}\.\d{6}Z\.csv\.gz")
# Samples queued while the writer is stuck (a hung card): beyond this, new ones are dropped.
MAX_QUEUED_SAMPLES: Final = 200_000
GZIP_LEVEL: Final = 6


@dataclass(frozen=True, slots=True)
class RecordedSample:
    t_s: float  # monotonic (the daemon's clock)
    wall_time_s: float  # Unix time, for people and for the replay's document times
    sensor_id: str
    zone_id: str
    pressure_pa: float
    temperature_c: float
    flags: str  # "" or FLAG_* joined by ';'


def header_text(station: str, sensor_zones: Mapping[str, str]) -> str:
    """The comment line that opens every file, and the column row."""
    meta = {"format": FORMAT_VERSION, "station": station, "sensors": dict(sensor_zones)}
    return f"{MAGIC} {json.dumps(meta, separators=(',', ':'))}\n{','.join(COLUMNS)}\n"


def wall_time_text(wall_time_s: float) -> str:
    """ISO 8601 UTC with milliseconds, as in the MQTT documents."""
    moment = datetime.fromtimestamp(wall_time_s, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def row_text(sample: RecordedSample) -> str:
    # repr: the shortest text that reads back as the same float, so a replay
    # feeds the detector exactly what the daemon fed it.
    s = sample
    return (
        f"{s.t_s!r},{wall_time_text(s.wall_time_s)},{s.sensor_id},{s.zone_id},"
        f"{s.pressure_pa!r},{s.temperature_c!r},{s.flags}\n"
    )


def recording_files(directory: Path) -> list[Path]:
    """The recordings in `directory`, oldest first (their names hold their start time)."""
    try:
        names = sorted(p.name for p in directory.iterdir() if FILE_PATTERN.fullmatch(p.name))
    except FileNotFoundError:
        return []
    return [directory / name for name in names]


class RecordingWriter:
    """Synchronous: files, rotation and retention. Used by one thread at a time."""

    def __init__(
        self,
        directory: Path,
        *,
        station: str,
        sensor_zones: Mapping[str, str],
        file_max_bytes: int,
        total_max_bytes: int,
    ) -> None:
        self.directory = directory
        self._header = header_text(station, sensor_zones)
        self._file_max_bytes = file_max_bytes
        self._total_max_bytes = total_max_bytes
        self._raw: io.BufferedWriter | None = None
        self._gzip: gzip.GzipFile | None = None
        self.path: Path | None = None
        self.files_written: list[Path] = []
        self.samples_written = 0
        self._failing = False

    def write(self, samples: Sequence[RecordedSample]) -> None:
        """Append `samples` (flushed to the file), rotate and prune; an I/O error is
        logged and the batch dropped, so the daemon goes on detecting."""
        if not samples:
            return
        try:
            stream, raw = self._current()
            stream.write("".join(map(row_text, samples)).encode("utf-8"))
            stream.flush()  # Z_SYNC_FLUSH: a readable prefix on disk if we die
            self.samples_written += len(samples)
            if raw.tell() >= self._file_max_bytes:
                self._close_file()
                self._prune()
        except OSError as exc:
            if not self._failing:
                log.error(
                    "recording: cannot write, samples are dropped until it works again",
                    directory=str(self.directory),
                    error=str(exc),
                )
            self._failing = True
            self._abandon_file()
            return
        if self._failing:
            log.info("recording: writing again", path=str(self.path))
            self._failing = False

    def close(self) -> None:
        try:
            self._close_file()
        except OSError as exc:
            log.error("recording: cannot close the file", path=str(self.path), error=str(exc))
            self._abandon_file()

    def _current(self) -> tuple[gzip.GzipFile, io.BufferedWriter]:
        if self._gzip is None or self._raw is None:
            self._open()
        assert self._gzip is not None
        assert self._raw is not None
        return self._gzip, self._raw

    def _open(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        path = self.directory / f"recording-{stamp}.csv.gz"
        while path.exists():  # two files in one microsecond: a clock stepped back
            time.sleep(1e-6)
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
            path = self.directory / f"recording-{stamp}.csv.gz"
        self._raw = path.open("xb")
        self._gzip = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=GZIP_LEVEL)
        self.path = path
        self.files_written.append(path)
        self._gzip.write(self._header.encode("utf-8"))
        self._prune()

    def _close_file(self) -> None:
        if self._gzip is not None:
            self._gzip.close()
            self._gzip = None
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def _abandon_file(self) -> None:
        """After an error: let go of the file without writing more; the next batch
        starts a new one."""
        for closable in (self._gzip, self._raw):
            try:
                if closable is not None:
                    closable.close()
            except OSError:
                pass
        self._gzip = self._raw = None

    def _prune(self) -> None:
        """Delete the oldest finished recordings until they hold at most
        `total_max_bytes - file_max_bytes`: room for the file being written to grow
        to its bound, so that all of them stay within `total_max_bytes` (give or
        take one batch)."""
        writing = self.path if self._gzip is not None else None
        files = [path for path in recording_files(self.directory) if path != writing]
        sizes = {path: path.stat().st_size for path in files}
        total = sum(sizes.values())
        budget = self._total_max_bytes - self._file_max_bytes
        for path in files:
            if total <= budget:
                break
            path.unlink(missing_ok=True)
            total -= sizes[path]
            log.info("recording: deleted the oldest file", path=str(path), bytes=sizes[path])


class Recorder:
    """The event loop's side: `add` queues a sample; a thread writes the queue."""

    def __init__(self, writer: RecordingWriter, *, flush_interval_s: float) -> None:
        self.writer = writer
        self._flush_interval_s = flush_interval_s
        self._queue: collections.deque[RecordedSample] = collections.deque()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hullwatch-recorder", daemon=True)
        self._reset: set[str] = set()
        self._spikes: dict[str, int] = {}
        self.dropped = 0

    @classmethod
    def for_config(cls, config: Config, directory: Path | None = None) -> Recorder:
        settings = config.recording
        writer = RecordingWriter(
            directory if directory is not None else config.recording_dir,
            station=config.station,
            sensor_zones={sensor.id: sensor.zone for sensor in config.sensors},
            file_max_bytes=settings.file_max_bytes,
            total_max_bytes=settings.total_max_bytes,
        )
        return cls(writer, flush_interval_s=settings.flush_interval_s)

    def start(self) -> None:
        self._thread.start()

    def note_reset(self, sensor_id: str) -> None:
        """The detector forgot this sensor's series: its next sample carries `reset`."""
        self._reset.add(sensor_id)

    def add(
        self,
        sensor_id: str,
        zone_id: str,
        t_s: float,
        wall_time_s: float,
        pressure_pa: float,
        temperature_c: float,
        *,
        spikes_rejected: int = 0,
    ) -> None:
        """Queue one accepted sample (cheap: no I/O, no formatting)."""
        flags = []
        if sensor_id in self._reset:
            self._reset.discard(sensor_id)
            flags.append(FLAG_RESET)
        if spikes_rejected != self._spikes.get(sensor_id, spikes_rejected):
            flags.append(FLAG_AFTER_SPIKE)
        self._spikes[sensor_id] = spikes_rejected
        if len(self._queue) >= MAX_QUEUED_SAMPLES:
            if self.dropped == 0:
                log.error("recording: the writer is stuck, samples are dropped")
            self.dropped += 1
            return
        self._queue.append(
            RecordedSample(
                t_s, wall_time_s, sensor_id, zone_id, pressure_pa, temperature_c, ";".join(flags)
            )
        )

    def close(self) -> None:
        """Write what is queued, close the file, stop the thread (blocking: call it
        from a thread, `asyncio.to_thread(recorder.close)`, on the event loop)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        else:
            self._flush()
            self.writer.close()

    def _run(self) -> None:
        while not self._stop.wait(self._flush_interval_s):
            self._flush()
        self._flush()
        self.writer.close()

    def _flush(self) -> None:
        queue = self._queue
        # deque.popleft is atomic: the event loop may append while we drain.
        batch = [queue.popleft() for _ in range(len(queue))]
        self.writer.write(batch)
