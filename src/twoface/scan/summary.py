"""``summary.json`` and ``summary.html``: what a results folder holds, at a glance.

Both are rebuilt from every row in the folder (not only this run's), so after a resume they
describe the whole collection; the ``run`` block says what this run did and how fast.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import pyarrow as pa

from twoface.fileio import atomic_write_json, atomic_write_text

TOP = 25  # most suspicious files listed
FINDING_FLAG = 0.5  # shallowfake confidence from which a finding counts as evidence
COLOURS = {"fake": "#c0392b", "real": "#27ae60", "uncertain": "#d68910", "no-face": "#7f8c8d",
           "error": "#555", "not checked": "#999"}


def suspicion(row: dict[str, Any]) -> float:
    """How suspicious a row is, for ranking: proof first, then a hash-list match, then the
    larger of the detector's p(fake) and the strongest shallowfake finding."""
    if row.get("certain") and row.get("verdict") == "fake":
        return 3.0
    if row.get("match") is not None:
        return 2.0
    return max(row.get("probability_fake") or 0.0, row.get("findings_max") or 0.0)


def summarise(table: pa.Table, run: dict[str, Any]) -> dict[str, Any]:
    rows = table.to_pylist()
    verdicts: dict[str, int] = {}
    for r in rows:
        name = "error" if r["error"] else (r["verdict"] or "not checked")
        verdicts[name] = verdicts.get(name, 0) + 1
    provenance: dict[str, int] = {}
    for r in rows:
        if r["provenance"] is not None:
            provenance[r["provenance"]] = provenance.get(r["provenance"], 0) + 1
    ranked = sorted((r for r in rows if not r["error"]), key=lambda r: (-suspicion(r), r["path"]))
    top = [{"path": r["path"], "sha256": r["sha256"], "verdict": r["verdict"],
            "probability_fake": r["probability_fake"], "certain": r["certain"],
            "provenance": r["provenance"], "findings_max": r["findings_max"],
            "match": r["match"], "report": r["report"]}
           for r in ranked[:TOP] if suspicion(r) > 0]
    return {"rows": len(rows), "verdicts": verdicts, "provenance": provenance,
            "shallowfake_flagged": sum((r["findings_max"] or 0) >= FINDING_FLAG for r in rows),
            "matches": [{"path": r["path"], "match": r["match"],
                         "distance": r["match_distance"]} for r in rows if r["match"]],
            "errors": [{"path": r["path"], "error": r["error"]} for r in rows if r["error"]],
            "most_suspicious": top, "run": run}


def write_summary(folder: Path, table: pa.Table, run: dict[str, Any]) -> dict[str, Any]:
    """Write ``summary.json`` and ``summary.html`` into ``folder``; returns the summary."""
    summary = summarise(table, run)
    atomic_write_json(folder / "summary.json", summary)
    atomic_write_text(folder / "summary.html", render_html(summary))
    return summary


def render_html(s: dict[str, Any]) -> str:
    e = html.escape
    run = s["run"]
    body = [f"<h1>twoface scan: {s['rows']} file(s)</h1>"]
    body.append("<h2>Verdicts</h2><table><tr><th>verdict</th><th>files</th></tr>" + "".join(
        f"<tr><td><span class='dot' style='background:{COLOURS.get(k, '#999')}'></span>"
        f"{e(k)}</td><td>{v}</td></tr>" for k, v in sorted(s["verdicts"].items())) + "</table>")
    if s["provenance"]:
        body.append("<p>Provenance: " + ", ".join(
            f"{e(k)} {v}" for k, v in sorted(s["provenance"].items())) + "</p>")
    body.append(f"<p>Shallowfake findings of confidence &ge; {FINDING_FLAG}: "
                f"{s['shallowfake_flagged']} file(s). Hash-list matches: "
                f"{len(s['matches'])}.</p>")
    body.append("<h2>Most suspicious</h2>")
    if s["most_suspicious"]:
        body.append("<table><tr><th>file</th><th>verdict</th><th>p(fake)</th>"
                    "<th>provenance</th><th>shallowfake</th><th>hash list</th></tr>")
        for r in s["most_suspicious"]:
            name = e(r["path"])
            link = f"<a href='{e(r['report'])}'>{name}</a>" if r["report"] else name
            p, f = r["probability_fake"], r["findings_max"]
            body.append(
                f"<tr><td>{link}</td><td>{e(str(r['verdict'] or ''))}"
                f"{' (certain)' if r['certain'] else ''}</td>"
                f"<td>{'' if p is None else f'{p:.3f}'}</td>"
                f"<td>{e(str(r['provenance'] or ''))}</td>"
                f"<td>{'' if f is None else f'{f:.2f}'}</td>"
                f"<td>{e(str(r['match'] or ''))}</td></tr>")
        body.append("</table>")
    else:
        body.append("<p>nothing suspicious</p>")
    if s["errors"]:
        body.append(f"<h2>Errors ({len(s['errors'])})</h2><ul>" + "".join(
            f"<li>{e(x['path'])}: {e(x['error'])}</li>" for x in s["errors"][:200]) + "</ul>")
    rate = run.get("files_per_minute")
    body.append(f"<h2>This run</h2><p>{run['checked']} file(s) checked in "
                f"{run['seconds']:.1f} s ({'-' if rate is None else f'{rate:.1f}'} files/min; "
                f"engine {e(run['engine'])}, {run['workers']} worker(s)); "
                f"{run['skipped_done']} already done, {len(run['duplicates'])} duplicate(s) "
                f"of another input{'; interrupted' if run['interrupted'] else ''}.</p>")
    body.append("<p>Every row: <code>parts/*.parquet</code> (one Parquet dataset). "
                "Detector verdicts are estimates, not proof; only provenance is certain.</p>")
    style = ("body{font-family:sans-serif;max-width:1000px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse}td,th{padding:.2em .7em;border-bottom:1px solid "
             "#ddd;text-align:left}.dot{display:inline-block;width:.8em;height:.8em;"
             "border-radius:50%;margin-right:.4em}")
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>twoface scan"
            f"</title><style>{style}</style></head><body>{''.join(body)}</body></html>\n")
