"""Detection metrics in plain numpy: ROC AUC, AP, EER, TPR at a fixed FPR, bootstrap CIs.

Conventions: ``labels`` are 1 for fake (the positive class) and 0 for real; ``scores`` grow
with how fake a sample looks (a probability or a logit: every metric here depends only on
the order of the scores). Ties are handled exactly: tied samples move through the ROC curve
together, so shuffling tied samples never changes a number.

Frames of one video are not independent, so confidence intervals resample whole videos
(a cluster bootstrap) when video ids are given; resampling frames would give intervals far
too narrow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

Metric = Callable[[np.ndarray, np.ndarray], float]


def _check(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
           ) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(labels).astype(np.int64).ravel()
    s = np.asarray(scores, np.float64).ravel()
    if y.shape != s.shape:
        raise ValueError(f"{len(y)} labels but {len(s)} scores")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (real) or 1 (fake)")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    return y, s


def roc_curve(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)``: one point per distinct score, from (0, 0) to (1, 1).

    Point ``i`` calls fake every sample with ``score >= thresholds[i]``; the first point has
    threshold +inf (nothing called fake). Needs both classes.
    """
    y, s = _check(labels, scores)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        raise ValueError("ROC needs both real and fake samples")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    # The last index of each run of equal scores: a threshold takes a tie group whole.
    ends = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[ends]
    fp = (ends + 1) - tp
    fpr = np.r_[0.0, fp / neg]
    tpr = np.r_[0.0, tp / pos]
    return fpr, tpr, np.r_[np.inf, s[ends]]


def roc_auc(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Area under the ROC curve: the chance that a random fake scores above a random real,
    ties counting one half (the Mann–Whitney U statistic with mid-ranks)."""
    y, s = _check(labels, scores)
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        raise ValueError("AUC needs both real and fake samples")
    order = np.argsort(s, kind="mergesort")
    sorted_s = s[order]
    ranks = np.empty(len(s), np.float64)
    # Mid-ranks: every member of a tie group gets the mean of the ranks the group spans.
    starts = np.r_[0, np.nonzero(np.diff(sorted_s))[0] + 1]
    stops = np.r_[starts[1:], len(s)]
    mid = (starts + stops + 1) / 2.0  # 1-based ranks start+1 .. stop, averaged
    ranks[order] = np.repeat(mid, stops - starts)
    u = ranks[y == 1].sum() - pos * (pos + 1) / 2.0
    return float(u / (pos * neg))


def average_precision(labels: Sequence[int] | np.ndarray,
                      scores: Sequence[float] | np.ndarray) -> float:
    """AP = Σ (R_k − R_{k−1}) · P_k over the distinct thresholds (no interpolation), the
    area under the step-wise precision–recall curve."""
    y, s = _check(labels, scores)
    if y.sum() == 0:
        raise ValueError("AP needs at least one fake sample")
    order = np.argsort(-s, kind="mergesort")
    s, y = s[order], y[order]
    ends = np.r_[np.nonzero(np.diff(s))[0], len(s) - 1]
    tp = np.cumsum(y)[ends].astype(np.float64)
    precision = tp / (ends + 1)
    recall = tp / y.sum()
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def eer(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray) -> float:
    """Equal error rate: where the false-positive rate equals the miss rate (1 − TPR),
    linearly interpolated between the two ROC points that straddle it."""
    fpr, tpr, _ = roc_curve(labels, scores)
    fnr = 1.0 - tpr
    diff = fpr - fnr  # rises from −1 to +1 along the curve
    i = int(np.nonzero(diff >= 0)[0][0])
    if diff[i] == 0 or i == 0:
        return float(fpr[i])
    t = -diff[i - 1] / (diff[i] - diff[i - 1])
    return float(fpr[i - 1] + t * (fpr[i] - fpr[i - 1]))


def tpr_at_fpr(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
               fpr: float = 0.01) -> float:
    """The highest TPR of any threshold whose FPR is at most ``fpr`` (no interpolation: a
    threshold must really exist, so small test sets are not flattered)."""
    f, t, _ = roc_curve(labels, scores)
    return float(t[f <= fpr + 1e-12].max())


def aggregate(scores: Sequence[float] | np.ndarray, groups: Sequence[Any],
              labels: Sequence[int] | np.ndarray | None = None, *, rule: str = "mean"
              ) -> tuple[list[Any], np.ndarray, np.ndarray | None]:
    """Per-group (e.g. per-video) scores: ``(group ids, scores, labels)``, groups in order
    of first appearance.

    Rules: ``mean``; ``max``; ``top_half`` (the mean of the highest half, which keeps a
    fake that shows only in part of a video from being averaged away while one odd frame
    cannot decide alone). A group's label must be the same for all its members.
    """
    s = np.asarray(scores, np.float64).ravel()
    g = list(groups)
    if len(g) != len(s):
        raise ValueError(f"{len(s)} scores but {len(g)} group ids")
    y = None if labels is None else np.asarray(labels).astype(np.int64).ravel()
    ids: dict[Any, list[int]] = {}
    for i, key in enumerate(g):
        ids.setdefault(key, []).append(i)
    out_s, out_y = [], []
    for idx in ids.values():
        v = s[idx]
        if rule == "mean":
            out_s.append(v.mean())
        elif rule == "max":
            out_s.append(v.max())
        elif rule == "top_half":
            k = max(1, (len(v) + 1) // 2)
            out_s.append(np.sort(v)[-k:].mean())
        else:
            raise ValueError(f"unknown aggregation rule {rule!r} (mean, max, top_half)")
        if y is not None:
            if len(set(y[idx].tolist())) != 1:
                raise ValueError("a group mixes real and fake labels")
            out_y.append(int(y[idx][0]))
    return list(ids), np.asarray(out_s), None if y is None else np.asarray(out_y)


def bootstrap_ci(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray,
                 metric: Metric, *, groups: Sequence[Any] | None = None, n: int = 1000,
                 level: float = 0.95, seed: int = 0) -> tuple[float, float]:
    """Percentile bootstrap interval of ``metric(labels, scores)``.

    With ``groups`` whole groups (videos) are drawn with replacement, each bringing all its
    samples. Resamples in which the metric is undefined (one class missing) are redrawn
    implicitly by being skipped; if fewer than half are usable the interval is (nan, nan).
    """
    y, s = _check(labels, scores)
    rng = np.random.default_rng(seed)
    if groups is None:
        members = [np.array([i]) for i in range(len(y))]
    else:
        keyed: dict[Any, list[int]] = {}
        for i, key in enumerate(groups):
            keyed.setdefault(key, []).append(i)
        members = [np.asarray(v) for v in keyed.values()]
    m = len(members)
    values = []
    for _ in range(n):
        pick = rng.integers(0, m, m)
        idx = np.concatenate([members[j] for j in pick])
        yy = y[idx]
        if yy.min() == yy.max():
            continue
        values.append(metric(yy, s[idx]))
    if len(values) < n / 2:
        return float("nan"), float("nan")
    lo, hi = np.quantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


METRICS: dict[str, Metric] = {
    "auc": roc_auc,
    "ap": average_precision,
    "eer": eer,
    "tpr_at_1pct_fpr": lambda y, s: tpr_at_fpr(y, s, 0.01),
}


def summarize(labels: Sequence[int] | np.ndarray, scores: Sequence[float] | np.ndarray, *,
              groups: Sequence[Any] | None = None, n_boot: int = 500, seed: int = 0
              ) -> dict[str, Any]:
    """Every metric with its 95 % bootstrap interval (by group when ``groups`` is given):
    ``{"n", "n_fake", "n_groups", "auc": value, "auc_ci": [lo, hi], ...}``. With one class
    only the metrics are None (the counts still say what was seen)."""
    y, s = _check(labels, scores)
    out: dict[str, Any] = {"n": len(y), "n_fake": int(y.sum()),
                           "n_groups": None if groups is None else len(set(groups))}
    both = 0 < y.sum() < len(y)
    for name, fn in METRICS.items():
        if not both:
            out[name], out[f"{name}_ci"] = None, None
            continue
        out[name] = round(fn(y, s), 4)
        lo, hi = bootstrap_ci(y, s, fn, groups=groups, n=n_boot, seed=seed) if n_boot else (
            float("nan"), float("nan"))
        out[f"{name}_ci"] = None if np.isnan(lo) else [round(lo, 4), round(hi, 4)]
    return out
