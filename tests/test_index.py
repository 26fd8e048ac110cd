"""Near-duplicate search (``twoface index``): a manipulated cut of a clip finds its source."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from twoface.errors import TwofaceError
from twoface.forensics._phash import centre_crop, frame_hashes, hamming
from twoface.forensics.index import MATCH_BITS, add_videos, search
from twoface.media import MediaError, iter_frames, write_video

FPS = 15.0
SECONDS = 3.6


def _noise_clip(seed: int, n: int, size: int = 128) -> list[np.ndarray]:
    """Smooth coloured noise drifting sideways: a distractor with no face in it."""
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.uniform(0, 255, (size, size * 3, 3)).astype(np.float32),
                             (0, 0), 6)
    field = cv2.normalize(field, None, 0, 255, cv2.NORM_MINMAX)
    return [field[:, 2 * i:2 * i + size].astype(np.uint8) for i in range(n)]


def _write(path: Path, frames: list[np.ndarray], fps: float = FPS, crf: int = 18) -> Path:
    return write_video(path, frames, fps, crf=crf)


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> dict[str, Path]:
    """Three talking heads and two noise clips, plus one head kept out of the index."""
    from twoface.synth import Identity, render_sequence

    folder = tmp_path_factory.mktemp("index_lib")
    n = int(SECONDS * FPS)
    clips = {}
    for seed in (11, 12, 13, 14):
        renders = render_sequence(Identity.random(seed), n, fps=FPS, size=128, seed=seed)
        clips[f"head{seed}"] = _write(folder / f"head{seed}.mp4", [r.image for r in renders])
    for seed in (21, 22):
        clips[f"noise{seed}"] = _write(folder / f"noise{seed}.mp4", _noise_clip(seed, n))
    return clips


@pytest.fixture(scope="session")
def index(library, tmp_path_factory) -> Path:
    db = tmp_path_factory.mktemp("index_db") / "index.sqlite"
    report = add_videos([p for k, p in library.items() if k != "head14"], db)
    assert len(report.added) == 5 and report.frames > 0
    return db


def _manipulate(source: Path, out: Path, *, start: float = 1.2, length: float = 1.5,
                speed: float = 1.0, mirror: bool = False, crop: float = 1.0,
                crf: int = 18) -> Path:
    """Cut ``length`` s of query from ``start``, re-timed by ``speed``, flipped, cropped."""
    frames = [(f.time, f.image) for f in iter_frames(source)]
    times = np.array([t for t, _ in frames])
    result = []
    for k in range(int(length * FPS)):
        image = frames[int(np.argmin(np.abs(times - (start + speed * k / FPS))))][1]
        if mirror:
            image = image[:, ::-1]
        if crop < 1.0:
            h, w = image.shape[:2]
            ch, cw = int(h * crop), int(w * crop)
            y, x = (h - ch) // 2, (w - cw) // 2
            image = cv2.resize(image[y:y + ch, x:x + cw], (w, h), interpolation=cv2.INTER_AREA)
        result.append(np.ascontiguousarray(image))
    return _write(out, result, crf=crf)


CASES = {
    "cut": {},
    "speed": {"speed": 1.25},
    "mirror": {"mirror": True},
    "crop": {"crop": 0.85},
    "crf35": {"crf": 35},
    "all": {"speed": 1.25, "mirror": True, "crop": 0.85, "crf": 35},
}


@pytest.mark.parametrize("case", list(CASES))
def test_manipulated_cut_finds_its_source(case, library, index, tmp_path) -> None:
    opts = CASES[case]
    query = _manipulate(library["head12"], tmp_path / f"{case}.mp4", **opts)
    matches = search(query, index)
    assert matches, f"{case}: no match"
    best = matches[0]
    assert Path(best.file).name == "head12.mp4", matches
    assert len(matches) == 1, matches  # the other heads and the noise clips stay out
    assert best.source_start == pytest.approx(1.2, abs=0.15), best
    assert best.speed == pytest.approx(opts.get("speed", 1.0), abs=0.1), best
    assert best.mirrored == opts.get("mirror", False)
    assert best.score >= 0.6
    assert all(m.score <= best.score for m in matches)


def test_unrelated_clip_matches_nothing(library, index) -> None:
    assert search(library["head14"], index) == []


def test_hash_distances_separate_copies_from_others(library) -> None:
    """Copies of a frame sit well inside MATCH_BITS, other clips' frames well outside."""
    a = next(iter_frames(library["head12"], start=1.0)).image
    b = next(iter_frames(library["head13"], start=1.0)).image
    noise = next(iter_frames(library["noise21"], start=1.0)).image
    ha, ha_mirror = frame_hashes(a)
    assert hamming(ha_mirror, frame_hashes(np.ascontiguousarray(a[:, ::-1]))[0]) <= 8
    # A 85 % crop is matched through the stored 86 % framing of the source.
    assert hamming(frame_hashes(centre_crop(a, 0.86))[0],
                   frame_hashes(centre_crop(a, 0.85))[0]) < MATCH_BITS // 2
    assert hamming(ha, frame_hashes(b)[0]) > MATCH_BITS
    assert hamming(ha, frame_hashes(noise)[0]) > MATCH_BITS
    assert frame_hashes(np.zeros((64, 64, 3), np.uint8)) is None


