"""``twoface detect``'s report: ``report.json`` and one self-contained ``report.html``.

The HTML page needs nothing but itself: the score timelines are inline SVG and the face crops
and heat maps are inline PNGs, so it can be mailed or archived as one file.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from twoface.fileio import atomic_write_json, atomic_write_text

COLOURS = {"fake": "#c0392b", "real": "#27ae60", "uncertain": "#d68910", "no-face": "#7f8c8d"}


def public(report: dict[str, Any]) -> dict[str, Any]:
    """The report without pixel arrays (what ``--json`` prints and report.json holds)."""
    out = {k: v for k, v in report.items() if k != "top_faces"}
    out["top_faces"] = [{k: v for k, v in f.items() if k not in ("crop", "heat")}
                        | {"heat_max": round(float(np.max(f["heat"])), 3)}
                        for f in report.get("top_faces", [])]
    return out


def heat_overlay(crop: np.ndarray, heat: np.ndarray) -> np.ndarray:
    """The crop with the positive part of ``heat`` laid over it in a jet colour map."""
    import cv2

    h, w = crop.shape[:2]
    pos = np.clip(heat, 0, None)
    norm = pos / pos.max() if pos.max() > 0 else pos
    big = cv2.resize(norm.astype(np.float32), (w, h), interpolation=cv2.INTER_CUBIC)
    colour = cv2.applyColorMap(np.clip(big * 255, 0, 255).astype(np.uint8), cv2.COLORMAP_JET)
    colour = cv2.cvtColor(colour, cv2.COLOR_BGR2RGB).astype(np.float32)
    alpha = 0.55 * np.clip(big, 0, 1)[:, :, None]
    return np.clip(crop * (1 - alpha) + colour * alpha, 0, 255).astype(np.uint8)


def timeline_svg(track: dict[str, Any], duration: float, thresholds: tuple[float, float],
                 width: int = 640, height: int = 140) -> str:
    """An inline SVG: p(fake) against time for one track, with the verdict thresholds."""
    pad = 30
    span = max(duration, 1e-6)

    def xy(t: float, p: float) -> tuple[float, float]:
        return (pad + (width - 2 * pad) * t / span, height - pad - (height - 2 * pad) * p)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="score timeline of track {track["track"]}">',
             f'<rect x="{pad}" y="{pad}" width="{width - 2 * pad}" height="{height - 2 * pad}"'
             ' fill="#fafafa" stroke="#ccc"/>']
    for p, colour in ((thresholds[1], COLOURS["fake"]), (thresholds[0], COLOURS["real"])):
        _, y = xy(0, p)
        parts.append(f'<line x1="{pad}" x2="{width - pad}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="{colour}" stroke-dasharray="4 3"/>')
        parts.append(f'<text x="{width - pad + 3}" y="{y + 4:.1f}" font-size="10">{p:g}</text>')
    pts = [xy(e["time"], e["p"]) for e in track["timeline"]]
    if len(pts) > 1:
        parts.append('<polyline fill="none" stroke="#2c3e50" stroke-width="1.5" points="'
                     + " ".join(f"{x:.1f},{y:.1f}" for x, y in pts) + '"/>')
    for (x, y), e in zip(pts, track["timeline"], strict=True):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#2c3e50">'
                     f'<title>frame {e["frame"]}, {e["time"]:.2f} s: p={e["p"]:.3f}</title>'
                     "</circle>")
    parts.append(f'<text x="{pad}" y="{height - 8}" font-size="10">0 s</text>'
                 f'<text x="{width - pad - 30}" y="{height - 8}" font-size="10">'
                 f'{duration:.1f} s</text><text x="2" y="{pad + 4}" font-size="10">1</text>'
                 f'<text x="2" y="{height - pad + 4}" font-size="10">0</text></svg>')
    return "".join(parts)


def render_html(report: dict[str, Any]) -> str:
    from twoface.report import png_data_uri

    e = html.escape
    verdict = report["verdict"] or "?"
    p = report["probability_fake"]
    ptxt = "n/a" if p is None else f"{p:.3f}"
    proven = bool(report.get("certain"))
    label = ("proven by provenance: made by twoface" if proven else
             "detector estimate, not proof" if verdict in ("fake", "real", "uncertain") else "")
    # A detector's verdict is drawn as an outlined estimate; only provenance gets the solid
    # banner, so the two never look equally certain.
    colour = COLOURS.get(verdict, "#333")
    style = (f"background:{colour}" if proven else
             f"border:3px dashed {colour};color:{colour};background:#fff")
    body = [f"<h1>twoface detect: {e(Path(report['file']).name)}</h1>",
            f'<p class="verdict" style="{style}">{e(verdict.upper())} &mdash; p(fake) = '
            f"{ptxt}<br><small>{e(label)}</small></p>",
            f"<p>{report['frames_scored']} frame(s) scored, {report['faces']} face(s) in "
            f"{len(report['tracks'])} track(s), {report.get('seconds', 0):.1f} s. "
            f"Decided by: {e(report['decided_by'])}.</p>"]
    body += [f"<p class='note'>{e(n)}</p>" for n in report.get("notes", [])]
    if not proven:
        body.append(card_html(report["detector"]))
    prov = report.get("provenance")
    body.append("<h2>Provenance (checked first)</h2>")
    if prov is None:
        body.append("<p>not checked (provenance step switched off)</p>")
    else:
        body.append(f"<p>{e(prov['verdict'])}</p><p>status: {e(prov.get('status', '?'))} "
                    f"&mdash; manifest: {e(prov['manifest']['state'])} &mdash; watermark "
                    f"detected: {prov['watermark']['detected']}</p>")
    if report["tracks"]:
        body.append("<h2>Score timeline per track</h2>")
        times = [t["time"] for tr in report["tracks"] for t in tr["timeline"]]
        duration = max(times) if times else 0.0
        thr = (report["settings"]["real_threshold"], report["settings"]["fake_threshold"])
        for tr in report["tracks"]:
            say = "" if tr.get("decides", True) else " (too few faces to decide the verdict)"
            body.append(f"<h3>track {tr['track']}: {tr['faces']} face(s), "
                        f"p(fake) = {tr['probability_fake']:.3f}{e(say)}</h3>")
            body.append(timeline_svg(tr, duration, thr))
    if report.get("top_faces"):
        body.append("<h2>Most suspicious faces</h2><p>Left: the aligned face the detector "
                    "saw. Right: occlusion heat map (red: blurring this region lowers the "
                    "fake score the most).</p><div class='faces'>")
        for f in report["top_faces"]:
            body.append(
                f"<figure><img src='{png_data_uri(f['crop'], 256)}' width='160'>"
                f"<img src='{png_data_uri(heat_overlay(f['crop'], f['heat']), 256)}' "
                f"width='160'><figcaption>frame {f['frame']} ({f['time']:.2f} s), track "
                f"{f['track']}, p = {f['probability_fake']:.3f}</figcaption></figure>")
        body.append("</div>")
    body.append("<h2>Rule and settings</h2>")
    body.append(f"<p>{e(report['rule'])}</p>")
    body.append(f"<pre>{e(json.dumps({'detector': report['detector'], **report['settings']}, indent=1))}</pre>")  # noqa: E501
    style = ("body{font-family:sans-serif;max-width:900px;margin:2em auto;color:#222}"
             ".verdict{color:#fff;padding:.6em 1em;font-size:1.4em;border-radius:6px}"
             "figure{display:inline-block;margin:.5em}figcaption{font-size:.8em}"
             "pre{background:#f4f4f4;padding:1em;font-size:.8em}"
             ".card{border:1px solid #bbb;border-radius:6px;padding:.2em 1em;font-size:.9em}"
             ".note{color:#7b5b00}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>twoface "
            f"detect: {e(Path(report['file']).name)}</title><style>{style}</style></head>"
            f"<body>{''.join(body)}</body></html>\n")


def card_html(detector: dict[str, Any]) -> str:
    """The detector's model card summary, shown beside a verdict the detector made."""
    e = html.escape
    card = detector.get("card") or {}
    head = f"<div class='card'><h2>About this detector: {e(str(detector.get('name')))}</h2>"
    if not card.get("card"):
        return head + f"<p>{e(card.get('note', 'no model card'))}</p></div>"
    m = card.get("measured", {})
    facts = []
    if m.get("video_fpr") is not None:
        facts.append(f"called {m['video_fpr']:.1%} of {m.get('video_reals', '?')} real videos "
                     "it never trained on fake")
    if m.get("image_fpr") is not None:
        facts.append(f"called {m['image_fpr']:.1%} of {m.get('image_reals', '?')} real face "
                     "photos fake")
    if m.get("video_tpr") is not None:
        facts.append(f"caught {m['video_tpr']:.0%} of {m.get('video_fakes', '?')} fake videos "
                     f"({e(str(m.get('fakes_were', 'held out')))})")
    return (head + "<p><b>Trained on:</b> " + e("; ".join(card.get("trained_on", []))) + "</p>"
            + (f"<p><b>Measured:</b> {'; '.join(facts)}.</p>" if facts else "")
            + "<p><b>Known blind spots:</b></p><ul>"
            + "".join(f"<li>{e(b)}</li>" for b in card.get("blind_spots", []))
            + "</ul><p>Its verdict is an estimate; a fake it misses is not proof of "
            "authenticity, and a real person's video can be flagged wrongly.</p></div>")


def write_report(report: dict[str, Any], folder: str | Path) -> Path:
    """Write ``report.json`` and ``report.html`` into ``folder``; returns the HTML path."""
    folder = Path(folder)
    atomic_write_json(folder / "report.json", public(report))
    atomic_write_text(folder / "report.html", render_html(report))
    return folder / "report.html"
