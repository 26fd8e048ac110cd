"""The detector card: video-level calibration, thresholds, who may decide, what reports say."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from test_detect_scan import _fixed, run_cli

torch.set_num_threads(1)


def _with_card(folder: Path, **card: object) -> Path:
    doc = {"schema": "twoface.detector_card", "version": 1, "name": "test",
           "trained_on": ["twoface's synthetic people"], "blind_spots": ["everything"],
           **card}
    (folder / "card.json").write_text(json.dumps(doc))
    return folder


@pytest.fixture(scope="module")
def video(tmp_path_factory) -> Path:
    from twoface.media import write_video
    from twoface.synth import Identity, render_sequence

    frames = render_sequence(Identity.random(5), 8, size=144, seed=3)
    return write_video(tmp_path_factory.mktemp("vid") / "talk.mp4", [f.image for f in frames])


def _scan(path: Path, folder: Path, models, **opts: object) -> dict:
    from twoface.forensics.detect import DetectOptions, Scanner

    options = DetectOptions(provenance=False, extra=0, **opts)  # type: ignore[arg-type]
    return Scanner.from_pretrained(folder, options, models=models).scan(path)


def test_a_short_track_cannot_call_a_video_fake(tmp_path: Path, video: Path, models) -> None:
    folder = _with_card(_fixed(tmp_path / "m", 5.0), thresholds={"min_track_faces": 6})
    rep = _scan(video, folder, models, frames=4)
    assert rep["faces"] == 4 and rep["probability_fake"] > 0.99
    assert rep["verdict"] == "uncertain" and rep["tracks"][0]["decides"] is False
    assert any("too little" in n for n in rep["notes"])
    rep = _scan(video, folder, models, frames=6)  # six faces: the track now decides
    assert rep["verdict"] == "fake" and rep["tracks"][0]["decides"] is True
    assert rep["settings"]["min_track_faces"] == 6


def test_video_calibration_and_card_thresholds(tmp_path: Path, still_path: Path,
                                               models) -> None:
    folder = _fixed(tmp_path / "m", 5.0)  # every face at p = sigmoid(5) = 0.993
    bare = _scan(still_path, folder, models)
    assert bare["verdict"] == "fake" and bare["detector"]["card"]["card"] is False
    assert any("per face" in n for n in bare["notes"])
    _with_card(folder, video_calibration={"a": 0.5, "b": -1.0})  # sigmoid(1.5) = 0.818
    rep = _scan(still_path, folder, models)
    assert rep["probability_fake"] == pytest.approx(0.8176, abs=1e-3)
    assert rep["verdict"] == "fake" and rep["detector"]["card"]["video_calibrated"] is True
    _with_card(folder, video_calibration={"a": 0.5, "b": -1.0}, thresholds={"fake": 0.9})
    assert _scan(still_path, folder, models)["verdict"] == "uncertain"
    # an explicit threshold still wins over the card's
    assert _scan(still_path, folder, models, fake_threshold=0.8)["verdict"] == "fake"


def test_html_and_json_say_what_the_detector_knows(tmp_path: Path, still_path: Path) -> None:
    folder = _with_card(_fixed(tmp_path / "m", 5.0),
                        measured={"video_fpr": 0.0, "video_reals": 15, "image_fpr": 0.031,
                                  "image_reals": 1326})
    proc = run_cli("detect", still_path, "-m", folder, "-o", tmp_path / "rep", "--json",
                   "--no-provenance")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["basis"] == "detector estimate" and doc["certain"] is False
    assert doc["detector"]["card"]["trained_on"] == ["twoface's synthetic people"]
    assert "estimates, not proof" in proc.stderr and "0% of 15" in proc.stderr
    page = (tmp_path / "rep" / "report.html").read_text()
    assert "detector estimate, not proof" in page and "About this detector" in page
    assert "3.1% of 1326 real face photos" in page and "<li>everything</li>" in page
    assert "dashed" in page  # drawn as an estimate, not as the solid banner of a proof


def test_a_broken_card_is_a_one_line_error(tmp_path: Path, still_path: Path) -> None:
    folder = _fixed(tmp_path / "m", 5.0)
    (folder / "card.json").write_text("{\"name\": 3")
    proc = run_cli("detect", still_path, "-m", folder, "--no-provenance")
    assert proc.returncode != 0 and "card.json" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    _with_card(folder, thresholds={"fake": 0.2, "real": 0.5})
    proc = run_cli("detect", still_path, "-m", folder, "--no-provenance")
    assert proc.returncode != 0 and "real <= fake" in proc.stderr


def test_the_shipped_detector_states_its_training_data_and_error_rates() -> None:
    from twoface.forensics.detector_card import load_card
    from twoface.models.detectors import DEFAULT_DIR, load_detector

    card = load_card(DEFAULT_DIR, load_detector().name)
    assert card.has_card and card.video_calibrated
    assert any("liveportrait" in t for t in card.trained_on)
    assert not any("utkface" in t.lower() for t in card.trained_on)
    m = card.measured
    # The model card's promise: at most 2 % of unseen real videos called fake.
    assert m["video_fpr"] <= 0.02 and m["video_reals"] >= 15
    assert m["image_fpr"] <= 0.05 and card.blind_spots
    assert card.thresholds.min_track_faces >= 3


@pytest.fixture
def still_path(tmp_path: Path, face_image) -> Path:
    from twoface.media import write_image

    out = tmp_path / "still"
    out.mkdir()
    return write_image(out / "face.png", face_image)

