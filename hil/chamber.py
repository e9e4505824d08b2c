"""A chamber of ideal gas in a fixed volume, leaking through round holes.

The state is the gas mass; pressure follows from P·V = m·R·T, so a sealed
chamber whose gas warms moves its pressure exactly as the gas law says and
loses nothing. Holes pass gas by the orifice law of `hullwatch.daemon.physics`
(choked while the outside is below the critical ratio, subsonic above it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from hullwatch.daemon.physics import R_AIR_J_PER_KG_K, orifice_mass_flow_kg_per_s


@dataclass(frozen=True, slots=True)
class ThermalProfile:
    """Gas temperature over time: a base, a linear drift and a sinusoidal cycle."""

    base_k: float
    drift_k_per_s: float = 0.0
    cycle_amplitude_k: float = 0.0
    cycle_period_s: float = 5520.0  # 92 min, an ISS orbit

    def temperature_k(self, t_s: float) -> float:
        cycle = 0.0
        if self.cycle_amplitude_k:
            cycle = self.cycle_amplitude_k * math.sin(2.0 * math.pi * t_s / self.cycle_period_s)
        return self.base_k + self.drift_k_per_s * t_s + cycle


@dataclass(frozen=True, slots=True)
class Hole:
    diameter_m: float
    discharge_coefficient: float

    @property
    def area_m2(self) -> float:
        return math.pi * self.diameter_m**2 / 4.0


@dataclass
class Chamber:
    """One zone's gas. Advance it with `advance_to`; time only moves forward."""

    volume_m3: float
    thermal: ThermalProfile
    mass_kg: float
    ambient_pressure_pa: float = 0.0
    holes: list[Hole] = field(default_factory=list)
    time_s: float = 0.0

    @classmethod
    def filled(
        cls,
        *,
        volume_m3: float,
        pressure_pa: float,
        thermal: ThermalProfile,
        ambient_pressure_pa: float = 0.0,
    ) -> Chamber:
        mass_kg = pressure_pa * volume_m3 / (R_AIR_J_PER_KG_K * thermal.temperature_k(0.0))
        return cls(volume_m3, thermal, mass_kg, ambient_pressure_pa)

    @property
    def temperature_k(self) -> float:
        return self.thermal.temperature_k(self.time_s)

    @property
    def pressure_pa(self) -> float:
        return self._pressure_pa(self.mass_kg, self.time_s)

    def outflow_kg_per_s(self) -> float:
        return self._outflow_kg_per_s(self.mass_kg, self.time_s)

    def advance_to(self, t_s: float) -> None:
        """Integrate the mass balance up to `t_s` (fourth-order Runge-Kutta)."""
        while self.time_s < t_s:
            step_s = min(t_s - self.time_s, self._stable_step_s())
            self.mass_kg = self._rk4(self.mass_kg, self.time_s, step_s)
            self.time_s += step_s

    def _stable_step_s(self) -> float:
        outflow = self.outflow_kg_per_s()
        if outflow <= 0.0:
            return 1.0
        # A fixed hole empties the chamber with time constant m/ṁ; stay far below it.
        return min(1.0, 0.02 * self.mass_kg / outflow)

    def _rk4(self, mass_kg: float, t_s: float, step_s: float) -> float:
        def rate(m: float, t: float) -> float:
            return -self._outflow_kg_per_s(m, t)

        k1 = rate(mass_kg, t_s)
        k2 = rate(mass_kg + 0.5 * step_s * k1, t_s + 0.5 * step_s)
        k3 = rate(mass_kg + 0.5 * step_s * k2, t_s + 0.5 * step_s)
        k4 = rate(mass_kg + step_s * k3, t_s + step_s)
        return max(0.0, mass_kg + step_s * (k1 + 2.0 * k2 + 2.0 * k3 + k4) / 6.0)

    def _pressure_pa(self, mass_kg: float, t_s: float) -> float:
        return mass_kg * R_AIR_J_PER_KG_K * self.thermal.temperature_k(t_s) / self.volume_m3

    def _outflow_kg_per_s(self, mass_kg: float, t_s: float) -> float:
        pressure_pa = self._pressure_pa(mass_kg, t_s)
        temperature_k = self.thermal.temperature_k(t_s)
        return sum(
            orifice_mass_flow_kg_per_s(
                upstream_pa=pressure_pa,
                downstream_pa=self.ambient_pressure_pa,
                temperature_k=temperature_k,
                area_m2=hole.area_m2,
                discharge_coefficient=hole.discharge_coefficient,
            )
            for hole in self.holes
        )
