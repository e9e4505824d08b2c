"""Verdicts on recorded alerts: `clear`, and an `alert` that must be held."""

from __future__ import annotations

from hullwatch.hil.expectations import Expectation, Observed, Truth, judge


def _alerts(*levels: tuple[float, str]) -> list[Observed]:
    return [Observed(t_s, {"zone": "node", "level": level}) for t_s, level in levels]


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
