"""The characterization as a PNG: per sensor, the Allan deviation with the
fitted model and its three terms, and the slope spread against the window."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a Pi or in CI

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from .characterize import COMPENSATED, PRESSURE, QuantityReport, SensorReport


def write_plot(reports: Sequence[SensorReport], path: Path) -> None:
    figure, axes = plt.subplots(len(reports), 2, figsize=(13.0, 5.2 * len(reports)), squeeze=False)
    for row, report in enumerate(reports):
        pressure = _quantity(report, PRESSURE)
        compensated = _quantity(report, COMPENSATED)
        rate_hz = 1.0 / report.sampling.period_s
        _allan_panel(axes[row][0], pressure, compensated, report.label)
        _slope_panel(axes[row][1], pressure, rate_hz, report.label)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _quantity(report: SensorReport, name: str) -> QuantityReport | None:
    return next((q for q in report.quantities if q.quantity == name), None)


def _allan_panel(
    axis: Axes,
    pressure: QuantityReport | None,
    compensated: QuantityReport | None,
    label: str,
) -> None:
    assert pressure is not None
    taus_s = np.array([point.tau_s for point in pressure.allan])
    deviations = np.array([point.deviation for point in pressure.allan])
    below = deviations - np.array([point.low for point in pressure.allan])
    above = np.array([point.high for point in pressure.allan]) - deviations
    axis.errorbar(
        taus_s,
        deviations,
        yerr=(below, above),
        fmt="o",
        color="black",
        capsize=3,
        label="pressure: overlapping ADEV (68 %)",
    )
    grid_s = np.geomspace(taus_s[0], taus_s[-1], 200)
    model = pressure.model
    axis.plot(
        grid_s,
        np.sqrt(
            model.white_pa2_s / grid_s + model.flicker_pa2 + model.random_walk_pa2_per_s * grid_s
        ),
        color="tab:red",
        linewidth=2,
        label="fitted model",
    )
    terms = (
        (model.white_pa2_s / grid_s, f"white  W = {model.white_pa2_s:.3g} Pa²·s", ":"),
        (
            np.full_like(grid_s, model.flicker_pa2),
            f"flicker  F = {model.flicker_pa2:.3g} Pa²",
            "--",
        ),
        (
            model.random_walk_pa2_per_s * grid_s,
            f"random walk  R = {model.random_walk_pa2_per_s:.3g} Pa²/s",
            "-.",
        ),
    )
    for variance, name, style in terms:
        if np.any(variance > 0):
            axis.plot(grid_s, np.sqrt(variance), style, color="tab:blue", label=name)
        else:  # a term fitted to zero has no line on a log scale: say so
            axis.plot([], [], style, color="tab:blue", label=f"{name} (not drawn)")
    if compensated is not None:
        axis.plot(
            [point.tau_s for point in compensated.allan],
            [point.deviation for point in compensated.allan],
            "s",
            color="tab:orange",
            markerfacecolor="none",
            label="compensated q = P·T_ref/T: ADEV",
        )
    floor = min(float(np.min(deviations)), float(np.min(deviations - below)))
    axis.set_ylim(bottom=floor / 3.0)
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("averaging time τ (s)")
    axis.set_ylabel("Allan deviation σ_A(τ) (Pa)")
    axis.set_title(f"{label}: Allan deviation")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8, loc="best")


def _slope_panel(axis: Axes, pressure: QuantityReport | None, rate_hz: float, label: str) -> None:
    assert pressure is not None
    rows = pressure.windows
    windows_s = np.array([row.spread.window_s for row in rows])
    measured = np.array([row.spread.measured_sd_pa_per_s for row in rows])
    below = measured - np.array([row.spread.measured_low for row in rows])
    above = np.array([row.spread.measured_high for row in rows]) - measured
    axis.errorbar(
        windows_s,
        measured,
        yerr=(below, above),
        fmt="o",
        color="black",
        capsize=3,
        label="measured spread of slopes (68 %)",
    )
    axis.plot(
        windows_s,
        [row.spread.white_claim_sd_pa_per_s for row in rows],
        "v--",
        color="tab:green",
        label="white-noise claim: median √(s²/Sxx)",
    )
    grid_s = np.geomspace(windows_s[0], windows_s[-1], 100)
    axis.plot(
        grid_s,
        [pressure.model.slope_sd(w, rate_hz) for w in grid_s],
        color="tab:red",
        linewidth=2,
        label="fitted power-law model",
    )
    for x, y, row in zip(windows_s, measured, rows, strict=True):
        axis.annotate(
            f"×{row.spread.ratio:.1f}",
            (x, y),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    axis.set_xscale("log")
    axis.set_yscale("log")
    axis.set_xlabel("window W (s)")
    axis.set_ylabel("standard deviation of the LS slope (Pa/s)")
    axis.set_title(f"{label}: slope spread (× measured/white)")
    axis.grid(True, which="both", alpha=0.3)
    axis.legend(fontsize=8, loc="best")
