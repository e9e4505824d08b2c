"""Zones of ideal gas in fixed volumes: mass and energy balances, holes, valves, hatches.

Each zone's state is its gas mass m and internal energy U = m·cv·T (air, γ = 1.4,
cv = R/(γ − 1), cp = γ·R/(γ − 1), R = 287.05 J/(kg·K)); its pressure follows
from P·V = m·R·T, which is the same as P = (γ − 1)·U/V. The balances:

    dm/dt = Σ ṁ_in − Σ ṁ_out
    dU/dt = Q̇_wall − Σ ṁ_out·cp·T + Σ ṁ_in·cp·T_in,   Q̇_wall = m·cv·(T_wall − T)/τ_wall

so a sealed zone keeps its mass to the last bit and moves its pressure exactly
as its gas temperature, which follows the wall (a `ThermalProfile` plus any
heater steps) with time constant τ_wall. Gas leaving through a hole carries
its enthalpy, so a fast blow-down cools the gas adiabatically,
T/T0 = (P/P0)^((γ−1)/γ), until the wall warms it back.

Every opening is an orifice (`hullwatch.daemon.detection.physics`: choked while the
downstream/upstream ratio is below critical, subsonic above it; the upstream
side is the higher pressure and the gas carries the upstream temperature):
holes to the zone's ambient, valves to a reservoir (the ambient, or a supply
at its own pressure and temperature), hatches between two zones.

Integration (`Network.advance_to`): fourth-order Runge-Kutta on (m, U) of all
zones together. Near equality an orifice's flow goes as √ΔP, so the time to
equalise, t_eq = (mass that would equalise)/(flow now), shrinks to nothing:
an explicit step longer than t_eq overshoots and chatters. So each step first
measures t_eq of every open connection; one that would equalise within half
the step (a big open hatch, a refill valve at its supply pressure) is taken
out of the Runge-Kutta step and instead brought exactly to equality after it,
moving the mass and enthalpy that takes (which is what the √ΔP law does in a
time 2·t_eq); the others limit the step to 2 % of their t_eq. A wall exchange
limits it to half of τ_wall, and nothing to more than 1 s. When no link needs
integrating (sealed zones, wide open hatches), each gas temperature relaxes to
its wall in closed form instead (`ThermalProfile.settled_k`), exact for any
step. Mass and energy move between zones in pairs, so the coupled system
conserves them to round-off. τ_wall = 0 holds the gas at the wall's
temperature (isothermal: the wall supplies whatever heat that takes).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from hullwatch.daemon.detection.physics import (
    GAMMA_AIR,
    R_AIR_J_PER_KG_K,
    orifice_mass_flow_kg_per_s,
)

CV_AIR_J_PER_KG_K = R_AIR_J_PER_KG_K / (GAMMA_AIR - 1.0)
CP_AIR_J_PER_KG_K = GAMMA_AIR * CV_AIR_J_PER_KG_K
# The gas follows its wall with this time constant unless a zone says otherwise.
# m·cv/(h·A) of a 50 L vessel in natural convection (h ≈ 5 W/(m²·K), A ≈ 0.8 m²)
# is about 10 s; short against every thermal cycle we script, long enough that a
# fast decompression visibly cools the gas first.
DEFAULT_WALL_TIME_CONSTANT_S = 10.0
MAX_STEP_S = 1.0
_STEP_FRACTION_OF_EQUALISING = 0.02  # of a slow connection's t_eq
_STEP_FRACTION_OF_WALL = 0.5  # of τ_wall (RK4 is stable to 2.8·τ)


@dataclass(frozen=True, slots=True)
class ThermalProfile:
    """The wall's (environment's) temperature: a base, a linear drift, a sinusoidal cycle."""

    base_k: float
    drift_k_per_s: float = 0.0
    cycle_amplitude_k: float = 0.0
    cycle_period_s: float = 5520.0  # 92 min, an ISS orbit

    def temperature_k(self, t_s: float) -> float:
        cycle = 0.0
        if self.cycle_amplitude_k:
            cycle = self.cycle_amplitude_k * math.sin(2.0 * math.pi * t_s / self.cycle_period_s)
        return self.base_k + self.drift_k_per_s * t_s + cycle

    def settled_k(self, t_s: float, time_constant_s: float) -> float:
        """Where gas that follows this wall with time constant τ settles once its start
        is forgotten: the drift τ late, the cycle scaled by 1/(1 + (ωτ)²) and shifted."""
        settled = self.base_k + self.drift_k_per_s * (t_s - time_constant_s)
        if self.cycle_amplitude_k:
            omega = 2.0 * math.pi / self.cycle_period_s
            wt = omega * time_constant_s
            settled += (
                self.cycle_amplitude_k
                / (1.0 + wt * wt)
                * (math.sin(omega * t_s) - wt * math.cos(omega * t_s))
            )
        return settled

    def rate_k_per_s(self, t_s: float) -> float:
        rate = self.drift_k_per_s
        if self.cycle_amplitude_k:
            omega = 2.0 * math.pi / self.cycle_period_s
            rate += self.cycle_amplitude_k * omega * math.cos(omega * t_s)
        return rate


@dataclass(slots=True)
class FirstOrderLag:
    """A value that follows a target with time constant `time_constant_s` (a sensor's
    die behind the gas): dx/dt = (target − x)/τ.

    Updated exactly between calls for a target that moves linearly from its value
    at the previous call to its value now (calls come at conversion times, a few
    per second, where the gas temperature is a straight line to round-off). A
    call earlier than the previous one changes nothing; τ = 0 follows at once.
    """

    time_constant_s: float
    value: float
    time_s: float = 0.0
    _target: float | None = None

    def follow(self, t_s: float, target: float) -> float:
        previous = self.value if self._target is None else self._target
        dt_s = t_s - self.time_s
        if self.time_constant_s <= 0.0:
            self.value = target
        elif dt_s > 0.0:
            tau_s = self.time_constant_s
            slope = (target - previous) / dt_s
            decay = math.exp(-dt_s / tau_s)
            # x(t) = g(t) − a·τ + (x0 − g0 + a·τ)·e^(−t/τ) for g(t) = g0 + a·t.
            self.value = target - slope * tau_s + (self.value - previous + slope * tau_s) * decay
        elif dt_s < 0.0:
            return self.value
        # dt = 0: the target stepped at this instant.
        self.time_s = max(self.time_s, t_s)
        self._target = target
        return self.value


@dataclass(frozen=True, slots=True)
class Hole:
    diameter_m: float
    discharge_coefficient: float

    @property
    def area_m2(self) -> float:
        return math.pi * self.diameter_m**2 / 4.0


@dataclass
class Chamber:
    """One zone's gas. Alone, advance it with `advance_to`; joined to others, through
    the `Network` that holds them all. Time only moves forward."""

    volume_m3: float
    wall: ThermalProfile
    mass_kg: float
    energy_j: float
    ambient_pressure_pa: float = 0.0
    wall_time_constant_s: float = DEFAULT_WALL_TIME_CONSTANT_S
    holes: list[Hole] = field(default_factory=list)
    wall_offset_k: float = 0.0  # heater steps so far
    time_s: float = 0.0

    @classmethod
    def filled(
        cls,
        *,
        volume_m3: float,
        pressure_pa: float,
        thermal: ThermalProfile,
        ambient_pressure_pa: float = 0.0,
        wall_time_constant_s: float = DEFAULT_WALL_TIME_CONSTANT_S,
    ) -> Chamber:
        """Gas at `pressure_pa` and at the wall's temperature at t = 0."""
        temperature_k = thermal.temperature_k(0.0)
        mass_kg = pressure_pa * volume_m3 / (R_AIR_J_PER_KG_K * temperature_k)
        return cls(
            volume_m3,
            thermal,
            mass_kg,
            mass_kg * CV_AIR_J_PER_KG_K * temperature_k,
            ambient_pressure_pa,
            wall_time_constant_s,
        )

    @property
    def thermal(self) -> ThermalProfile:
        return self.wall

    @property
    def temperature_k(self) -> float:
        """The gas temperature."""
        return _temperature_k(self.mass_kg, self.energy_j, self.wall_temperature_k)

    @property
    def pressure_pa(self) -> float:
        return (GAMMA_AIR - 1.0) * self.energy_j / self.volume_m3

    @property
    def wall_temperature_k(self) -> float:
        return self.wall_temperature_at(self.time_s)

    def wall_temperature_at(self, t_s: float) -> float:
        return self.wall.temperature_k(t_s) + self.wall_offset_k

    @property
    def effective_hole_area_m2(self) -> float:
        """Σ Cd·A of the open holes (the orifice law is linear in it)."""
        return sum(hole.discharge_coefficient * hole.area_m2 for hole in self.holes)

    def outflow_kg_per_s(self) -> float:
        """The flow out through the holes to the ambient now (negative if it comes in)."""
        flow, _enthalpy = _orifice(
            self.pressure_pa,
            self.temperature_k,
            self.ambient_pressure_pa,
            self.wall_temperature_k,
            self.effective_hole_area_m2,
        )
        return flow

    def advance_to(self, t_s: float) -> None:
        Network([self]).advance_to(t_s)


