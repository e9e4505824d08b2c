"""`hullwatch watch`'s alert line: every figure, with its uncertainty when the alert has one."""

from __future__ import annotations

import io
from typing import Any

import pytest

from hullwatch.daemon.delivery.wire import Alert
from hullwatch.daemon.watch import _print_alert, format_alert

ALERT: dict[str, Any] = {
    "schema": 1,
    "event_id": "3c1f6a52-4b0e-4d5e-9a51-0d2f1c7e9b10",
    "kind": "level_change",
    "temperature_c": 21.5,
    "sensors": ["bmp-a"],
    "time": "2026-11-26T05:00:00.000Z",
    "station": "iss",
    "zone": "module",
    "level": "warning",
    "previous_level": "ok",
    "pressure_pa": 101_300.0,
    "dpdt_pa_per_s": -0.045,
    "dpdt_stderr_pa_per_s": 0.006,
    "leak_rate_pa_m3_per_s": 41.2,
    "leak_rate_sccm": 24_400.0,
    "hole_diameter_mm": 2.01,
    "reserve_time_s": 200_000.0,
    "seq": 3,
    "reason": "pressure falling",
}

UNCERTAINTIES = {
    "leak_rate_stderr_pa_m3_per_s": 5.5,
    "leak_rate_kg_per_day": 42.1,
    "hole_diameter_stderr_mm": 0.13,
    "reserve_time_stderr_s": 30_000.0,
}


def _format(document: dict[str, Any]) -> str:
    return format_alert(Alert.model_validate(document))


def test_an_alert_with_uncertainties_shows_each_one() -> None:
    line = _format({**ALERT, **UNCERTAINTIES})
    assert "leak 41.2 ± 5.5 Pa·m³/s (2.44e+04 sccm, 42.1 kg/day)" in line
    assert "hole 2.010 ± 0.13 mm" in line
    assert "reserve 2d07h ± 8h20m" in line


def test_an_alert_from_an_older_daemon_shows_the_figures_alone() -> None:
    line = _format(ALERT)
    assert "leak 41.2 Pa·m³/s (2.44e+04 sccm)" in line
    assert "hole 2.010 mm" in line
    assert "reserve 2d07h  #3" in line


def test_no_hole_and_no_reserve_when_not_falling() -> None:
    line = _format({**ALERT, **UNCERTAINTIES, "hole_diameter_mm": None, "reserve_time_s": None})
    assert "hole -  reserve ∞  #3" in line


def test_a_cleared_retained_alert_prints_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    """A reload that removes a zone deletes its retained alert with an empty message:
    not an alert, and not a malformed one either."""
    out = io.StringIO()
    assert _print_alert("hullwatch/lab/zones/gone/alert", b"", False, out) is False
    assert out.getvalue() == ""
    assert capsys.readouterr().err == ""
    assert _print_alert("hullwatch/lab/zones/gone/alert", b"{", False, out) is False
    assert "malformed" in capsys.readouterr().err
