"""The sensors' learned noise on disk, so that a restart does not forget it.

Learning the long time scales of a sensor's noise takes hours (`noise_estimate`).
`Daemon` saves what every zone's detector has learned (`ZoneDetector.noise_states`)
to `<state_dir>/noise.json` every NOISE_SAVE_INTERVAL_S, at a clean stop and at a
reload, and gives it back at start before the first sample. The file:

    {"version": 1, "zones": {"<zone>": {"<sensor>": <the detector's state>}}}

It is written atomically (a temporary file in the same directory, fsynced, then
renamed over the old one, then the directory fsynced), so a crash or a power cut
leaves the previous file or the new one, never a torn one. A file that cannot be
read or does not parse is logged once, with its path and the reason, and ignored:
the detectors learn afresh from their priors; the daemon never stops for it.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any, Final

import structlog

log = structlog.get_logger("hullwatch.daemon")

NOISE_FILE: Final = "noise.json"
# Often enough that a kill -9 or a power cut loses minutes of learning, not
# hours; rarely enough to spare the SD card (a few kB each time).
NOISE_SAVE_INTERVAL_S: Final = 300.0
FORMAT_VERSION: Final = 1

# zone id -> sensor id -> what `ZoneDetector.noise_states` gave for it
NoiseStates = dict[str, dict[str, dict[str, Any]]]


class NoiseFileError(ValueError):
    """The noise file does not have the documented shape."""


def parse_noise(text: str) -> NoiseStates:
    """The states in a noise file's text; raises NoiseFileError naming what is wrong.

    Only the shape is checked here; each sensor's state is checked by the detector
    that takes it (`ZoneDetector.restore_noise`).
    """
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise NoiseFileError(f"not JSON: {exc}") from exc
    if not isinstance(document, dict):
        raise NoiseFileError("not a JSON object")
    if document.get("version") != FORMAT_VERSION:
        raise NoiseFileError(f"version {document.get('version')!r}, expected {FORMAT_VERSION}")
    zones = document.get("zones")
    if not isinstance(zones, dict):
        raise NoiseFileError('"zones" is not an object')
    for zone_id, sensors in zones.items():
        if not isinstance(sensors, dict):
            raise NoiseFileError(f"zone {zone_id!r}: not an object")
        for sensor_id, state in sensors.items():
            if not isinstance(state, dict):
                raise NoiseFileError(f"zone {zone_id!r}, sensor {sensor_id!r}: not an object")
    return zones


def learned_octaves(state: dict[str, Any]) -> int:
    """How many time scales (octaves) of a sensor's state hold anything learned."""
    rows = state.get("octaves")
    if not isinstance(rows, list):
        return 0
    return sum(1 for row in rows if isinstance(row, list) and len(row) == 2 and row[1] > 0)


def noise_text(states: NoiseStates) -> str:
    return json.dumps({"version": FORMAT_VERSION, "zones": states}, separators=(",", ":"))


class NoiseStore:
    """One noise file: `load` at start, `save` (from a worker thread) while running."""

    def __init__(self, path: Path) -> None:
        self.path = path
        # A periodic save still in its thread and the final one must not interleave.
        self._writing = threading.Lock()

    def load(self) -> NoiseStates:
        """The saved states; {} when there is no file yet, or (logged) when it is
        unreadable or malformed. Temporaries a killed writer left are removed."""
        with self._writing:
            for leftover in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    leftover.unlink()
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError) as exc:
            self._ignored(str(exc))
            return {}
        try:
            return parse_noise(text)
        except NoiseFileError as exc:
            self._ignored(str(exc))
            return {}

    def save(self, text: str) -> None:
        """Replace the file by `text` atomically; a failure is logged, never raised
        (the detectors work on; only the protection against a restart is lost)."""
        with self._writing:
            try:
                write_atomically(self.path, text)
            except OSError as exc:
                log.error("cannot save the learned noise", path=str(self.path), error=str(exc))

    def _ignored(self, reason: str) -> None:
        log.warning(
            "noise file ignored: the detectors learn each sensor's noise afresh",
            path=str(self.path),
            reason=reason,
        )


def write_atomically(path: Path, text: str) -> None:
    """`path` holds `text` or what it held before, whatever happens meanwhile."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    # The rename itself reaches the disk with the directory's entry.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
