"""`hullwatch replay --plot`: one PNG that shows at a glance what the detector saw and did.

Per zone two panels on one time axis: the pressure and the compensated
quantity P·T_ref/T (both relative to their first value, so a few pascals of
noise are visible on 100 kPa); and the reported dP/dt with its ±1 standard
error band, the warning and critical fall rates, the level as shaded bands
and a marker at every level change. Only `hullwatch replay` imports this
(matplotlib is the optional extra `hullwatch[plot]`).
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on a Pi or in CI

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from .replay import ReplayRun, ZoneTrace

LEVEL_COLOURS = {"warning": "#ffd54f", "critical": "#ef5350"}
LEVEL_RANK = {"ok": 0, "warning": 1, "critical": 2}


def _time_unit(span_s: float) -> tuple[float, str]:
    if span_s > 3 * 3600:
        return 3600.0, "h"
    if span_s > 600:
        return 60.0, "min"
    return 1.0, "s"


def plot_replay(run: ReplayRun, path: Path, *, title: str) -> None:
    traces = [trace for trace in run.traces.values() if trace.series.rows]
    if not traces:
        traces = list(run.traces.values())[:1]
    figure, axes = plt.subplots(
        2 * len(traces),
        1,
        figsize=(13.5, 6.5 * len(traces)),
        sharex=True,
        squeeze=False,
        gridspec_kw={"height_ratios": [1, 1.4] * len(traces)},
    )
    first_t_s = min((t.first_t_s for t in traces if t.first_t_s is not None), default=0.0)
    last_t_s = max((t.last_t_s for t in traces), default=1.0)
    scale_s, unit = _time_unit(last_t_s - first_t_s)
    for index, trace in enumerate(traces):
        _plot_zone(axes[2 * index][0], axes[2 * index + 1][0], trace, first_t_s, scale_s)
    axes[-1][0].set_xlabel(f"recording time ({unit} from the first sample)")
    figure.suptitle(_shorten(title), fontsize=11)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def _plot_zone(
    pressure_axes: Axes, rate_axes: Axes, trace: ZoneTrace, first_t_s: float, scale_s: float
) -> None:
    rows = np.array(trace.series.rows, dtype=float).reshape(-1, 7)
    t = (rows[:, 0] - first_t_s) / scale_s
    pressure, compensated, dpdt, stderr = rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4]
    # Before the window holds enough samples nothing is judged: drawn faint, not scaled to.
    judged = rows[:, 6] >= trace.min_window_fill
    start_t = 0.0 if trace.first_t_s is None else (trace.first_t_s - first_t_s) / scale_s
    end_t = (trace.last_t_s - first_t_s) / scale_s

    if len(rows):
        p0, q0 = pressure[0], compensated[0]
        if np.array_equal(pressure, compensated):
            label = "P (no temperature: P·T_ref/T = P)"
            pressure_axes.plot(t, pressure - p0, color="#1565c0", lw=0.6, label=label)
        else:
            pressure_axes.plot(t, pressure - p0, color="0.6", lw=0.6, label="P (as read)")
            pressure_axes.plot(t, compensated - q0, color="#1565c0", lw=0.8, label="P·T_ref/T")
        pressure_axes.set_ylabel(f"Pa relative to\nP₀ = {p0:.1f} Pa")
    raised = sum(LEVEL_RANK[a.level] > LEVEL_RANK[a.previous_level] for a in trace.alerts)
    pressure_axes.set_title(
        f"zone {trace.zone_id}: {trace.samples} samples, max |z| {trace.max_abs_z:.1f}, "
        f"{raised} alert(s) raised",
        loc="left",
        fontsize=10,
    )
    pressure_axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    pressure_axes.grid(alpha=0.3)

    shown = np.where(judged, dpdt, np.nan)
    rate_axes.plot(t, np.where(judged, np.nan, dpdt), color="0.7", lw=0.6, label="window filling")
    rate_axes.fill_between(
        t, shown - stderr, shown + stderr, color="#1565c0", alpha=0.25, lw=0, label="±1 SE"
    )
    rate_axes.plot(t, shown, color="#0d47a1", lw=0.8, label="reported dP/dt")
    rate_axes.axhline(0.0, color="0.3", lw=0.6)
    low, high = _rate_limits(shown, stderr, trace.warning_pa_per_s)
    for name, rate, colour in (
        ("warning", trace.warning_pa_per_s, "#f9a825"),
        ("critical", trace.critical_pa_per_s, "#c62828"),
    ):
        label = f"−{name} {rate:g} Pa/s"
        if -rate >= low:
            rate_axes.axhline(-rate, color=colour, ls="--", lw=1.2, label=label)
        else:
            rate_axes.plot([], [], color=colour, ls="--", lw=1.2, label=f"{label} (off scale)")
    rate_axes.set_ylim(low, high)
    rate_axes.set_ylabel("dP/dt (Pa/s)")
    rate_axes.grid(alpha=0.3)

    _shade_levels((pressure_axes, rate_axes), trace, start_t, end_t, first_t_s, scale_s)
    handles, labels = rate_axes.get_legend_handles_labels()
    handles += [Patch(color=c, alpha=0.35) for c in LEVEL_COLOURS.values()]
    labels += [f"level {name}" for name in LEVEL_COLOURS]
    rate_axes.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)


def _rate_limits(dpdt: np.ndarray, stderr: np.ndarray, warning: float) -> tuple[float, float]:
    """The band of the estimates (ignoring the first rough ones) and the warning line."""
    valid = np.isfinite(dpdt) & np.isfinite(stderr)
    if not valid.any():
        return -1.5 * warning, 0.5 * warning
    low = float(np.percentile((dpdt - stderr)[valid], 0.5))
    high = float(np.percentile((dpdt + stderr)[valid], 99.5))
    low = min(low, -1.25 * warning)
    high = max(high, 0.25 * warning)
    margin = 0.05 * (high - low)
    return low - margin, high + margin


def _shade_levels(
    axes: tuple[Axes, Axes],
    trace: ZoneTrace,
    start_t: float,
    end_t: float,
    first_t_s: float,
    scale_s: float,
) -> None:
    level, since = "ok", start_t
    for alert in trace.alerts:
        at = (alert.t_s - first_t_s) / scale_s
        if level in LEVEL_COLOURS:
            for ax in axes:
                ax.axvspan(since, at, color=LEVEL_COLOURS[level], alpha=0.35, lw=0)
        level, since = alert.level, at
        raised = LEVEL_RANK[alert.level] > LEVEL_RANK[alert.previous_level]
        marker, colour = ("v", "#b71c1c") if raised else ("^", "#2e7d32")
        axes[1].plot(
            [at],
            [alert.dpdt_pa_per_s],
            marker=marker,
            color=colour,
            ms=9,
            ls="none",
            zorder=5,
        )
        for ax in axes:
            ax.axvline(at, color=colour, lw=0.8, alpha=0.7)
    if level in LEVEL_COLOURS:
        for ax in axes:
            ax.axvspan(since, end_t, color=LEVEL_COLOURS[level], alpha=0.35, lw=0)


def _shorten(text: str, limit: int = 140) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
