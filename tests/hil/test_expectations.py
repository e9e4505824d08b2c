"""Verdicts on recorded alerts: `clear`, and an `alert` that must be held."""

from __future__ import annotations

from hullwatch.daemon.delivery.wire import Alert
from hullwatch.daemon.detection.levels import Level
from hullwatch.hil.expectations import Expectation, Observed, Truth, judge
from hullwatch.hil.fleet_load import station_alert


def _alert(level: str, **figures: float) -> Alert:
    """An alert of zone `node` at `level`, with `figures` in place of the simulated ones."""
    return station_alert("s", "node", 2, level=Level(level)).model_copy(update=figures)


def _alerts(*levels: tuple[float, str]) -> list[Observed]:
    return [Observed(t_s, _alert(level)) for t_s, level in levels]


def _verdict(expectation: dict[str, object], alerts: list[Observed]) -> tuple[bool, str]:
    (verdict,) = judge(
        [Expectation.model_validate({"zone": "node", **expectation})],
        alerts,
        duration_s=300.0,
        truth_at=lambda zone, t_s: Truth(1.0, 1.0),
    )
    return verdict.met, verdict.detail


CLEAR = {"kind": "clear", "after_s": 120.0, "within_s": 30.0}


def test_clear_is_met_by_an_ok_in_time() -> None:
    met, detail = _verdict(CLEAR, _alerts((62.0, "warning"), (100.0, "warning"), (134.0, "ok")))
    assert met, detail
    assert "14.0 s after" in detail


def test_clear_too_late_or_never_is_missed() -> None:
    assert not _verdict(CLEAR, _alerts((62.0, "warning"), (170.0, "ok")))[0]
    met, detail = _verdict(CLEAR, _alerts((62.0, "warning"), (130.0, "critical")))
    assert not met
    assert "still critical" in detail


def test_clear_needs_something_to_clear() -> None:
    met, detail = _verdict(CLEAR, _alerts((130.0, "ok")))
    assert not met
    assert detail == "no alert to clear"


def test_clear_reports_a_relapse() -> None:
    met, detail = _verdict(CLEAR, _alerts((62.0, "warning"), (130.0, "ok"), (200.0, "warning")))
    assert met
    assert "raised again at 200.0 s" in detail


HELD = {"kind": "alert", "level": "warning", "after_s": 60.0, "within_s": 10.0, "until_s": 240.0}


def test_an_alert_held_to_the_end_is_met() -> None:
    met, detail = _verdict(
        HELD, _alerts((62.0, "warning"), (150.0, "critical"), (200.0, "warning"))
    )
    assert met, detail


def test_an_alert_that_drops_before_until_is_missed() -> None:
    met, detail = _verdict(HELD, _alerts((62.0, "warning"), (150.0, "ok"), (160.0, "warning")))
    assert not met
    assert "dropped to ok at 150.0 s" in detail


WARN = {"kind": "alert", "level": "warning", "after_s": 60.0, "within_s": 10.0}
CRIT = {"kind": "alert", "level": "critical", "after_s": 60.0, "within_s": 10.0}


def test_a_level_entered_after_the_event_is_a_detection() -> None:
    met, detail = _verdict(WARN, _alerts((20.0, "warning"), (30.0, "ok"), (63.5, "warning")))
    assert met, detail
    assert "warning at 63.5 s, 3.5 s after 60 s" in detail


def test_a_level_raised_before_the_event_and_republished_after_it_fails() -> None:
    met, detail = _verdict(
        WARN, _alerts((41.2, "warning"), (50.0, "warning"), (62.0, "warning"), (64.0, "critical"))
    )
    assert not met
    assert "standing since 41.2 s" in detail
    assert "before 60 s" in detail


def test_a_standing_level_fails_even_if_it_clears_and_returns_after_the_event() -> None:
    met, detail = _verdict(WARN, _alerts((41.2, "warning"), (61.0, "ok"), (63.0, "warning")))
    assert not met
    assert "standing since 41.2 s" in detail


def test_critical_reached_after_the_event_from_a_warning_standing_before_it_is_met() -> None:
    met, detail = _verdict(CRIT, _alerts((40.0, "warning"), (64.0, "critical")))
    assert met, detail
    assert "4.0 s after" in detail


def test_critical_standing_before_the_event_fails_with_the_time_it_was_raised() -> None:
    met, detail = _verdict(
        CRIT, _alerts((30.0, "warning"), (45.0, "critical"), (55.0, "warning"), (62.0, "critical"))
    )
    # Back down to warning at 55 s: the change into critical at 62 s is a new entry.
    assert met, detail
    met, detail = _verdict(CRIT, _alerts((30.0, "warning"), (45.0, "critical"), (62.0, "critical")))
    assert not met
    assert "critical standing since 45.0 s" in detail


def test_a_warning_standing_before_the_event_fails_a_warning_expectation_met_by_critical() -> None:
    met, detail = _verdict(WARN, _alerts((50.0, "warning"), (61.0, "critical")))
    assert not met
    assert "standing since 50.0 s" in detail


def test_an_estimate_reports_its_errors_with_their_sign() -> None:
    (verdict,) = judge(
        [Expectation.model_validate({"zone": "node", "kind": "estimate", "after_s": 10.0})],
        [Observed(20.0, _alert("warning", leak_rate_pa_m3_per_s=0.5, hole_diameter_mm=1.1))],
        duration_s=300.0,
        truth_at=lambda zone, t_s: Truth(1.0, 1.0),
    )
    assert not verdict.met
    assert "(-50.0%)" in verdict.detail
    assert "(+10.0%)" in verdict.detail
