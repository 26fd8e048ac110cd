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
</p>{summary_table(result['summary'])}<h2>Examples</h2>{shots}</body></html>
"""
    atomic_write_text(folder / "report.html", page)
    return folder / "report.html"


def _finite(obj: Any) -> Any:
    """JSON has no NaN/inf: write them as null."""
    if isinstance(obj, float):
        return obj if np.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj
