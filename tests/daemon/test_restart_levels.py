"""A zone's level across a restart: what the outbox keeps, and how the first alert after
the restart chains from it (daemon/service/alert_policy.py, daemon/delivery/published_levels.py).

The detector is pure, so a zone is fed synthetic samples on sample time; the
outbox is the real SQLite one under a temporary state_dir, and kill -9 is real.
"""

from __future__ import annotations

import functools
import json
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from hullwatch.daemon.delivery.outbox import Kind, Outbox
from hullwatch.daemon.delivery.published_levels import published_levels
from hullwatch.daemon.delivery.topics import Topics
from hullwatch.daemon.detection.assessment import Assessment
from hullwatch.daemon.detection.levels import Level
from hullwatch.daemon.service.alert_policy import AlertPolicy
from hullwatch.daemon.settings.config import Config, load_config
from hullwatch.hil.fleet_load import station_alert

RATE_HZ = 50.0
WINDOW_S = 16.0  # the longest window of the bank: a release waits for half of it
CONFIG = f"""
station = "bench"
[mqtt]
topic_prefix = "hwtest"
alert_update_interval_s = 5.0
[[zones]]
id = "hull"
volume_m3 = 0.05
floor_pa = 80000
window_s = {WINDOW_S}
min_window_s = 1.0
warning_pa_per_s = 0.5
critical_pa_per_s = 20.0
[[sensors]]
id = "a"
zone = "hull"
driver = "ms5611"
bus = "/dev/i2c-1"
address = 0x77
rate_hz = {RATE_HZ}
"""
TOPICS = Topics("hwtest", "bench")
ALERT_TOPIC = TOPICS.alert("hull")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    path = tmp_path / "bench.toml"
    path.write_text(CONFIG)
    return load_config(path, {})


Alert = tuple[Assessment, str, float]


def _run(
    router: AlertPolicy, fall_pa_per_s: float, seconds: float, *, start_s: float = 0.0
) -> list[Assessment]:
    """Feed sensor `a` a zone falling at `fall_pa_per_s` (0.05 Pa of noise); every
    assessment, in order."""
    rng = random.Random(11)
    seen = []
    for i in range(int(seconds * RATE_HZ)):
        t_s = start_s + i / RATE_HZ
        pressure_pa = 100_000.0 - fall_pa_per_s * t_s + rng.gauss(0.0, 0.05)
        assessment = router.add_sample("a", t_s, pressure_pa, 21.0)
        if assessment is not None:
            seen.append(assessment)
    return seen


def _router(config: Config, stored: Level | None) -> tuple[AlertPolicy, list[Alert]]:
    alerts: list[Alert] = []
    restarted = {} if stored is None else {"hull": stored}
    router = AlertPolicy(
        config, lambda a, kind, t_s: alerts.append((a, kind, t_s)), restarted_levels=restarted
    )
    return router, alerts


# --- the router after a restart -------------------------------------------------------


def test_a_level_still_standing_is_confirmed_by_an_update_from_it(config: Config) -> None:
    router, alerts = _router(config, Level.WARNING)
    _run(router, 2.0, 10.0)
    first, kind, _ = alerts[0]
    assert (kind, first.previous_level, first.level) == ("update", Level.WARNING, Level.WARNING)
    assert first.reason.startswith("confirmed after a restart: pressure falling")


def test_without_the_stored_level_the_first_alert_claims_a_change_from_ok(config: Config) -> None:
    # What a restart did before the level was stored: the check above fails on it.
    router, alerts = _router(config, None)
    _run(router, 2.0, 10.0)
    first, kind, _ = alerts[0]
    assert (kind, first.previous_level, first.level) == ("level_change", Level.OK, Level.WARNING)


def test_a_higher_level_is_a_change_up_from_the_stored_one(config: Config) -> None:
    router, alerts = _router(config, Level.WARNING)
    _run(router, 60.0, 5.0)
    first, kind, _ = alerts[0]
    assert (kind, first.previous_level, first.level) == (
        "level_change",
        Level.WARNING,
        Level.CRITICAL,
    )
    assert "above the critical threshold" in first.reason


def test_a_release_waits_for_the_longest_window_and_says_why(config: Config) -> None:
    router, alerts = _router(config, Level.CRITICAL)
    seen = _run(router, 0.0, 12.0)
    released = [i for i, a in enumerate(seen) if a.level is Level.OK]
    assert released, "never released"
    # Before, telemetry and status go on showing the level subscribers hold.
    assert all(a.level is Level.CRITICAL for a in seen[: released[0]])
    assert router.published_levels() == {"hull": Level.OK}
    ((alert, kind, t_s),) = alerts
    assert (kind, alert.previous_level, alert.level) == ("level_change", Level.CRITICAL, Level.OK)
    # The 1 s window was judged within a second; the 16 s one only at half of it.
    assert t_s >= 0.5 * WINDOW_S
    assert alert.reason.startswith("released after a restart: pressure")
    assert alert.reason.endswith("below the critical release rate 10 Pa/s")


