"""Span edges of a re-timing fitted together with the source's conversion cadence."""

from __future__ import annotations

import numpy as np
import pytest

from twoface.forensics._cadence import edit_edges


def _converted_edit(s: float, c: float, a: int, b: int, n: int = 360, seed: int = 0
                    ) -> np.ndarray:
    """Mean squared frame differences of a clip converted to share ``c`` of unique frames,
    its intervals ``a..b-1`` then re-timed by ``s`` (the rest shown as it was)."""
    k = np.arange(n + 1, dtype=float)
    shown = np.where(k < a, k, np.floor(a + s * (np.minimum(k, b) - a) + 0.3)
                     + np.maximum(k - b, 0))
    step = np.diff(np.floor(c * shown + 0.1))
    speed = 1.0 + 0.5 * np.sin(np.arange(n) / 7.0)
    rng = np.random.default_rng(seed)
    return (step * speed) ** 2 * rng.lognormal(0, 0.3, n) + 0.02


@pytest.mark.parametrize(("speed", "share"), [(0.75, 5 / 6), (1.25, 5 / 6), (1.1, 0.8)])
def test_partial_edit_edges_found_inside_overshooting_windows(speed, share):
    sq = _converted_edit(speed, share, 120, 240)
    first, last = edit_edges(sq, speed, share, 80, 280)  # windows overshoot by 40 each side
    assert abs(first - 120) <= 8 and abs(last - 240) <= 8, (first, last)


def test_edges_of_an_edit_that_fills_its_windows_stay():
    sq = _converted_edit(1.25, 5 / 6, 0, 360)
    assert edit_edges(sq, 1.25, 5 / 6, 1, 360) == (1, 360)
