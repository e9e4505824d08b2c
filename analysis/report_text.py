"""The characterization as text tables (stdout) and as JSON lines."""

from __future__ import annotations

import json
from typing import Any, TextIO

from .characterize import COMPENSATED, QuantityReport, SensorReport

QUANTITY_TITLES = {
    "pressure": "pressure P",
    COMPENSATED: "compensated q = P·T_ref/T",
}


def write_text(report: SensorReport, out: TextIO) -> None:
    sampling = report.sampling
    rate_hz = 1.0 / sampling.period_s
    out.write(
        f"{report.label}: {report.samples} samples over {report.duration_s:.1f} s, "
        f"median period {sampling.period_s:.4g} s ({rate_hz:.4g} Hz), "
        f"jitter (IQR/median) {100.0 * sampling.jitter:.1f} %"
    )
    if sampling.gaps:
        out.write(
            f", {sampling.gaps} gap(s) kept ({100.0 * sampling.gap_fraction:.1f} % of the time)"
        )
    out.write("\n")
    if report.reference_temperature_k is not None:
        out.write(f"  T_ref {report.reference_temperature_k:g} K for q\n")
    for quantity in report.quantities:
        _write_quantity(quantity, rate_hz, report.false_alarm_interval_days, out)
    out.write("\n")


def _write_quantity(
    quantity: QuantityReport, rate_hz: float, false_alarm_interval_days: float, out: TextIO
) -> None:
    model = quantity.model
    out.write(
        f"\n  {QUANTITY_TITLES[quantity.quantity]}: σ_A²(τ) = W/τ + F + R·τ\n"
        f"    W {model.white_pa2_s:.4g} Pa²·s (white σ {model.white_sd_pa(rate_hz):.3g} Pa "
        f"per sample)   F {model.flicker_pa2:.4g} Pa²   R {model.random_walk_pa2_per_s:.4g} Pa²/s\n"
        f"    h0 {model.h0_pa2_per_hz:.4g} Pa²/Hz   h-1 {model.h_minus1_pa2:.4g} Pa²   "
        f"h-2 {model.h_minus2_pa2_hz:.4g} Pa²·Hz\n\n"
    )
    out.write("    τ s       σ_A Pa    68 % interval         model Pa   noise α\n")
    for point in quantity.allan:
        out.write(
            f"    {point.tau_s:<9.4g} {point.deviation:<9.4g} "
            f"{point.low:>8.4g} – {point.high:<10.4g} "
            f"{model.allan_variance(point.tau_s) ** 0.5:<10.4g} {point.noise_alpha:+d}\n"
        )
    out.write(
        f"\n    slopes over non-overlapping windows (Pa/s); detectable = z · measured, "
        f"z for one false alarm in {false_alarm_interval_days:g} days\n"
        "    window s  windows  measured (68 %)                  white claim  "
        "measured/white  model     measured/model  z     detectable fall\n"
    )
    for row in quantity.windows:
        spread = row.spread
        interval = f"{spread.measured_low:.3g} – {spread.measured_high:.3g}"
        out.write(
            f"    {spread.window_s:<9g} {spread.windows:<8d} "
            f"{spread.measured_sd_pa_per_s:<9.4g} ({interval:<20}) "
            f"{spread.white_claim_sd_pa_per_s:<12.4g} {spread.ratio:<15.3g} "
            f"{row.model_sd_pa_per_s:<9.4g} {row.model_ratio:<15.3g} {row.z:<5.2f} "
            f"{row.detectable_fall_pa_per_s:.4g}\n"
        )


def as_json(report: SensorReport) -> str:
    return json.dumps(_report_document(report), ensure_ascii=False)


def _report_document(report: SensorReport) -> dict[str, Any]:
    rate_hz = 1.0 / report.sampling.period_s
    return {
        "recording": report.label,
        "sensor": report.sensor_id,
        "samples": report.samples,
        "duration_s": report.duration_s,
        "period_s": report.sampling.period_s,
        "jitter": report.sampling.jitter,
        "gaps": report.sampling.gaps,
        "gap_fraction": report.sampling.gap_fraction,
        "reference_temperature_k": report.reference_temperature_k,
        "false_alarm_interval_days": report.false_alarm_interval_days,
        "quantities": [
            {
                "quantity": quantity.quantity,
                "model": {
                    "white_pa2_s": quantity.model.white_pa2_s,
                    "flicker_pa2": quantity.model.flicker_pa2,
                    "random_walk_pa2_per_s": quantity.model.random_walk_pa2_per_s,
                    "h0_pa2_per_hz": quantity.model.h0_pa2_per_hz,
                    "h_minus1_pa2": quantity.model.h_minus1_pa2,
                    "h_minus2_pa2_hz": quantity.model.h_minus2_pa2_hz,
                    "white_sd_pa": quantity.model.white_sd_pa(rate_hz),
                },
                "allan": [
                    {
                        "tau_s": point.tau_s,
                        "adev_pa": point.deviation,
                        "low_pa": point.low,
                        "high_pa": point.high,
                        "edf": point.degrees_of_freedom,
                        "noise_alpha": point.noise_alpha,
                    }
                    for point in quantity.allan
                ],
                "windows": [
                    {
                        "window_s": row.spread.window_s,
                        "windows": row.spread.windows,
                        "measured_sd_pa_per_s": row.spread.measured_sd_pa_per_s,
                        "measured_low_pa_per_s": row.spread.measured_low,
                        "measured_high_pa_per_s": row.spread.measured_high,
                        "white_claim_sd_pa_per_s": row.spread.white_claim_sd_pa_per_s,
                        "measured_over_white": row.spread.ratio,
                        "model_sd_pa_per_s": row.model_sd_pa_per_s,
                        "measured_over_model": row.model_ratio,
                        "z": row.z,
                        "detectable_fall_pa_per_s": row.detectable_fall_pa_per_s,
                    }
                    for row in quantity.windows
                ],
            }
            for quantity in report.quantities
        ],
    }
