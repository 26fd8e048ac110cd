"""The shallowfake checks a still image allows: metadata, JPEG re-compression, enlargement.

A still has no time axis, so speed, cuts and frozen frames do not apply; what remains is
what the file says about itself (EXIF software and dates), how it was compressed (the JPEG
quantisation tables give the last quality; a second compression at another quality leaves
periodic gaps in the DCT coefficient histograms, Popescu & Farid's "double quantisation"),
and whether it was enlarged (:mod:`twoface.forensics._resample`). Part of
:mod:`twoface.forensics.shallow`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from twoface.forensics._finding import Finding
from twoface.forensics._resample import second_derivative_profiles, spectrum_peak

IMAGE_CHECKS = ("metadata (EXIF software and dates)", "JPEG quality from its quantisation "
                "tables", "JPEG double compression (periodic DCT coefficient histograms)",
                "enlargement (resampling traces)",
                "not applicable to stills: speed, cuts, frozen frames")

# The JPEG standard's example luminance table (Annex K), natural order: IJG qualities
# scale it, so its ratio to a file's table gives the quality the file was saved at.
_STD_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=float)
# Low-frequency DCT positions whose histograms are read: they hold enough non-zero values.
_POSITIONS = ((0, 1), (1, 0), (1, 1), (0, 2), (2, 0), (1, 2), (2, 1))
# Editors that write their name into EXIF "Software".
_EDITORS = ("photoshop", "gimp", "lightroom", "snapseed", "picsart", "facetune", "canva",
            "pixelmator", "affinity", "paint.net", "faceapp", "meitu")
# Periodicity (peak of the residual histogram spectrum over its median) that counts.
_DQ_PERIODIC = 6.0
# Peak strength (see _resample) a single picture must reach: one frame is noisier than a
# clip's average, so the bar is higher than for video.
_STILL_PEAK = 10.0


def jpeg_quality(table: np.ndarray) -> float:
    """The IJG quality (1-100) whose scaled standard table is closest to ``table``."""
    scale = 100.0 * float(table.sum()) / float(_STD_LUMA.sum())
    return float(np.clip((200 - scale) / 2 if scale <= 100 else 5000 / scale, 1, 100))


def _block_dct(y: np.ndarray) -> np.ndarray:
    """DCT-II of every aligned 8×8 block of ``y`` (H×W float): (blocks, 8, 8)."""
    h, w = (y.shape[0] // 8) * 8, (y.shape[1] // 8) * 8
    b = y[:h, :w].reshape(h // 8, 8, w // 8, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    k = np.arange(8)
    c = np.sqrt(2 / 8) * np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / 16)
    c[0] /= np.sqrt(2)
    return np.einsum("ui,bij,vj->buv", c, b - 128.0, c)


def double_quantisation(y: np.ndarray, table: np.ndarray) -> tuple[float, list[int]]:
    """How periodic the histograms of quantised DCT values are (max over positions), and
    the positions (index into _POSITIONS) that pass. A single compression leaves smooth,
    decaying histograms; two at different qualities leave every n-th bin over- or
    under-filled."""
    coef = _block_dct(y)
    q = table.reshape(8, 8)
    best, passing = 0.0, []
    for i, (u, v) in enumerate(_POSITIONS):
        k = np.abs(np.round(coef[:, u, v] / q[u, v])).astype(int)
        hist = np.bincount(k, minlength=32)[1:32].astype(float)
        if hist.sum() < 500 or (hist > 0).sum() < 12:
            continue
        used = hist[: max(12, int(np.flatnonzero(hist >= 5).max(initial=11)) + 1)]
        x = np.log(used + 1)
        trend = np.polyval(np.polyfit(np.arange(x.size), x, 2), np.arange(x.size))
        spec = np.abs(np.fft.rfft(x - trend))[1:]
        score = float(spec.max() / (np.median(spec) + 1e-6))
        best = max(best, score)
        if score >= _DQ_PERIODIC:
            passing.append(i)
    return best, passing


def image_findings(path: Path) -> list[Finding]:
    """Every still check on ``path``. Raises MediaError for a missing or broken image."""
    import cv2
    from PIL import Image

    from twoface.media import read_image

    rgb = read_image(path)  # validates (size, truncation) and names the file on failure
    with Image.open(path) as img:
        fmt = img.format or ""
        exif = img.getexif()
        tables = getattr(img, "quantization", None) or {}
        exif_ifd = exif.get_ifd(0x8769) if exif else {}
    out: list[Finding] = []
    software = str(exif.get(0x0131, "")).strip() if exif else ""
    if software:
        editor = any(e in software.lower() for e in _EDITORS)
        out.append(Finding("metadata", 0.0, 0.0, 0.55 if editor else 0.3, {
            "problem": "written by editing software" if editor else "software tag",
            "software": software}))
    changed, taken = (exif.get(0x0132) if exif else None), exif_ifd.get(0x9003)
    if changed and taken and str(changed) != str(taken):
        out.append(Finding("metadata", 0.0, 0.0, 0.5, {
            "problem": "modified after it was taken", "DateTime": str(changed),
            "DateTimeOriginal": str(taken)}))
    if not exif:
        out.append(Finding("metadata", 0.0, 0.0, 0.1, {
            "problem": "no EXIF (common: sharing sites strip it)"}))
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    if fmt == "JPEG" and 0 in tables:
        table = np.asarray(tables[0], dtype=float)
        quality = jpeg_quality(table)
        # The decoder's luma is what the encoder quantised (same BT.601 weights).
        score, passing = double_quantisation(grey.astype(float), table)
        ev = {"jpeg_quality_estimate": round(quality), "periodicity": round(score, 1)}
        if len(passing) >= 2:
            conf = min(0.9, 0.5 + 0.03 * (score - _DQ_PERIODIC))
            out.append(Finding("reencode", 0.0, 0.0, conf, ev | {
                "method": "double quantisation: periodic DCT histograms",
                "positions": [list(_POSITIONS[i]) for i in passing]}))
        else:
            out.append(Finding("reencode", 0.0, 0.0, 0.2, ev | {
                "method": "one JPEG compression seen (no double-quantisation pattern)"}))
    cols, rows = second_derivative_profiles(grey)
    fx, sx = spectrum_peak(cols)
    fy, sy = spectrum_peak(rows)
    if min(sx, sy) >= _STILL_PEAK / 2 and max(sx, sy) >= _STILL_PEAK and abs(fx - fy) < 0.012:
        f = (fx + fy) / 2
        conf = min(0.9, 0.5 + 0.02 * (min(sx, sy) - _STILL_PEAK / 2))
        out.append(Finding("crop", 0.0, 0.0, conf, {
            "method": "resampling trace: periodic peak in the second-derivative spectrum",
            "peak_cycles_per_px": [round(fx, 4), round(fy, 4)],
            "peak_strength": [round(sx, 1), round(sy, 1)], "enlarged_by": round(1 / (1 - f), 3)}))
    return out
