"""Recordings: the format read back exactly, rotation, the size bound, the writer thread."""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pytest

from hullwatch.daemon.replay_input import InputSample, read_samples
from hullwatch.daemon.service.recording import (
    FLAG_AFTER_SPIKE,
    FLAG_RESET,
    MAGIC,
    RecordedSample,
    Recorder,
    RecordingWriter,
    recording_files,
)
from hullwatch.daemon.settings.config import ConfigError, load_config

CONFIG = """
station = "rec"
state_dir = "state"
{recording}
[[zones]]
id = "hull"
volume_m3 = 1.0
floor_pa = 80000
warning_pa_per_s = 0.1
critical_pa_per_s = 1.0
[[sensors]]
id = "a"
zone = "hull"
driver = "bmp390"
bus = "/dev/i2c-1"
address = 0x77
rate_hz = 25
"""


def _samples(count: int, *, seed: int = 1, start_s: float = 1000.0) -> list[RecordedSample]:
    rng = random.Random(seed)
    return [
        RecordedSample(
            t_s=start_s + i * 0.04 + rng.uniform(0, 1e-4),
            wall_time_s=1.7e9 + i * 0.04,
            sensor_id="a",
            zone_id="hull",
            pressure_pa=101325.0 + rng.gauss(0, 1.6),
            temperature_c=21.0 + rng.gauss(0, 0.01),
            flags=FLAG_RESET if i == 5 else "",
        )
        for i in range(count)
    ]


def _writer(directory: Path, *, file_max_bytes: int = 10**6, total: int = 10**7) -> RecordingWriter:
    return RecordingWriter(
        directory,
        station="rec",
        sensor_zones={"a": "hull"},
        file_max_bytes=file_max_bytes,
        total_max_bytes=total,
    )


def _read(path: Path, notices: list[str] | None = None) -> list[InputSample]:
    sink = notices if notices is not None else []
    return list(read_samples(path, sensor_ids=["a"], notice=sink.append))


def test_round_trip_gives_back_the_same_floats(tmp_path: Path) -> None:
    written = _samples(500)
    writer = _writer(tmp_path)
    writer.write(written[:200])
    writer.write(written[200:])
    writer.close()
    (path,) = recording_files(tmp_path)
    with gzip.open(path, "rt") as file:
        first = file.readline()
    assert first.startswith(MAGIC)
    meta = json.loads(first.removeprefix(MAGIC))
    assert meta == {"format": 1, "station": "rec", "sensors": {"a": "hull"}}
    read = _read(path)
    assert [s.t_s for s in read] == [s.t_s for s in written]
    assert [s.pressure_pa for s in read] == [s.pressure_pa for s in written]
    assert [s.temperature_c for s in read] == [s.temperature_c for s in written]
    assert all(s.guarded for s in read)
    assert [i for i, s in enumerate(read) if s.reset] == [5]
    # Wall time to the millisecond, as in the MQTT documents.
    assert [s.wall_time_s for s in read] == pytest.approx(
        [s.wall_time_s for s in written], abs=6e-4
    )


def test_files_rotate_and_the_oldest_go_beyond_the_total(tmp_path: Path) -> None:
    file_max, total_max = 10_000, 50_000
    writer = _writer(tmp_path, file_max_bytes=file_max, total=total_max)
    samples = _samples(20_000)
    for start in range(0, len(samples), 100):
        writer.write(samples[start : start + 100])
        sizes = [p.stat().st_size for p in recording_files(tmp_path)]
        # One batch of 100 rows compresses to well under 5 kB.
        assert sum(sizes) <= total_max + 5_000
    writer.close()
    files = recording_files(tmp_path)
    assert len(writer.files_written) > len(files) >= 2  # rotated, and some deleted
    for path in files:
        assert path.stat().st_size < file_max + 5_000
    kept = [s.t_s for path in files for s in _read(path)]
    # The newest survive, in order, without gaps; the oldest were deleted.
    assert kept == [s.t_s for s in samples[-len(kept) :]]
    assert kept[0] > samples[0].t_s


def test_recorder_thread_writes_everything_with_flags(tmp_path: Path) -> None:
    recorder = Recorder(_writer(tmp_path), flush_interval_s=0.1)
    recorder.start()
    for i in range(300):
        if i == 100:
            recorder.note_reset("a")
        spikes = 0 if i < 200 else 1
        recorder.add("a", "hull", float(i), 1.7e9 + i, 100_000.0 + i, 20.0, spikes_rejected=spikes)
    recorder.close()
    (path,) = recording_files(tmp_path)
    with gzip.open(path, "rt") as file:
        lines = file.read().splitlines()
    rows = [line.split(",") for line in lines[2:]]
    assert len(rows) == 300
    flags = {int(float(row[0])): row[6] for row in rows if row[6]}
    assert flags == {100: FLAG_RESET, 200: FLAG_AFTER_SPIKE}


def test_a_killed_writer_leaves_a_readable_prefix(tmp_path: Path) -> None:
    writer = _writer(tmp_path)
    samples = _samples(1000)
    writer.write(samples[:600])  # flushed: on disk
    writer.write(samples[600:])
    (path,) = recording_files(tmp_path)
    data = path.read_bytes()
    writer.close()
    cut = tmp_path / "cut.csv.gz"
    cut.write_bytes(data[: len(data) - 50])  # the end of the last batch never made it
    notices: list[str] = []
    read = _read(cut, notices)
    assert 600 <= len(read) < 1000
    assert [s.t_s for s in read] == [s.t_s for s in samples[: len(read)]]
    assert len(notices) == 1
    assert "ends early" in notices[0]


def _config(tmp_path: Path, recording: str, environ: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    path = tmp_path / "hullwatch.toml"
    path.write_text(CONFIG.format(recording=recording))
    return load_config(path, environ or {})


def test_recording_is_off_by_default_and_lives_under_state_dir(tmp_path: Path) -> None:
    config = _config(tmp_path, "")
    assert config.recording.enabled is False
    assert config.recording_dir == tmp_path / "state" / "recordings"
    on = _config(tmp_path, "", {"HULLWATCH_RECORDING__ENABLED": "true"})
    assert on.recording.enabled is True
    elsewhere = _config(tmp_path, '[recording]\ndirectory = "/data/rec"')
    assert elsewhere.recording_dir == Path("/data/rec")


@pytest.mark.parametrize(
    ("table", "key_path", "words"),
    [
        ("[recording]\nenable = true", "recording.enable", "did you mean 'enabled'"),
        (
            "[recording]\nfile_max_bytes = 100000\ntotal_max_bytes = 150000",
            "recording.total_max_bytes",
            "twice file_max_bytes",
        ),
        ("[recording]\nflush_interval_s = 0", "recording.flush_interval_s", "greater than"),
        ('[recording]\ndirectory = "."', "recording.directory", "directory of its own"),
    ],
)
def test_bad_recording_settings_name_the_key(
    tmp_path: Path, table: str, key_path: str, words: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        _config(tmp_path, table)
    (problem,) = raised.value.problems
    assert problem.key_path == key_path
    assert words in problem.message
