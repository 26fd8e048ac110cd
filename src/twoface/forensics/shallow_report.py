"""One self-contained HTML page for a ``twoface inspect`` report.

What a reviewer needs at a glance: where in the clip each finding sits (a timeline, one lane
per kind: red = a confident edit finding, slate = a weak one, grey = context), the motion
curve the timing checks read, a still at the start of each confident finding, and the
evidence behind every call. Traits of the source
(a frame-rate conversion, black bars) are context: grey, in their own table, never red.
"""

from __future__ import annotations

import contextlib
import html
import json
from pathlib import Path

import cv2
import numpy as np

from twoface.errors import TwofaceError
from twoface.fileio import atomic_write_text
from twoface.forensics.shallow import Report

_W, _LANE, _PAD = 860, 22, 110  # svg width, lane height, left margin for labels


def _x(t: float, duration: float) -> float:
    return _PAD + (_W - _PAD - 10) * (t / duration if duration > 0 else 0.0)


def timeline_svg(report: Report) -> str:
    """Findings as bars on a time axis, one lane per kind, plus the motion curve below."""
    duration = max(report.duration, 1e-6)
    kinds = sorted({f.kind for f in report.findings})
    curve_h = 70
    height = 30 + _LANE * len(kinds) + curve_h + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" '
             'font-family="sans-serif" font-size="12">']
    for k, kind in enumerate(kinds):
        y = 20 + k * _LANE
        parts.append(f'<text x="4" y="{y + 14}">{kind}</text>')
        parts.append(f'<line x1="{_PAD}" x2="{_W - 10}" y1="{y + 10}" y2="{y + 10}" '
                     'stroke="#ddd"/>')
        for f in (f for f in report.findings if f.kind == kind):
            x0 = _x(f.start, duration)
            w = max(3.0, _x(f.end, duration) - x0)
            tip = html.escape(f"{f.kind} {f.start:.2f}-{f.end:.2f} s, confidence "
                              f"{f.confidence:.2f}")
            # Red is kept for confident edit findings; weak ones are a neutral slate, and
            # context a light grey whatever its confidence.
            if f.is_context:
                fill, opacity = "#bdc3c7", 0.5
            elif f.confidence >= 0.5:
                fill, opacity = "#c0392b", 0.15 + 0.85 * f.confidence
            else:
                fill, opacity = "#5d6d7e", 0.2 + 0.6 * f.confidence
            parts.append(f'<rect x="{x0:.1f}" y="{y + 3}" width="{w:.1f}" height="14" '
                         f'fill="{fill}" fill-opacity="{opacity:.2f}">'
                         f'<title>{tip}</title></rect>')
    top = 30 + _LANE * len(kinds)
    t, m = report.curves.get("time"), report.curves.get("motion")
    if t is not None and m is not None and len(t) > 1:
        peak = float(np.percentile(m, 99)) or 1.0
        pts = " ".join(
            f"{_x(float(a), duration):.1f},{top + curve_h * (1 - min(1.0, b / peak)):.1f}"
            for a, b in zip(t, m, strict=True))
        parts.append(f'<text x="4" y="{top + curve_h / 2}">motion</text>')
        parts.append(f'<polyline points="{pts}" fill="none" stroke="#2c3e50" '
                     'stroke-width="1"/>')
    for s in np.linspace(0, duration, 6):
        parts.append(f'<text x="{_x(float(s), duration) - 10:.1f}" y="{height - 4}">'
                     f'{s:.1f} s</text>')
    parts.append("</svg>")
    return "".join(parts)


def write_html(report: Report, folder: str | Path, *, min_confidence: float = 0.0,
               stills: int = 6) -> Path:
    """``folder/report.html``: timeline, stills at the most confident findings, evidence."""
    from twoface.media import read_frame, read_image
    from twoface.report import png_data_uri

    folder = Path(folder)
    shown = [f for f in report.edits if f.confidence >= min_confidence]
    context = [f for f in report.context if f.confidence >= min_confidence]
    figures = []
    for f in [f for f in shown if f.confidence >= 0.5][:stills]:
        if report.media == "image":
            break  # the picture itself is the still
        try:
            image = read_frame(report.file, f.start).image
        except (OSError, ValueError, TwofaceError):  # a still is a nicety, not needed
            continue
        if f.kind == "overlay":  # outline what was found added on top
            image = image.copy()
            thick = max(2, image.shape[1] // 200)
            for x, y, w, h in f.evidence.get("regions_px", []):
                cv2.rectangle(image, (x, y), (x + w, y + h), (255, 40, 40), thick)
        figures.append(f'<figure><img src="{png_data_uri(image, 280)}"><figcaption>'
                       f'{html.escape(f.kind)} at {f.start:.2f} s</figcaption></figure>')
    if report.media == "image":
        with contextlib.suppress(OSError, ValueError, TwofaceError):
            figures.append(f'<figure><img src="{png_data_uri(read_image(report.file), 280)}">'
                           '<figcaption>the image</figcaption></figure>')

    def rows(items: list, strong_class: bool) -> str:
        return "".join(
            f"<tr{' class=strong' if strong_class and f.confidence >= 0.5 else ''}>"
            f"<td>{html.escape(f.kind)}</td><td>{f.start:.2f}–{f.end:.2f} s</td>"
            f"<td>{f.confidence:.2f}</td><td><code>"
            f"{html.escape(json.dumps(f.evidence, ensure_ascii=False))}</code></td></tr>"
            for f in items)

    head = "<tr><th>kind</th><th>when</th><th>confidence</th><th>evidence</th></tr>"
    strong = sum(f.confidence >= 0.5 for f in report.edits)
    name = html.escape(Path(report.file).name)
    if report.media == "image":
        summary = "A still image: no time axis, so only the checks for stills ran."
        timeline = ""
    else:
        summary = f"{report.frames} frames, {report.duration:.2f} s."
        timeline = f"<h2>Timeline</h2>{timeline_svg(report)}"
    checks = "".join(f"<li>{html.escape(c)}</li>" for c in report.checks)
    compared = (" (and which video the clip was compared with)"
                if any(f.kind == "source_match" for f in context) else "")
    context_html = (f"<h2>Context: traits of the source</h2><p>How the source was made, not "
                    f"something done to it{compared}: listed so the findings above can be "
                    f"weighed, never counted as edits.</p><table class=context>{head}"
                    f"{rows(context, False)}</table>" if context else "")
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>twoface inspect: {name}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 900px; margin: 2em auto; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ border: 1px solid #ccc;
padding: .25em .5em; text-align: left; vertical-align: top; }} code {{ font-size: 12px; }}
tr.strong td {{ background: #fdecea; }} figure {{ display: inline-block; margin: .3em; }}
table.context td {{ background: #f4f6f6; color: #444; }}
figcaption {{ font-size: 12px; color: #555; }}
</style></head><body>
<h1>Edit traces in {name}</h1>
<p>{summary} {len(report.edits)} finding(s), {strong} with confidence ≥ 0.5;
{len(report.context)} trait(s) of the source. Findings are evidence for a human to weigh,
not a verdict.</p>
{timeline}
<h2>Stills</h2>{"".join(figures) or "<p>none</p>"}
<h2>Findings</h2>{"<table>" + head + rows(shown, True) + "</table>" if shown else "<p>none</p>"}
{context_html}
<h2>What was checked</h2><ul>{checks}</ul>
<p><small>Made by <code>twoface inspect</code>. Kinds and checks are described in the
README (Forensics: shallowfake edit traces).</small></p>
</body></html>
"""
    path = folder / "report.html"
    atomic_write_text(path, page)
    return path
