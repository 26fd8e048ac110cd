"""Resampling traces: the periodic pattern that enlarging a picture leaves in its pixels.

Interpolation makes some output pixels near-exact averages of their neighbours and others
copies of an input pixel, with a period set by the scale (Popescu & Farid 2005; Kirchner
2008 measured it as the spectrum of the second-derivative magnitude). Scaling by ``u``
(1 < u < 2) puts a peak at ``1 - 1/u`` cycles per pixel in the column profile of
``|∂²/∂x²|`` and, for a uniform resize, at the same frequency in the row profile. A crop
that is resized back to the frame size (the common "zoom in" edit) is the case here.

Codecs leave peaks of their own on the 8- and 16-pixel block grid; those frequencies are
left out. Averaging the profile over many frames lets the content cancel out while a
fixed resampling grid adds up, which is why a video shows the trace far more clearly than
one frame does.
"""

from __future__ import annotations

import numpy as np

from twoface.forensics._finding import Finding

# Lowest frequency searched (cycles/px): below it the content's own slow variations rule.
_F_MIN = 0.04
# A peak counts when it stands this many times above the spectrum's median...
_PEAK = 8.0
# ...and both directions name the same scale within this many frequency bins' worth.
_AGREE = 0.012
# Highest confidence a video's trace gets. Measured (``bench/resample_trace.py``): an 80 %
# crop's peak survives x264 at CRF 18 (21 of 31 real clips) but not at CRF 28 (4 of 31),
# while clips that were only downscaled on the way (as most shared video is) show peaks as
# strong (7 of 62), so in video the trace is a hint for the reader, not evidence on its own.
# Stills keep their own, higher bar.
_VIDEO_MAX_CONF = 0.45


def second_derivative_profiles(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``|∂²|`` per column and per row of a grey image (float32 arrays)."""
    g = grey.astype(np.float32)
    dx = np.abs(g[:, 2:] - 2 * g[:, 1:-1] + g[:, :-2])
    dy = np.abs(g[2:, :] - 2 * g[1:-1, :] + g[:-2, :])
    return dx.mean(axis=0), dy.mean(axis=1)


def spectrum_peak(profile: np.ndarray) -> tuple[float, float]:
    """(frequency, strength) of the strongest periodic peak of ``profile`` away from the
    codec block grid; strength is the peak over the median of the searched spectrum."""
    n = profile.size
    if n < 32:
        return 0.0, 0.0
    # Slow changes of detail across the picture (a face in the middle) are not periodic.
    kernel = np.ones(9) / 9
    p = profile - np.convolve(profile, kernel, mode="same")
    p = p[4:-4] * np.hanning(n - 8)
    spec = np.abs(np.fft.rfft(p))
    freqs = np.fft.rfftfreq(p.size)
    bin_w = 1.0 / p.size
    grid = np.abs(freqs[:, None] - np.arange(0, 9)[None, :] / 16).min(axis=1)
    allowed = (freqs >= _F_MIN) & (freqs <= 0.49) & (grid > 1.5 * bin_w + 0.002)
    if allowed.sum() < 8:
        return 0.0, 0.0
    spec_a = spec[allowed]
    j = int(np.argmax(spec_a))
    return float(freqs[allowed][j]), float(spec_a[j] / (np.median(spec_a) + 1e-9))


def resampling_findings(cols: np.ndarray, rows: np.ndarray, start: float, end: float,
                        *, frames: int) -> list[Finding]:
    """A ``crop`` finding when both profiles show the same enlargement peak."""
    fx, sx = spectrum_peak(cols)
    fy, sy = spectrum_peak(rows)
    if min(sx, sy) < _PEAK / 2 or max(sx, sy) < _PEAK:
        return []
    agree = abs(fx - fy) <= _AGREE
    if not agree:
        return []
    f = (fx + fy) / 2
    scale = 1 / (1 - f)
    strength = min(sx, sy)
    conf = min(_VIDEO_MAX_CONF, 0.3 + 0.02 * (strength - _PEAK / 2))
    return [Finding("crop", start, end, conf, {
        "method": "resampling trace: periodic peak in the second-derivative spectrum",
        "peak_cycles_per_px": {"columns": round(fx, 4), "rows": round(fy, 4)},
        "peak_strength": {"columns": round(sx, 1), "rows": round(sy, 1)},
        "enlarged_by": round(scale, 3), "kept_share_if_cropped": round(1 / scale, 3),
        "frames_averaged": frames,
        "note": "a periodic resampling trace: an enlargement (a crop resized back to the "
                "frame size, or an upscale by 1/(1-f)) or a downscale on the way; kept "
                "below 0.5 because compressed video shows both alike"})]
