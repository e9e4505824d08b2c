"""The online noise estimate: what it keeps out, and how far a sensor's own data
lower the prior (issue 12 §2)."""

from __future__ import annotations

import math
import random

from hullwatch.daemon.detection.noise_estimate import NoiseEstimate
from hullwatch.daemon.detection.noise_prior import DEFAULT_NOISE_PRIOR

RATE_HZ = 25.0
WHITE_PA = 1.0


def _feed(
    estimate: NoiseEstimate,
    duration_s: float,
    *,
    seed: int,
    diffusion_pa2_per_s: float = 0.0,
    leaks: tuple[tuple[float, float], ...] = (),
    fall_pa_per_s: float = 0.0,
) -> None:
    """White noise (and a random walk); each leak (start_s, stop_s) is a steady fall,
    the zone raised from 10 s after it began to 20 s after it stopped."""
    rng = random.Random(seed)
    walk = 0.0
    step_sd = math.sqrt(diffusion_pa2_per_s / RATE_HZ)
    for k in range(int(duration_s * RATE_HZ)):
        t = k / RATE_HZ
        walk += rng.gauss(0.0, step_sd) if step_sd else 0.0
        lost_pa = sum(fall_pa_per_s * min(max(0.0, t - a), b - a) for a, b in leaks)
        raised = any(a + 10.0 <= t < b + 20.0 for a, b in leaks)
        value = 101_325.0 + walk + rng.gauss(0.0, WHITE_PA) - lost_pa
        estimate.add(t, value, learning=not raised)


def test_a_white_sensor_refutes_the_priors_random_walk_for_windows_its_data_do_not_reach() -> None:
    """20 minutes of white noise: the 120 s window is beyond the data's reach, yet
    its slow part falls far below the prior's, because the short octaves leave
    no room for a random walk of the prior's size."""
    estimate = NoiseEstimate(prior=DEFAULT_NOISE_PRIOR, max_scale_s=1200.0)
    _feed(estimate, 1200.0, seed=1)
    t_s = 1200.0
    prior_part = DEFAULT_NOISE_PRIOR.correlated_slope_variance(600.0)
    learned = estimate.correlated_slope_variance(t_s, 600.0)
    assert learned < prior_part / 100.0


def test_a_random_walk_sensor_keeps_the_prior_where_its_data_do_not_reach() -> None:
    """The same length of a sensor with the prior's random walk: its short octaves
    already rise, so nothing refutes the prior for a long window."""
    estimate = NoiseEstimate(prior=DEFAULT_NOISE_PRIOR, max_scale_s=1200.0)
    _feed(estimate, 1200.0, seed=2, diffusion_pa2_per_s=DEFAULT_NOISE_PRIOR.diffusion_pa2_per_s)
    prior_part = DEFAULT_NOISE_PRIOR.correlated_slope_variance(600.0)
    assert estimate.correlated_slope_variance(1200.0, 600.0) >= 0.5 * prior_part


# Four holes of 5 Pa/s for 90 s, 15 minutes apart (the soak's pattern).
LEAKS = tuple((600.0 + 900.0 * k, 690.0 + 900.0 * k) for k in range(4))


def _learned(estimate: NoiseEstimate, window_s: float) -> float:
    """What the fitted model itself says of a window's slow part (the prior's floor,
    which fewer terms loosen, left aside)."""
    model = estimate.model(3900.0)
    assert model is not None
    return model.correlated_slope_variance(window_s)


def _after_leaks(onset_lookback_s: float) -> tuple[NoiseEstimate, NoiseEstimate]:
    quiet = NoiseEstimate(
        prior=DEFAULT_NOISE_PRIOR, max_scale_s=600.0, onset_lookback_s=onset_lookback_s
    )
    _feed(quiet, 3900.0, seed=3)
    leaky = NoiseEstimate(
        prior=DEFAULT_NOISE_PRIOR, max_scale_s=600.0, onset_lookback_s=onset_lookback_s
    )
    _feed(leaky, 3900.0, seed=3, leaks=LEAKS, fall_pa_per_s=5.0)
    return quiet, leaky


def test_leaks_that_raised_the_zone_are_not_learned_as_noise_after_the_release() -> None:
    """Each leak is raised 10 s after it began and released 20 s after it
    stopped: the octaves that close after the release still hold its kinks, and
    must not learn them (the soak's small holes went unseen after the first
    large one when they did)."""
    quiet, leaky = _after_leaks(onset_lookback_s=60.0)
    for window_s in (30.0, 60.0, 120.0):
        assert _learned(leaky, window_s) <= 1.5 * _learned(quiet, window_s) + 1e-9


def test_without_the_lookback_the_leaks_onsets_are_learned() -> None:
    """The same leaks, no lookback: the 10 s before each raise teach the estimate
    a slow noise that is not there (what the lookback is for)."""
    quiet, leaky = _after_leaks(onset_lookback_s=0.0)
    assert _learned(leaky, 60.0) > 10.0 * (_learned(quiet, 60.0) + 1e-9)