def test_add_twice_does_not_duplicate(library, tmp_path) -> None:
    db = tmp_path / "twice.sqlite"
    first = add_videos([library["noise21"]], db)
    again = add_videos([library["noise21"]], db)
    assert len(first.added) == 1 and again.added == [] and len(again.skipped) == 1
    with sqlite3.connect(db) as con:
        assert con.execute("SELECT COUNT(*) FROM videos").fetchone()[0] == 1
        assert con.execute("SELECT COUNT(DISTINCT time) FROM frames").fetchone()[0] == first.frames


def test_errors(library, tmp_path) -> None:
    with pytest.raises(TwofaceError, match="no index"):
        search(library["head11"], tmp_path / "missing.sqlite")
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(TwofaceError, match="corrupt"):
        search(library["head11"], junk)
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"\0" * 1000)
    with pytest.raises(MediaError):
        add_videos([bad], tmp_path / "ok.sqlite")


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", "from twoface.cli import main; main()", *args],
                          capture_output=True, text=True, env=env, timeout=120)


def test_cli_add_and_search_json(library, tmp_path) -> None:
    env = {**os.environ, "TWOFACE_INDEX": str(tmp_path / "env.sqlite")}
    done = _cli("index", "add", str(library["head11"]), str(library["noise22"]), env=env)
    assert done.returncode == 0, done.stderr
    query = _manipulate(library["head11"], tmp_path / "q.mp4", speed=1.25)
    done = _cli("index", "search", str(query), "--json", "--top", "3", env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert set(data) == {"matches"} and len(data["matches"]) == 1
    assert set(data["matches"][0]) >= {"file", "score", "query_start", "query_end",
                                       "source_start", "source_end", "speed"}
    assert Path(data["matches"][0]["file"]).name == "head11.mp4"
    done = _cli("index", "search", str(query), "--index", str(tmp_path / "none.sqlite"),
                env=env)
    assert done.returncode == 2 and "no index" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_an_own_hash_index_finds_the_hardest_case_and_keeps_its_hash(library, tmp_path
                                                                    ) -> None:
    """New indexes hold real PDQ (the tests above); ones built on twoface's own hash, as
    every index before PDQ was, are still filled and searched with that hash."""
    db = tmp_path / "own.sqlite"
    add_videos([p for k, p in library.items() if k != "head14"], db, hasher="own")
    query = _manipulate(library["head12"], tmp_path / "all.mp4", **CASES["all"])
    best = search(query, db)[0]
    assert Path(best.file).name == "head12.mp4" and best.mirrored
    with pytest.raises(TwofaceError, match="holds own hashes"):
        add_videos([library["head14"]], db, hasher="pdq")
    add_videos([library["head14"]], db)  # no choice given: the index's own hash