def test_a_fall_above_the_release_rate_holds_the_stored_level(config: Config) -> None:
    # 15 Pa/s: below the critical threshold (20), so the fresh detector enters only
    # warning, but above critical's release rate (10): no evidence it slowed.
    router, alerts = _router(config, Level.CRITICAL)
    _run(router, 15.0, 12.0)
    (alert, kind, t_s), *later = alerts
    assert (kind, alert.previous_level, alert.level) == ("update", Level.CRITICAL, Level.CRITICAL)
    assert alert.reason.startswith("held after a restart: ")
    assert t_s >= 0.5 * WINDOW_S
    assert router.detectors["hull"].level is Level.CRITICAL  # its hysteresis from now on
    assert all(a.previous_level is Level.CRITICAL for a, _, _ in later)


def test_nothing_is_published_while_the_zone_waits(config: Config) -> None:
    router, alerts = _router(config, Level.CRITICAL)
    # A fall that enters warning within a second: below what was published, not yet
    # judged by the longest window, so not a release either.
    _run(router, 2.0, 0.45 * WINDOW_S)
    assert alerts == []
    assert router.restarted_levels() == {"hull": Level.CRITICAL}
    assert router.levels() == {}  # a reload hands the wait over, not the fresh level


def test_a_reload_while_waiting_keeps_waiting(config: Config) -> None:
    router, _ = _router(config, Level.CRITICAL)
    _run(router, 0.0, 2.0)
    after_reload, alerts = _router(config, router.restarted_levels()["hull"])
    _run(after_reload, 0.0, 12.0, start_s=2.0)
    ((alert, kind, _),) = alerts
    assert (kind, alert.previous_level) == ("level_change", Level.CRITICAL)


def test_a_stored_ok_changes_nothing(config: Config) -> None:
    router, alerts = _router(config, Level.OK)
    _run(router, 2.0, 10.0)
    assert alerts[0][1] == "level_change"
    assert alerts[0][0].previous_level is Level.OK


# --- what the outbox keeps ------------------------------------------------------------


@functools.cache  # one event_id and time per (seq, level): the same text when asked again
def _document(seq: int, level: str) -> str:
    return station_alert("bench", "hull", seq, level=Level(level)).wire_json()


def test_the_last_alert_per_topic_outlives_its_delivery_and_the_process(tmp_path: Path) -> None:
    outbox = Outbox.open(tmp_path, max_messages=100)
    outbox.add(Kind.ALERT, ALERT_TOPIC, _document(1, "warning"), seq=1)
    outbox.add(Kind.ALERT, ALERT_TOPIC, _document(2, "critical"), seq=2)
    outbox.add(Kind.HEALTH, TOPICS.health("a"), json.dumps({"health": "ok"}))
    for entry in outbox.pending():
        outbox.remove(entry.id)  # acknowledged by the broker
    outbox.close()
    reopened = Outbox.open(tmp_path, max_messages=100)
    try:
        assert len(reopened) == 0
        assert reopened.last_alert(ALERT_TOPIC) == _document(2, "critical")
        assert reopened.last_alert(TOPICS.health("a")) is None
        assert published_levels(reopened, TOPICS, ["hull", "gone"]) == {"hull": Level.CRITICAL}
    finally:
        reopened.close()


def test_clearing_a_retained_alert_forgets_its_level(tmp_path: Path) -> None:
    outbox = Outbox.open(tmp_path, max_messages=100)
    outbox.add(Kind.ALERT, ALERT_TOPIC, _document(1, "warning"), seq=1)
    outbox.add(Kind.HEALTH, ALERT_TOPIC, "")  # Publisher.clear_retained
    outbox.close()
    reopened = Outbox.open(tmp_path, max_messages=100)
    try:
        assert reopened.last_alert(ALERT_TOPIC) is None
    finally:
        reopened.close()


@pytest.mark.integration  # starts a process
def test_the_level_queued_right_before_kill_9_is_kept(tmp_path: Path) -> None:
    child = textwrap.dedent(
        f"""
        import os, signal
        from pathlib import Path
        from hullwatch.daemon.delivery.outbox import Kind, Outbox
        from hullwatch.daemon.detection.levels import Level
        from hullwatch.hil.fleet_load import station_alert
        outbox = Outbox.open(Path({str(tmp_path)!r}), max_messages=100)
        for level in (Level.WARNING, Level.CRITICAL):
            seq = outbox.next_seq()
            document = station_alert("bench", "hull", seq, level=level).wire_json()
            outbox.add(Kind.ALERT, {ALERT_TOPIC!r}, document, seq=seq)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    result = subprocess.run([sys.executable, "-c", child], check=False, timeout=30)
    assert result.returncode == -signal.SIGKILL
    outbox = Outbox.open(tmp_path, max_messages=100)
    try:
        assert published_levels(outbox, TOPICS, ["hull"]) == {"hull": Level.CRITICAL}
    finally:
        outbox.close()


@pytest.mark.parametrize("payload", ["{not json", json.dumps({"level": "alarm"}), "[1]"])
def test_an_unreadable_stored_alert_is_logged_and_chains_from_ok(
    tmp_path: Path, payload: str
) -> None:
    outbox = Outbox.open(tmp_path, max_messages=100)
    try:
        outbox.add(Kind.ALERT, ALERT_TOPIC, payload, seq=1)
        with capture_logs() as logs:
            assert published_levels(outbox, TOPICS, ["hull"]) == {}
        (line,) = logs
        assert line["zone"] == "hull"
        assert "unreadable" in str(line["event"])
    finally:
        outbox.close()
