"""``twoface extract`` and ``twoface faces``: facesets from synthetic media, and bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from twoface.data.faceset import Faceset, validate


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess, as a user would."""
    code = "import sys; from twoface.cli import main; sys.argv[0] = 'twoface'; main()"
    return subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True,
                          text=True, timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], path: Path, words: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert path.name in lines[0] and words in lines[0].lower(), lines[0]


def test_extract_video_gives_a_valid_faceset_with_one_track(talking_video: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "fs"
    proc = run_cli("extract", talking_video, "-o", out, "--size", "128", "-q")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "alignments.json").read_text())
    assert validate(doc) is None
    fs = Faceset.load(out)
    frames = fs.sources[0].frames
    assert len(fs.faces) >= 0.95 * frames
    assert len({f.track for f in fs.faces}) == 1
    crop = fs.image(fs.faces[0])
    assert crop.shape == (128, 128, 3)
    # Re-running skips the input that is done, and changes nothing.
    before = (out / "alignments.json").read_bytes()
    again = run_cli("extract", talking_video, "-o", out, "--size", "128", "-q")
    assert again.returncode == 0
    assert (out / "alignments.json").read_bytes() == before


def test_faces_command_summarises_and_draws_a_montage(talking_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "fs"
    assert run_cli("extract", talking_video, "-o", out, "--size", "64", "-q").returncode == 0
    png = tmp_path / "m.png"
    proc = run_cli("faces", out, "--montage", png, "--json")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["faces"] > 0 and summary["tracks"] == 1
    assert Image.open(png).size[0] > 0


def test_faceset_filter_dedupe_sort(talking_video: Path, tmp_path: Path) -> None:
    from twoface.data.extract import ExtractOptions, extract

    out = tmp_path / "fs"
    extract([talking_video], out, ExtractOptions(size=64))
    fs = Faceset.load(out)
    ref = fs.faces[0].vector
    assert len(fs.filter(identity=ref, max_distance=0.6).faces) >= 0.9 * len(fs.faces)
    assert len(fs.filter(identity=-ref, max_distance=0.6).faces) == 0
    assert len(fs.filter(max_yaw=0.5).faces) < len(fs.faces)
    by_blur = fs.sorted("blur", reverse=True)
    assert by_blur.faces[0].blur == max(f.blur for f in fs.faces)
    assert 0 < len(fs.dedupe(threshold=1e9).faces) <= 1  # everything is a duplicate of the first
    assert len(fs.dedupe(threshold=0.0).faces) == len(fs.faces)
    copy = fs.filter(max_yaw=10).copy_to(tmp_path / "frontal")
    assert Faceset.load(copy.root).faces and all(abs(f.yaw) <= 10 for f in copy.faces)


def test_video_without_faces_warns_and_leaves_a_valid_empty_faceset(tmp_path: Path) -> None:
    from twoface.media import write_video

    video = tmp_path / "noise.mp4"
    rng = np.random.default_rng(0)
    write_video(video, (rng.integers(0, 255, (96, 128, 3), dtype=np.uint8) for _ in range(10)),
                fps=10)
    out = tmp_path / "fs"
    proc = run_cli("extract", video, "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr
    assert "no faces found" in proc.stderr
    doc = json.loads((out / "alignments.json").read_text())
    assert validate(doc) is None and doc["faces"] == [] and doc["sources"][0]["frames"] == 10


@pytest.mark.parametrize("mode", ["L", "CMYK", "RGBA"])
def test_grey_cmyk_and_alpha_images_just_work(face_image: np.ndarray, tmp_path: Path,
                                              mode: str) -> None:
    img = Image.fromarray(face_image).convert(mode)
    path = tmp_path / ("face.jpg" if mode == "CMYK" else "face.png")
    img.save(path)
    out = tmp_path / "fs"
    proc = run_cli("extract", path, "-o", out, "-q")
    assert proc.returncode == 0, proc.stderr
    assert len(Faceset.load(out).faces) == 1


def test_rotated_video_just_works(rotated_talking_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "fs"
    proc = run_cli("extract", rotated_talking_video, "-o", out, "--size", "64", "-q")
    assert proc.returncode == 0, proc.stderr
    fs = Faceset.load(out)
    assert len(fs.faces) >= 0.9 * fs.sources[0].frames
    # Upright faces after rotation: eyes above the mouth in frame coordinates.
    m = fs.faces[0].marks
    assert m[36:48, 1].mean() < m[48:68, 1].mean()


def _bad_inputs(tmp_path: Path, real_video: Path) -> dict[str, tuple[Path, str]]:
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video\n" * 20)
    truncated = tmp_path / "truncated.mp4"
    data = real_video.read_bytes()
    truncated.write_bytes(data[: len(data) // 2])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    folder = tmp_path / "nothing_here"
    folder.mkdir()
    (folder / "readme.txt").write_text("no media")
    tiny = tmp_path / "tiny.png"
    Image.new("RGB", (1, 1)).save(tiny)
    return {
        "text named .mp4": (text, "not a video"),
        "truncated mp4": (truncated, "truncated"),
        "empty file": (empty, "empty"),
        "folder without media": (folder, "no images or videos"),
        "1x1 image": (tiny, "too small"),
        "missing path": (tmp_path / "missing.mp4", "does not exist"),
    }


@pytest.mark.parametrize("case", ["text named .mp4", "truncated mp4", "empty file",
                                  "folder without media", "1x1 image", "missing path"])
def test_bad_input_is_one_line_naming_the_file(case: str, talking_video: Path,
                                               tmp_path: Path) -> None:
    path, words = _bad_inputs(tmp_path, talking_video)[case]
    out = tmp_path / "fs"
    proc = run_cli("extract", path, "-o", out, "-q")
    assert_one_line_error(proc, path, words)
    assert not (out / "alignments.json").exists()


def test_bad_input_among_good_ones_writes_nothing(talking_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "fs"
    assert run_cli("extract", talking_video, "-o", out, "--size", "64", "-q").returncode == 0
    before = (out / "alignments.json").read_bytes()
    bad = tmp_path / "empty.mp4"
    bad.write_bytes(b"")
    proc = run_cli("extract", talking_video, bad, "-o", out, "-q")
    assert_one_line_error(proc, bad, "empty")
    assert (out / "alignments.json").read_bytes() == before


def test_corrupt_alignments_is_reported(tmp_path: Path) -> None:
    (tmp_path / "alignments.json").write_text('{"schema": "twoface.faceset", "version": 1}')
    proc = run_cli("faces", tmp_path)
    assert_one_line_error(proc, tmp_path / "alignments.json", "schema")


def test_sources_whose_names_clean_alike_keep_separate_crops(talking_video: Path,
                                                              tmp_path: Path) -> None:
    import shutil

    from twoface.data.extract import ExtractOptions, extract

    a, b = tmp_path / "a b.mp4", tmp_path / "a_b.mp4"
    shutil.copy(talking_video, a)
    shutil.copy(talking_video, b)
    out = tmp_path / "fs"
    extract([a, b], out, ExtractOptions(size=64))
    fs = Faceset.load(out)
    files = [f.file for f in fs.faces]
    assert len(files) == len(set(files)) == fs.sources[0].faces + fs.sources[1].faces
    assert all((out / f).is_file() for f in files)


def test_montage_needs_an_image_suffix(talking_video: Path, tmp_path: Path) -> None:
    out = tmp_path / "fs"
    assert run_cli("extract", talking_video, "-o", out, "--size", "64", "-q").returncode == 0
    proc = run_cli("faces", out, "--montage", tmp_path / "montage")
    assert_one_line_error(proc, tmp_path / "montage", "montage must be")
