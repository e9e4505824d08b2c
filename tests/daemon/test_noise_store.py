"""The learned-noise file (daemon/service/noise_store.py): its shape, a bad file ignored with one
log line, and the atomic write (a real kill -9 of a writer)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from hullwatch.daemon.detection.detector import ZoneDetector
from hullwatch.daemon.detection.levels import LevelPolicy
from hullwatch.daemon.detection.zone_parameters import ZoneParameters
from hullwatch.daemon.service.noise_store import (
    NoiseFileError,
    NoiseStore,
    learned_octaves,
    noise_text,
    parse_noise,
    write_atomically,
)


def _detector() -> ZoneDetector:
    return ZoneDetector(
        ZoneParameters(
            zone_id="hull",
            volume_m3=0.05,
            floor_pa=80_000.0,
            window_s=16.0,
            min_window_fill=0.5,
            discharge_coefficient=0.62,
            ambient_pressure_pa=0.0,
            reference_temperature_k=293.15,
            policy=LevelPolicy(
                warning_pa_per_s=0.5,
                critical_pa_per_s=20.0,
                significance_sigma=5.0,
                release_fraction=0.5,
            ),
        )
    )


def _learned_states() -> dict[str, dict[str, dict[str, Any]]]:
    """What a detector fed a minute of samples gives (`ZoneDetector.noise_states`)."""
    detector = _detector()
    for i in range(3000):
        detector.add_sample("a", i / 50, 100_000.0 + (i * 7919 % 13) * 0.01, 21.0)
    return {"hull": detector.noise_states()}


def test_a_detectors_states_round_trip_through_the_file(tmp_path: Path) -> None:
    states = _learned_states()
    store = NoiseStore(tmp_path / "noise.json")
    store.save(noise_text(states))
    loaded = store.load()
    assert loaded == json.loads(json.dumps(states))
    assert learned_octaves(loaded["hull"]["a"]) >= 5
    # What the detector gave, a fresh one takes back.
    fresh = _detector()
    fresh.restore_noise("a", loaded["hull"]["a"])
    assert fresh.noise_states() == loaded["hull"]


def test_no_file_yet_is_silent(tmp_path: Path) -> None:
    with capture_logs() as logs:
        assert NoiseStore(tmp_path / "noise.json").load() == {}
    assert logs == []


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{truncated", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"version": 2, "zones": {}}', "version 2, expected 1"),
        ('{"version": 1}', '"zones" is not an object'),
        ('{"version": 1, "zones": {"hull": []}}', "zone 'hull': not an object"),
        ('{"version": 1, "zones": {"hull": {"a": 3}}}', "zone 'hull', sensor 'a': not an object"),
    ],
)
def test_a_malformed_file_is_logged_once_with_path_and_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    path = tmp_path / "noise.json"
    path.write_text(text)
    with pytest.raises(NoiseFileError, match=reason):
        parse_noise(text)
    with capture_logs() as logs:
        assert NoiseStore(path).load() == {}
    (line,) = logs
    assert line["path"] == str(path)
    assert reason in line["reason"]
    assert line["log_level"] == "warning"


def test_an_unreadable_file_is_logged_and_ignored(tmp_path: Path) -> None:
    path = tmp_path / "noise.json"
    path.mkdir()  # reading a directory fails as an unreadable file does
    with capture_logs() as logs:
        assert NoiseStore(path).load() == {}
    (line,) = logs
    assert line["path"] == str(path)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "noise.json"
    write_atomically(path, "old")
    with pytest.raises(UnicodeEncodeError):
        write_atomically(path, "new \ud800")  # fails half-way through the write
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["noise.json"]


def test_a_failing_save_is_logged_not_raised(tmp_path: Path) -> None:
    store = NoiseStore(tmp_path / "missing-directory" / "noise.json")
    with capture_logs() as logs:
        store.save("{}")
    (line,) = logs
    assert line["event"] == "cannot save the learned noise"


@pytest.mark.integration  # starts a process
def test_kill_9_during_saves_leaves_one_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "noise.json"
    texts = ("x" * 2_000_000, "y" * 2_000_000)
    child = textwrap.dedent(
        f"""
        import sys
        from pathlib import Path
        from hullwatch.daemon.service.noise_store import write_atomically
        path = Path({str(path)!r})
        texts = ["x" * 2_000_000, "y" * 2_000_000]
        write_atomically(path, texts[0])
        print("first written", flush=True)
        i = 1
        while True:
            write_atomically(path, texts[i % 2])
            i += 1
        """
    )
    with subprocess.Popen(
        [sys.executable, "-c", child], stdout=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        assert process.stdout.readline() == "first written\n"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=30) == -signal.SIGKILL
    assert path.read_text() in texts
    leftovers = [p.name for p in tmp_path.iterdir() if p.name != "noise.json"]
    print(f"[atomic] temporaries left by kill -9: {leftovers}")
    NoiseStore(path).load()  # at the next start
    assert [p.name for p in tmp_path.iterdir()] == ["noise.json"]
