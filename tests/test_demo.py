"""``twoface demo`` end to end on built-in synthetic data (short videos)."""

from __future__ import annotations

from pathlib import Path

from twoface.data.faceset import Faceset
from twoface.demo import STAGES, run_demo


def test_demo_writes_a_report_with_every_stage(tmp_path: Path) -> None:
    report = run_demo(tmp_path / "demo", seconds=1.0, progress=False)
    page = report.read_text()
    assert report.name == "report.html"
    for name in ("alice", "bob"):
        fs = Faceset.load(tmp_path / "demo" / "facesets" / name)
        assert len(fs.faces) >= 0.9 * fs.sources[0].frames > 0
        assert f"<h3>{name}</h3>" in page
    assert page.count("data:image/png;base64,") >= 2
    # Everything the demo generated is marked; the re-encoded copy keeps only the watermark.
    # alice, bob, the swap, the animation (and any further generated media).
    assert page.count("<td>trusted</td><td>yes") >= 4
    assert "<td>untrusted" not in page and "<td>invalid" not in page
    # Detection: with their marks every demo file is a certain verdict.
    detect = page[page.index("Detection</h2>"):]
    assert detect.count(", certain</td>") >= 4
    assert "<td>absent</td><td>yes" in page
    for stage_name, _ in STAGES:
        assert stage_name in page  # the timings table lists every stage
