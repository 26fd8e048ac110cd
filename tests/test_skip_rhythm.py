"""The skip rhythm on the squared frame difference (the speed-up half of re-timing)."""

from __future__ import annotations

import numpy as np
import pytest

from twoface.forensics._rhythm import skip_rhythm


def _motion(n: int, seed: int) -> np.ndarray:
    """A talking head's squared difference per step: a slowly wandering level with noise."""
    rng = np.random.default_rng(seed)
    level = np.exp(np.convolve(rng.normal(0, 1.0, n + 20), np.ones(20) / 20, "valid")[:n])
    return 3.0 * level * np.exp(rng.normal(0, 0.5, n))


@pytest.mark.parametrize("speed", [1.25, 4 / 3, 1.5])
def test_skips_in_a_rhythm_are_found_and_measured(speed):
    n = 150
    sq = _motion(n, 1)
    k = np.arange(n)
    skips = (np.floor((k + 1) * speed + 0.3) - np.floor(k * speed + 0.3)) >= 2
    # A skipped frame's motion doubles: its squared difference grows x4 for small motion,
    # less for large (x3 here); 1.5x alternates, which a 0.5x dip rhythm also fits.
    sq[skips] *= 3.0
    r = skip_rhythm(sq, np.zeros(n, dtype=bool), dips=True)
    assert r is not None
    assert r.factor == pytest.approx(speed, abs=0.02)
    assert r.low - 0.01 <= speed <= r.high + 0.01


@pytest.mark.parametrize("seed", range(5))
def test_untouched_motion_has_no_rhythm(seed):
    assert skip_rhythm(_motion(150, 10 + seed), np.zeros(150, dtype=bool), dips=True) is None
