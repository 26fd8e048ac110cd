"""Extraction on real face videos from ../shared/data/faces (skipped when it is absent)."""

from __future__ import annotations

import json
from pathlib import Path

from test_extract import run_cli
from twoface.data.faceset import Faceset, validate


def test_real_video_one_track_nearly_every_frame(shared_faces: Path, tmp_path: Path) -> None:
    video = shared_faces / "liveportrait" / "driving" / "d9.mp4"
    out = tmp_path / "fs"
    proc = run_cli("extract", video, "-o", out, "--size", "128", "-q")
    assert proc.returncode == 0, proc.stderr
    assert validate(json.loads((out / "alignments.json").read_text())) is None
    fs = Faceset.load(out)
    frames = fs.sources[0].frames
    assert frames > 500
    assert len({f.frame for f in fs.faces}) >= 0.95 * frames
    assert len({f.track for f in fs.faces}) == 1


def test_identity_filter_keeps_the_person_and_drops_others(shared_faces: Path,
                                                          tmp_path: Path) -> None:
    video = shared_faces / "liveportrait" / "driving" / "d9.mp4"
    from twoface.media import read_frame, write_image

    same = write_image(tmp_path / "d9_still.png", read_frame(video, 10.0).image)
    other = shared_faces / "public_domain_portraits" / "grace_hopper.jpg"
    kept = run_cli("extract", video, "-o", tmp_path / "same", "--every", "20", "--size", "64",
                   "--identity", same, "-q")
    assert kept.returncode == 0, kept.stderr
    dropped = run_cli("extract", video, "-o", tmp_path / "other", "--every", "20",
                      "--size", "64", "--identity", other, "-q")
    assert dropped.returncode == 0, dropped.stderr
    assert len(Faceset.load(tmp_path / "same").faces) >= 25
    assert len(Faceset.load(tmp_path / "other").faces) == 0
