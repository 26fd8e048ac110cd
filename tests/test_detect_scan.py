"""``twoface detect``: verdicts, provenance first, reports, bad input (tiny detectors)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from test_extract import assert_one_line_error
from test_media import write_tone
from twoface.models.registry import create, save_pretrained

torch.set_num_threads(1)


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """The console entry point in this process (a subprocess costs seconds of imports):
    same argv, same one-line error handling, output captured."""
    import contextlib
    import io
    import sys

    from twoface.cli import main

    stdout, stderr, code = io.StringIO(), io.StringIO(), 0
    argv = sys.argv
    sys.argv = ["twoface", *map(str, args)]
    try:
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    return subprocess.CompletedProcess(list(args), code, stdout.getvalue(), stderr.getvalue())


def _fixed(folder: Path, bias: float) -> Path:
    """A tiny detector whose calibration pins every face at sigmoid(bias): the verdict logic
    is tested apart from what a network has learnt."""
    model = create("detector", "cnn_tiny", size=32)
    with torch.no_grad():
        model.calibration.copy_(torch.tensor([0.0, bias]))
    save_pretrained(model, folder)
    return folder


@pytest.fixture(scope="module")
def says_fake(tmp_path_factory) -> Path:
    return _fixed(tmp_path_factory.mktemp("m") / "fake", 5.0)


@pytest.fixture(scope="module")
def says_real(tmp_path_factory) -> Path:
    return _fixed(tmp_path_factory.mktemp("m") / "real", -5.0)


@pytest.fixture(scope="module")
def short_video(tmp_path_factory) -> Path:
    """Ten frames of a synthetic person talking (cheaper than the shared 1.6 s fixture)."""
    from twoface.media import write_video
    from twoface.synth import Identity, render_sequence

    frames = render_sequence(Identity.random(21), 10, size=144, seed=2)
    return write_video(tmp_path_factory.mktemp("vid") / "talk.mp4", [f.image for f in frames])


@pytest.fixture(scope="module")
def still(tmp_path_factory, face_image) -> Path:
    from twoface.media import write_image

    return write_image(tmp_path_factory.mktemp("img") / "face.png", face_image)


def test_still_image_verdicts_follow_the_thresholds(still: Path, says_fake: Path,
                                                    says_real: Path, models) -> None:
    from twoface.forensics.detect import DetectOptions, Scanner

    def scan_files(paths: list[Path], folder: Path, opts: DetectOptions) -> list[dict]:
        scanner = Scanner.from_pretrained(folder, opts, models=models)
        return [scanner.scan(p) for p in paths]

    fake = scan_files([still], says_fake, DetectOptions())[0]
    assert fake["provenance"]["manifest"]["state"] == "absent"
    assert fake["verdict"] == "fake" and fake["probability_fake"] == pytest.approx(0.9933, 1e-3)
    assert fake["faces"] == 1 and fake["tracks"][0]["faces"] == 1
    assert fake["top_faces"][0]["heat"].shape == (8, 8)
    real = scan_files([still], says_real, DetectOptions(provenance=False))[0]
    assert real["verdict"] == "real"
    mid = scan_files([still], says_real, DetectOptions(provenance=False, real_threshold=0.001,
                                                       fake_threshold=0.9))[0]
    assert mid["verdict"] == "uncertain"


def test_video_report_json_and_html(short_video: Path, says_fake: Path, tmp_path: Path
                                    ) -> None:
    proc = run_cli("detect", short_video, "-m", says_fake, "-o", tmp_path / "rep", "--json",
                   "--frames", "6", "--extra", "2", "--no-provenance")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    assert doc["verdict"] == "fake" and doc["certain"] is False
    assert doc["provenance"] is None
    assert 6 < doc["frames_scored"] <= 8 and len(doc["tracks"]) == 1
    assert doc["tracks"][0]["faces"] == doc["faces"] == doc["frames_scored"]
    assert doc["settings"]["frames"] == 6 and "top half" in doc["rule"]
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "<svg" in page and "data:image/png;base64," in page and "FAKE" in page
    assert json.loads((tmp_path / "rep" / "report.json").read_text())["verdict"] == "fake"


def test_provenance_decides_first(still: Path, says_real: Path, tmp_path: Path) -> None:
    from twoface.media import read_image, write_image
    from twoface.provenance import Provenance, mark_file, mark_image

    prov = Provenance.from_files("swap", [still])
    marked = write_image(tmp_path / "marked.png", mark_image(read_image(still), prov))
    mark_file(marked, prov)
    proc = run_cli("detect", marked, "-m", says_real, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "fake" and doc["certain"] is True
    assert doc["decided_by"] == "provenance" and doc["probability_fake"] == 1.0


def test_no_face_is_a_verdict_not_an_error(says_fake: Path, tmp_path: Path) -> None:
    from twoface.media import write_image

    rng = np.random.default_rng(0)
    blank = write_image(tmp_path / "wall.png", rng.integers(90, 110, (160, 160, 3), np.uint8))
    proc = run_cli("detect", blank, "-m", says_fake, "--json", "--no-provenance")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] == "no-face" and doc["probability_fake"] is None


def test_bad_inputs_are_one_line_errors(tmp_path: Path, says_fake: Path) -> None:
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    assert_one_line_error(run_cli("detect", corrupt, "-m", says_fake), corrupt, "corrupt")
    tone = tmp_path / "voice.mp4"
    write_tone(tone, "aac")
    proc = run_cli("detect", tone, "-m", says_fake)
    assert_one_line_error(proc, tone, "video")
    missing_model = tmp_path / "nomodel"
    missing_model.mkdir()
    proc = run_cli("detect", tone, "-m", missing_model)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr


def test_default_detector_ships_small_and_works_out_of_the_box(still: Path) -> None:
    from twoface.models.detectors import DEFAULT_DIR, load_detector

    weights = DEFAULT_DIR / "model.safetensors"
    assert weights.stat().st_size <= 20 * 2**20
    model = load_detector()
    assert model.name.startswith("selfblend")  # trained on synthetic real faces only
    proc = run_cli("detect", still, "--json", "--no-provenance")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["verdict"] in ("fake", "real", "uncertain") and doc["faces"] == 1
    assert doc["detector"]["folder"] == str(DEFAULT_DIR)
