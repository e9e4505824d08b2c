"""What a scenario expects of the daemon, and the verdict on a run.

[[expect]]                      # the zone changes into a level in time
kind = "alert"
zone = "chamber"
level = "warning"               # or "critical" (a higher level also counts)
after_s = 20.0                  # from (usually when the hole opens); the change from a
                                # lower level must come at or after it: a level already
                                # standing then is a false alarm and fails
within_s = 15.0                 # deadline, after after_s
until_s = 300.0                 # optional: and held (nothing below `level`) until then

[[expect]]                      # no alert at all in a span
kind = "quiet"
zone = "chamber"
after_s = 0.0
until_s = 20.0                  # absent: until the end

[[expect]]                      # the zone's alert is released: back to "ok" in time
kind = "clear"
zone = "node"
after_s = 120.0                 # from (usually when the hatch to the leak closes)
within_s = 60.0                 # deadline, after after_s (absent: the end)

[[expect]]                      # reported leak rate and hole against the truth
kind = "estimate"
zone = "chamber"
after_s = 40.0                  # judged on the newest alert after this time
leak_rate_tolerance = 0.25      # relative
hole_diameter_tolerance = 0.15
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hullwatch.daemon.delivery.wire import Alert

LEVEL_RANK = {"ok": 0, "warning": 1, "critical": 2}


class Expectation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["alert", "quiet", "clear", "estimate"]
    zone: str
    level: Literal["warning", "critical"] = "warning"
    after_s: float = Field(default=0.0, ge=0)
    within_s: float | None = Field(default=None, gt=0)
    until_s: float | None = Field(default=None, gt=0)
    leak_rate_tolerance: float = Field(default=0.25, gt=0)
    hole_diameter_tolerance: float = Field(default=0.15, gt=0)

    def describe(self) -> str:
        if self.kind == "alert":
            deadline = f" within {self.within_s:g} s" if self.within_s else ""
            held = f", held to {self.until_s:g} s" if self.until_s is not None else ""
            return f"{self.zone}: {self.level} after {self.after_s:g} s{deadline}{held}"
        if self.kind == "quiet":
            until = f"{self.until_s:g} s" if self.until_s is not None else "the end"
            return f"{self.zone}: no alert from {self.after_s:g} s to {until}"
        if self.kind == "clear":
            deadline = f" within {self.within_s:g} s" if self.within_s else ""
            return f"{self.zone}: back to ok after {self.after_s:g} s{deadline}"
        return (
            f"{self.zone}: leak rate within {self.leak_rate_tolerance:.0%} and hole within "
            f"{self.hole_diameter_tolerance:.0%} of the truth after {self.after_s:g} s"
        )


@dataclass(frozen=True, slots=True)
class Observed:
    """An alert the daemon published, at simulated time `t_s`."""

    t_s: float
    document: Alert

    @property
    def zone(self) -> str:
        return self.document.zone

    @property
    def level(self) -> str:
        return self.document.level


@dataclass(frozen=True, slots=True)
class Truth:
    leak_rate_pa_m3_per_s: float
    hole_diameter_mm: float


@dataclass(frozen=True, slots=True)
class Verdict:
    expectation: str
    met: bool
    detail: str
    figures: dict[str, float | None]


TruthAt = Callable[[str, float], Truth]


def judge(
    expectations: Sequence[Expectation],
    alerts: Sequence[Observed],
    *,
    duration_s: float,
    truth_at: TruthAt,
) -> list[Verdict]:
    return [_judge_one(e, alerts, duration_s, truth_at) for e in expectations]


def _judge_one(
    expectation: Expectation, alerts: Sequence[Observed], duration_s: float, truth_at: TruthAt
) -> Verdict:
    e = expectation
    zone_alerts = [a for a in alerts if a.zone == e.zone]
    if e.kind == "alert":
        return _judge_alert(e, zone_alerts, duration_s)
    if e.kind == "quiet":
        until_s = e.until_s if e.until_s is not None else duration_s
        loud = [a for a in zone_alerts if e.after_s <= a.t_s <= until_s and a.level != "ok"]
        if loud:
            first = loud[0]
            detail = f"{first.level} at {first.t_s:.1f} s: {first.document.reason}"
            return Verdict(e.describe(), False, detail, {"alerts": float(len(loud))})
        return Verdict(e.describe(), True, "no alert", {"alerts": 0.0})
    if e.kind == "clear":
        return _judge_clear(e, zone_alerts, duration_s)
    judged = [a for a in zone_alerts if a.t_s >= e.after_s and a.level != "ok"]
    if not judged:
        return Verdict(e.describe(), False, "no alert to judge", {})
    newest = judged[-1]
    truth = truth_at(e.zone, newest.t_s)
    reported_rate = newest.document.leak_rate_pa_m3_per_s
    reported_hole = newest.document.hole_diameter_mm
    # Signed relative errors (the report says which way), judged by their size.
    rate_error = (
        reported_rate / truth.leak_rate_pa_m3_per_s - 1.0
        if truth.leak_rate_pa_m3_per_s > 0
        else float("inf")  # the zone has no hole: whatever it reports is wrong
    )
    hole_error = (
        reported_hole / truth.hole_diameter_mm - 1.0
        if reported_hole is not None and truth.hole_diameter_mm > 0
        else float("inf")
    )
    met = abs(rate_error) <= e.leak_rate_tolerance and abs(hole_error) <= e.hole_diameter_tolerance
    detail = (
        f"at {newest.t_s:.1f} s: leak {reported_rate:.4g} Pa·m³/s vs "
        f"{truth.leak_rate_pa_m3_per_s:.4g} true ({rate_error:+.1%}), hole "
        f"{reported_hole if reported_hole is not None else '-'} mm vs "
        f"{truth.hole_diameter_mm:.4g} true ({hole_error:+.1%})"
    )
    return Verdict(
        e.describe(),
        met,
        detail,
        {
            "reported_leak_rate_pa_m3_per_s": reported_rate,
            "true_leak_rate_pa_m3_per_s": truth.leak_rate_pa_m3_per_s,
            "reported_hole_diameter_mm": reported_hole,
            "true_hole_diameter_mm": truth.hole_diameter_mm,
        },
    )


def _judge_alert(e: Expectation, zone_alerts: Sequence[Observed], duration_s: float) -> Verdict:
    """Met by a change INTO `level` (or higher) from a lower level at or after `after_s`,
    by the deadline. A level already standing at `after_s` is a false alarm raised
    before the event, not a detection: its documents republished after `after_s` do
    not count, and the verdict names when it was raised."""
    deadline_s = e.after_s + e.within_s if e.within_s is not None else duration_s
    wanted = LEVEL_RANK[e.level]
    rank, raised_at_s = 0, None  # the zone's level as its documents go, from "ok"
    first: Observed | None = None
    for alert in zone_alerts:
        new_rank = LEVEL_RANK[alert.level]
        entered = rank < wanted <= new_rank
        if alert.t_s < e.after_s:
            if entered:
                raised_at_s = alert.t_s
            elif new_rank < wanted:
                raised_at_s = None
        elif entered and raised_at_s is None:
            first = alert
            break
        elif raised_at_s is not None:
            break  # standing at after_s: whatever follows is judged by that
        rank = new_rank
    if raised_at_s is not None:
        detail = (
            f"{e.level} standing since {raised_at_s:.1f} s, raised before {e.after_s:g} s "
            "(a false alarm, not a detection)"
        )
        return Verdict(e.describe(), False, detail, {"time_to_detect_s": None})
    if first is None:
        return Verdict(e.describe(), False, "never raised", {"time_to_detect_s": None})
    delay_s = first.t_s - e.after_s
    met = first.t_s <= deadline_s
    detail = f"{first.level} at {first.t_s:.1f} s, {delay_s:.1f} s after {e.after_s:g} s"
    if e.until_s is not None:
        # Held: no document below the level from the first raise to until_s.
        dropped = [
            a
            for a in zone_alerts
            if first.t_s < a.t_s <= e.until_s and LEVEL_RANK[a.level] < wanted
        ]
        if dropped:
            met = False
            detail += f"; dropped to {dropped[0].level} at {dropped[0].t_s:.1f} s"
        else:
            detail += f"; held to {e.until_s:g} s"
    return Verdict(e.describe(), met, detail, {"time_to_detect_s": round(delay_s, 2)})


def _judge_clear(e: Expectation, zone_alerts: Sequence[Observed], duration_s: float) -> Verdict:
    """Met by the first "ok" document after `after_s`, if it comes by the deadline; a
    zone that was never raised before it has nothing to clear (that is a miss)."""
    deadline_s = e.after_s + e.within_s if e.within_s is not None else duration_s
    raised_before = [a for a in zone_alerts if a.t_s < e.after_s and a.level != "ok"]
    cleared = [a for a in zone_alerts if a.t_s >= e.after_s and a.level == "ok"]
    if not raised_before:
        return Verdict(e.describe(), False, "no alert to clear", {"time_to_clear_s": None})
    if not cleared:
        last = zone_alerts[-1]
        detail = f"still {last.level} (since {last.t_s:.1f} s)"
        return Verdict(e.describe(), False, detail, {"time_to_clear_s": None})
    first = cleared[0]
    delay_s = first.t_s - e.after_s
    later = [a for a in zone_alerts if a.t_s > first.t_s and a.level != "ok"]
    detail = f"ok at {first.t_s:.1f} s, {delay_s:.1f} s after {e.after_s:g} s"
    if later:
        detail += f"; raised again at {later[0].t_s:.1f} s ({later[0].level})"
    return Verdict(
        e.describe(), first.t_s <= deadline_s, detail, {"time_to_clear_s": round(delay_s, 2)}
    )
