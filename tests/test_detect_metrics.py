"""Detection metrics against cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from twoface.metrics.detection import (
    aggregate,
    average_precision,
    bootstrap_ci,
    eer,
    roc_auc,
    roc_curve,
    summarize,
    tpr_at_fpr,
)


def test_auc_perfect_inverted_and_by_hand() -> None:
    assert roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    # Pairs (fake, real): 0.8>0.1 ✓, 0.8>0.7 ✓, 0.4>0.1 ✓, 0.4<0.7 ✗ → 3/4.
    assert roc_auc([0, 0, 1, 1], [0.1, 0.7, 0.8, 0.4]) == pytest.approx(0.75)


def test_auc_counts_ties_as_half_and_ignores_order_of_tied_samples() -> None:
    # All four scores equal: every pair is a tie → 0.5.
    assert roc_auc([0, 1, 0, 1], [0.3, 0.3, 0.3, 0.3]) == pytest.approx(0.5)
    # Fake 0.5 ties real 0.5 (½), beats real 0.2 (1); fake 0.9 beats both (2) → 3.5/4.
    y, s = [0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9]
    assert roc_auc(y, s) == pytest.approx(0.875)
    assert roc_auc(y[::-1], s[::-1]) == pytest.approx(0.875)
    # The trapezoid under roc_curve agrees (ties make a diagonal segment).
    f, t, _ = roc_curve(y, s)
    assert np.trapezoid(t, f) == pytest.approx(0.875)


def test_roc_curve_points_by_hand() -> None:
    f, t, th = roc_curve([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(f, [0, 0, 0, 0.5, 1])
    np.testing.assert_allclose(t, [0, 0.5, 1, 1, 1])
    assert th[0] == np.inf and th[1] == 0.8


def test_average_precision_by_hand() -> None:
    # Ranked: 0.8 fake (P=1, R=.5), 0.4 fake (P=1, R=1) → AP 1.
    assert average_precision([0, 1, 0, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(1.0)
    # Ranked: fake (1/1), real, fake (2/3): AP = .5·1 + .5·2/3.
    assert average_precision([1, 0, 1], [0.9, 0.5, 0.1]) == pytest.approx(0.5 + 1 / 3)
    # One tie group holding everything: precision = base rate.
    assert average_precision([1, 0, 0, 0], [1, 1, 1, 1]) == pytest.approx(0.25)


def test_eer_by_hand() -> None:
    assert eer([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 0.0
    assert eer([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 1.0
    # Points (fpr, fnr): (0,1) (0,.5) (.5,.5) … → the curves meet at 0.5.
    assert eer([0, 0, 1, 1], [0.1, 0.7, 0.8, 0.4]) == pytest.approx(0.5)


def test_tpr_at_fpr_uses_only_real_thresholds() -> None:
    y = [0] * 100 + [1] * 10
    s = list(np.linspace(0, 0.5, 100)) + [0.49] * 5 + [0.9] * 5
    # FPR ≤ 1 %: threshold 0.5 (the top real) is FPR 1 %, TPR .5; 0.49 brings two reals.
    assert tpr_at_fpr(y, s, 0.01) == pytest.approx(0.5)
    assert tpr_at_fpr(y, s, 0.05) == pytest.approx(1.0)


def test_aggregate_rules() -> None:
    ids, s, y = aggregate([0.1, 0.9, 0.5, 0.2, 0.4], ["a", "a", "a", "b", "b"],
                          [1, 1, 1, 0, 0], rule="top_half")
    assert ids == ["a", "b"]
    np.testing.assert_allclose(s, [(0.9 + 0.5) / 2, 0.4])
    np.testing.assert_array_equal(y, [1, 0])
    _, s, _ = aggregate([0.1, 0.9, 0.5], ["a", "a", "a"], rule="max")
    assert s[0] == 0.9
    with pytest.raises(ValueError, match="mixes"):
        aggregate([0.1, 0.2], ["a", "a"], [0, 1])


def test_bootstrap_by_video_is_wider_than_by_frame() -> None:
    rng = np.random.default_rng(0)
    # 10 videos per class, 30 frames each; frames of a video share a video-level offset,
    # so frames are far from independent.
    offsets = rng.normal(0, 1, 20)
    y = np.repeat([0] * 10 + [1] * 10, 30)
    vid = np.repeat(np.arange(20), 30)
    s = offsets[vid] + 0.8 * y + rng.normal(0, 0.2, len(y))
    lo_f, hi_f = bootstrap_ci(y, s, roc_auc, n=200)
    lo_v, hi_v = bootstrap_ci(y, s, roc_auc, groups=vid, n=200)
    assert lo_v <= roc_auc(y, s) <= hi_v
    assert hi_v - lo_v > 2 * (hi_f - lo_f)


def test_summarize_and_input_checks() -> None:
    out = summarize([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9], n_boot=50)
    assert out["auc"] == 1.0 and out["eer"] == 0.0 and out["n_fake"] == 2
    assert summarize([1, 1], [0.1, 0.2], n_boot=0)["auc"] is None
    with pytest.raises(ValueError):
        roc_auc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError):
        roc_auc([1, 1], [0.1, 0.2])
    with pytest.raises(ValueError):
        roc_auc([0, 1], [0.1, float("nan")])