@dataclass
class Hatch:
    """An opening between two zones."""

    id: str
    a: Chamber
    b: Chamber
    area_m2: float
    discharge_coefficient: float
    open: bool = True


@dataclass
class Valve:
    """A zone's line to a reservoir: the zone's ambient (a vent) or a supply."""

    id: str
    chamber: Chamber
    area_m2: float
    discharge_coefficient: float
    supply_pressure_pa: float | None = None  # None: vents to the zone's ambient
    supply_temperature_k: float | None = None  # None: the wall's temperature
    open: bool = False


@dataclass(frozen=True, slots=True)
class _Link:
    """An open orifice from zone `i` to zone `j`, or to a reservoir when j is None."""

    i: int
    j: int | None
    cda_m2: float
    reservoir_pa: float = 0.0
    reservoir_k: float = 0.0


class Network:
    """Zones joined by hatches and valves, integrated together."""

    def __init__(
        self,
        chambers: Sequence[Chamber],
        hatches: Iterable[Hatch] = (),
        valves: Iterable[Valve] = (),
    ) -> None:
        self.chambers = list(chambers)
        self.hatches = list(hatches)
        self.valves = list(valves)
        self._index = {id(chamber): k for k, chamber in enumerate(self.chambers)}
        self.time_s = min((chamber.time_s for chamber in self.chambers), default=0.0)

    def advance_to(self, t_s: float) -> None:
        self._hold_isothermal()
        while self.time_s < t_s:
            links = self._links()
            masses = [chamber.mass_kg for chamber in self.chambers]
            energies = [chamber.energy_j for chamber in self.chambers]
            step_s, slow, fast = self._plan(t_s - self.time_s, links, masses, energies)
            if slow:
                masses, energies = self._rk4(slow, masses, energies, self.time_s, step_s)
            else:
                energies = self._relax(masses, energies, self.time_s, step_s)
            self.time_s = t_s if step_s >= t_s - self.time_s else self.time_s + step_s
            for chamber, mass_kg, energy_j in zip(self.chambers, masses, energies, strict=True):
                chamber.mass_kg, chamber.energy_j = max(mass_kg, 0.0), max(energy_j, 0.0)
                chamber.time_s = self.time_s
            if fast:
                self._equalise(fast)
            self._hold_isothermal()

    def _hold_isothermal(self) -> None:
        """τ_wall = 0: the gas is at the wall's temperature (to round-off, and after a step)."""
        for chamber in self.chambers:
            if chamber.wall_time_constant_s <= 0.0:
                wall_k = chamber.wall_temperature_at(self.time_s)
                chamber.energy_j = chamber.mass_kg * CV_AIR_J_PER_KG_K * wall_k

    # --- the openings now ---

    def _links(self) -> list[_Link]:
        links = []
        for k, chamber in enumerate(self.chambers):
            cda_m2 = chamber.effective_hole_area_m2
            if cda_m2 > 0.0:
                links.append(
                    _Link(k, None, cda_m2, chamber.ambient_pressure_pa, chamber.wall_temperature_k)
                )
        for valve in self.valves:
            if valve.open:
                chamber = valve.chamber
                pressure_pa = valve.supply_pressure_pa
                temperature_k = valve.supply_temperature_k
                links.append(
                    _Link(
                        self._index[id(chamber)],
                        None,
                        valve.discharge_coefficient * valve.area_m2,
                        chamber.ambient_pressure_pa if pressure_pa is None else pressure_pa,
                        chamber.wall_temperature_k if temperature_k is None else temperature_k,
                    )
                )
        for hatch in self.hatches:
            if hatch.open:
                links.append(
                    _Link(
                        self._index[id(hatch.a)],
                        self._index[id(hatch.b)],
                        hatch.discharge_coefficient * hatch.area_m2,
                    )
                )
        return links

    def _plan(
        self,
        remaining_s: float,
        links: list[_Link],
        masses: list[float],
        energies: list[float],
    ) -> tuple[float, list[_Link], list[_Link]]:
        """The step, the links the Runge-Kutta step integrates, those equalised after it.

        With no link to integrate, the walls alone act, and `_relax` solves them exactly
        for any step; otherwise the wall exchange too limits the Runge-Kutta step."""
        step_s = min(remaining_s, MAX_STEP_S)
        timed = [(self._equalising_time_s(link, masses, energies), link) for link in links]
        if all(2.0 * t <= step_s for t, _ in timed):
            return step_s, [], [link for _, link in timed]
        for chamber in self.chambers:
            if chamber.wall_time_constant_s > 0.0:
                step_s = min(step_s, _STEP_FRACTION_OF_WALL * chamber.wall_time_constant_s)
        # The longest step h for which every link with 2·t_eq > h also has h ≤ 2 % of t_eq.
        candidates = sorted(
            {step_s, *(_STEP_FRACTION_OF_EQUALISING * t for t, _ in timed if t < math.inf)},
            reverse=True,
        )
        for h in candidates:
            if h > step_s:
                continue
            if all(h <= _STEP_FRACTION_OF_EQUALISING * t for t, _ in timed if 2.0 * t > h):
                step_s = h
                break
        slow = [link for t, link in timed if 2.0 * t > step_s]
        fast = [link for t, link in timed if 2.0 * t <= step_s]
        return step_s, slow, fast

    def _equalising_time_s(self, link: _Link, masses: list[float], energies: list[float]) -> float:
        flow, _enthalpy, equalising = self._flow(link, masses, energies, self.time_s)
        if flow == 0.0:
            # At equality it must be held there (0); with nothing to move, it never acts.
            return 0.0 if equalising == 0.0 else math.inf
        return abs(equalising / flow)

    # --- flows ---

    def _state(
        self, k: int, masses: list[float], energies: list[float], t_s: float
    ) -> tuple[float, float]:
        chamber = self.chambers[k]
        mass_kg, energy_j = masses[k], energies[k]
        pressure_pa = (GAMMA_AIR - 1.0) * energy_j / chamber.volume_m3
        if mass_kg > 0.0 and energy_j > 0.0:
            return pressure_pa, energy_j / (mass_kg * CV_AIR_J_PER_KG_K)
        return pressure_pa, chamber.wall_temperature_at(t_s)  # empty: see `_temperature_k`

    def _flow(
        self, link: _Link, masses: list[float], energies: list[float], t_s: float
    ) -> tuple[float, float, float]:
        """ṁ from i to j (or the reservoir), the enthalpy it carries per kg, and the
        mass whose transfer at that enthalpy would make the two pressures equal."""
        p_i, t_i = self._state(link.i, masses, energies, t_s)
        v_i = self.chambers[link.i].volume_m3
        if link.j is None:
            p_j, t_j, inverse_volumes = link.reservoir_pa, link.reservoir_k, 1.0 / v_i
        else:
            p_j, t_j = self._state(link.j, masses, energies, t_s)
            inverse_volumes = 1.0 / v_i + 1.0 / self.chambers[link.j].volume_m3
        flow, enthalpy = _orifice(p_i, t_i, p_j, t_j, link.cda_m2)
        # P = (γ − 1)·U/V: moving dm at enthalpy h changes P_i − P_j by (γ − 1)·h·dm·Σ 1/V.
        equalising = (
            (p_i - p_j) / ((GAMMA_AIR - 1.0) * enthalpy * inverse_volumes) if enthalpy else 0.0
        )
        return flow, enthalpy, equalising

    def _rates(
        self, links: list[_Link], masses: list[float], energies: list[float], t_s: float
    ) -> tuple[list[float], list[float]]:
        dm = [0.0] * len(masses)
        du = [0.0] * len(masses)
        for k, chamber in enumerate(self.chambers):
            tau_s = chamber.wall_time_constant_s
            if tau_s > 0.0 and masses[k] > 0.0:
                wall_k = chamber.wall_temperature_at(t_s)
                du[k] += (masses[k] * CV_AIR_J_PER_KG_K * wall_k - energies[k]) / tau_s
        for link in links:
            flow, enthalpy, _ = self._flow(link, masses, energies, t_s)
            dm[link.i] -= flow
            du[link.i] -= flow * enthalpy
            if link.j is not None:
                dm[link.j] += flow
                du[link.j] += flow * enthalpy
        for k, chamber in enumerate(self.chambers):
            if chamber.wall_time_constant_s <= 0.0:
                # Held at the wall: U = m·cv·T_wall whatever flows, the wall supplying the heat.
                wall_k = chamber.wall_temperature_at(t_s)
                du[k] = CV_AIR_J_PER_KG_K * (
                    wall_k * dm[k] + masses[k] * chamber.wall.rate_k_per_s(t_s)
                )
        return dm, du

    def _rk4(
        self,
        links: list[_Link],
        masses: list[float],
        energies: list[float],
        t_s: float,
        step_s: float,
    ) -> tuple[list[float], list[float]]:
        def shifted(base: list[float], rate: list[float], scale: float) -> list[float]:
            return [b + scale * r for b, r in zip(base, rate, strict=True)]

        half = 0.5 * step_s
        m1, u1 = self._rates(links, masses, energies, t_s)
        m2, u2 = self._rates(
            links, shifted(masses, m1, half), shifted(energies, u1, half), t_s + half
        )
        m3, u3 = self._rates(
            links, shifted(masses, m2, half), shifted(energies, u2, half), t_s + half
        )
        m4, u4 = self._rates(
            links, shifted(masses, m3, step_s), shifted(energies, u3, step_s), t_s + step_s
        )
        sixth = step_s / 6.0
        new_masses = [
            m + sixth * (a + 2.0 * b + 2.0 * c + d)
            for m, a, b, c, d in zip(masses, m1, m2, m3, m4, strict=True)
        ]
        new_energies = [
            u + sixth * (a + 2.0 * b + 2.0 * c + d)
            for u, a, b, c, d in zip(energies, u1, u2, u3, u4, strict=True)
        ]
        return new_masses, new_energies

    def _relax(
        self, masses: list[float], energies: list[float], t_s: float, step_s: float
    ) -> list[float]:
        """Sealed zones: each gas temperature relaxes to its wall, exactly: the settled
        response plus the start's difference from it, decaying as e^(−t/τ)."""
        relaxed = []
        for chamber, mass_kg, energy_j in zip(self.chambers, masses, energies, strict=True):
            tau_s = chamber.wall_time_constant_s
            if tau_s <= 0.0 or mass_kg <= 0.0:
                relaxed.append(energy_j)  # isothermal: `_hold_isothermal` sets it
                continue
            start_k = chamber.wall.settled_k(t_s, tau_s) + chamber.wall_offset_k
            end_k = chamber.wall.settled_k(t_s + step_s, tau_s) + chamber.wall_offset_k
            gas_k = energy_j / (mass_kg * CV_AIR_J_PER_KG_K)
            gas_k = end_k + (gas_k - start_k) * math.exp(-step_s / tau_s)
            relaxed.append(mass_kg * CV_AIR_J_PER_KG_K * gas_k)
        return relaxed

    def _equalise(self, links: list[_Link]) -> None:
        """Bring each fast link's two sides to one pressure; repeat for chains of them."""
        total_kg = sum(chamber.mass_kg for chamber in self.chambers) or 1.0
        for _ in range(50):
            moved_kg = 0.0
            for link in links:
                masses = [chamber.mass_kg for chamber in self.chambers]
                energies = [chamber.energy_j for chamber in self.chambers]
                _flow, enthalpy, equalising = self._flow(link, masses, energies, self.time_s)
                self._move(link, equalising, enthalpy)
                moved_kg = max(moved_kg, abs(equalising))
            if moved_kg <= 1e-13 * total_kg:
                return

    def _move(self, link: _Link, mass_kg: float, enthalpy_j_per_kg: float) -> None:
        source = self.chambers[link.i]
        source.mass_kg -= mass_kg
        source.energy_j -= mass_kg * enthalpy_j_per_kg
        if link.j is not None:
            sink = self.chambers[link.j]
            sink.mass_kg += mass_kg
            sink.energy_j += mass_kg * enthalpy_j_per_kg


def _temperature_k(mass_kg: float, energy_j: float, empty_k: float) -> float:
    """U/(m·cv); an empty zone has no gas temperature: report `empty_k` (its wall's)."""
    if mass_kg <= 0.0 or energy_j <= 0.0:
        return empty_k
    return energy_j / (mass_kg * CV_AIR_J_PER_KG_K)


def _orifice(p_i: float, t_i: float, p_j: float, t_j: float, cda_m2: float) -> tuple[float, float]:
    """ṁ from side i to side j (negative when it goes the other way) and the enthalpy
    per kg it carries, the upstream side's cp·T."""
    forward = p_i >= p_j
    upstream_pa, downstream_pa, upstream_k = (p_i, p_j, t_i) if forward else (p_j, p_i, t_j)
    flow = orifice_mass_flow_kg_per_s(
        upstream_pa=upstream_pa,
        downstream_pa=downstream_pa,
        temperature_k=upstream_k,
        area_m2=cda_m2,
        discharge_coefficient=1.0,
    )
    return (flow if forward else -flow), CP_AIR_J_PER_KG_K * upstream_k
