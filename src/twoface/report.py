"""JSON and a short HTML page for metric results."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from twoface.fileio import atomic_write_json, atomic_write_text

LABELS = {
    "identity_retrieval": "identity retrieval (nearest of the gallery is the target)",
    "closer_to_target_than_source": "closer to target than to source",
    "dist_target": "embedding distance to target (same person < 0.6)",
    "dist_source": "embedding distance to source",
    "cos_target": "cosine similarity to target",
    "yaw_err_deg": "yaw error (°)", "pitch_err_deg": "pitch error (°)",
    "roll_err_deg": "roll error (°)",
    "expression_err_iod": "expression error (× inter-ocular distance)",
    "bg_psnr_db": "background PSNR outside the face (dB)",
    "flicker_swapped": "flicker in the face, swapped (mean |Δ| per frame, 0–255)",
    "flicker_source": "flicker in the face, source",
    "flicker_ratio": "flicker ratio swapped / source",
    "faces_found": "swapped face still found by the detector (share of frames where the "
                   "source face is)",
    "frames_found_checked": "frames checked for a face",
    "pose_err_deg": "pose error (mean of yaw, pitch, roll; °)",
    "sharpness_ratio": "sharpness ratio inside the face, swapped / source (1 = as sharp)",
    "source_shut_frames": "frames where the source's eyes are shut (blinks)",
    "blinks_kept": "of those, swapped eyes shut too (blinks kept)",
    "blinks_added": "swapped eyes shut where the source's are open",
    "gallery_identities": "gallery identities (target, source, synthetic, distractors, real)",
    "gallery_real": "real people in the gallery",
    "verdict": "verdict",
}


def png_data_uri(image: np.ndarray, width: int = 480) -> str:
    """An RGB image as an inline PNG, scaled to ``width`` px."""
    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
    _ok, buf = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return "data:image/png;base64," + base64.b64encode(buf.tobytes()).decode("ascii")


def summary_table(summary: dict[str, Any]) -> str:
    rows = "".join(
        f"<tr><td>{html.escape(LABELS.get(k, k))}</td><td>"
        f"{v:.4g}</td></tr>" if isinstance(v, float) else
        f"<tr><td>{html.escape(LABELS.get(k, k))}</td><td>{v}</td></tr>"
        for k, v in summary.items())
    return f"<table>{rows}</table>"


def write_swap_report(result: dict[str, Any], folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    doc = {k: v for k, v in result.items() if k != "examples"}
    atomic_write_json(folder / "metrics.json", _finite(doc))
    shots = "".join(
        f"<figure><img src='{png_data_uri(np.hstack([src, sw]))}'>"
        f"<figcaption>frame {i}: source | swapped</figcaption></figure>"
        for i, src, sw in result["examples"])
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>twoface swap metrics</title><style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 960px; margin: 2em auto; }}
td {{ border: 1px solid #ccc; padding: .2em .6em; }} table {{ border-collapse: collapse; }}
</style></head><body><h1>Swap metrics</h1>
<p>swapped {html.escape(result['swapped'])}<br>source {html.escape(result['source'])}<br>
target {html.escape(result['target'])}<br>gallery: {html.escape(', '.join(result['identities']))}
</p>{_verdict_html(result)}{summary_table(result['summary'])}<h2>Examples</h2>{shots}
</body></html>
"""
    atomic_write_text(folder / "report.html", page)
    return folder / "report.html"


def _verdict_html(result: dict[str, Any]) -> str:
    """The swap's verdict, why, the rules it was judged by, and who was left out of the
    gallery (empty for results without a verdict)."""
    verdict = result["summary"].get("verdict")
    if verdict is None:
        return ""
    colour = {"convincing": "#1a7f37", "failed": "#b42318"}.get(verdict, "#9a6700")
    why = "; ".join(result.get("verdict_reasons", []))
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in result.get("gallery_notes", []))
    return (f"<p style='font-size:1.3em;color:{colour}'><b>{html.escape(verdict)}</b>"
            f"{' — ' + html.escape(why) if why else ''}</p>"
            f"<p><small>Rules: {html.escape(result.get('rules_text', ''))}</small></p>"
            + (f"<details><summary>gallery notes</summary><ul>{notes}</ul></details>"
               if notes else ""))


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
