"""``eval swap`` must not rate a failed swap as good: known-good and known-bad swaps of
twoface's synthetic people, judged by the verdict and the measures behind it."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from twoface.metrics.image import gradient_energy, sharpness_ratio

FRAMES = 20


@pytest.fixture(scope="module")
def swaps(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Person A's video; an oracle swap (person B rendered with A's motion, light and
    framing: what a perfect swap would show); that oracle blurred inside the face; A's own
    face blurred (a blob that keeps A's identity); B's faceset (the target)."""
    from twoface.data.extract import ExtractOptions, extract
    from twoface.faces.detect import detect, landmarks
    from twoface.faces.dlib_models import DlibModels
    from twoface.faces.mask import face_mask
    from twoface.media import VideoWriter
    from twoface.synth import Identity, render_sequence

    root = tmp_path_factory.mktemp("swap_eval")
    models = DlibModels()
    a = render_sequence(Identity.random(4), FRAMES, size=192, seed=4)
    oracle = render_sequence(Identity.random(9), FRAMES, size=192, seed=4)

    def blurred(frames: list) -> list[np.ndarray]:
        out = []
        for r in frames:
            img = r.image
            found = detect(img, models, upsample=1)
            if not found:
                out.append(img)
                continue
            marks = landmarks(img, max(found, key=lambda f: f[0].area)[0], models)
            m = face_mask(marks, img.shape)[..., None]
            soft = cv2.GaussianBlur(img, (0, 0), 3.0).astype(np.float32)
            out.append((m * soft + (1 - m) * img).astype(np.uint8))
        return out

    videos = {"a": [r.image for r in a], "oracle": [r.image for r in oracle],
              "oracle_blurred": blurred(oracle), "a_blurred": blurred(a),
              "b": [r.image for r in render_sequence(Identity.random(9), FRAMES, size=192,
                                                     seed=9)]}
    paths = {}
    for name, frames in videos.items():
        paths[name] = root / f"{name}.mp4"
        with VideoWriter(paths[name], 25, crf=12) as w:
            for img in frames:
                w.write(img)
    extract([paths["b"]], root / "fs_b", ExtractOptions(size=96))
    return {**paths, "fs_b": root / "fs_b"}


def _eval(swaps: dict[str, Path], name: str) -> dict:
    from twoface.evaluate.swap import evaluate_swap

    return evaluate_swap(swaps[name], swaps["a"], swaps["fs_b"], every=2, n_synthetic=3)


def test_sharpness_ratio_of_a_blur() -> None:
    rng = np.random.default_rng(0)
    img = (rng.random((64, 64, 3)) * 255).astype(np.uint8)
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1
    assert sharpness_ratio(img, img, mask) == pytest.approx(1.0)
    assert sharpness_ratio(cv2.GaussianBlur(img, (0, 0), 2.0), img, mask) < 0.4
    assert np.isnan(gradient_energy(img, np.zeros((64, 64))))


def test_oracle_swap_is_not_failed(swaps: dict[str, Path]) -> None:
    r = _eval(swaps, "oracle")
    s = r["summary"]
    assert s["faces_found"] >= 0.9 and s["identity_retrieval"] >= 0.9, s
    assert 0.7 <= s["sharpness_ratio"] <= 1.4, s
    assert s["verdict"] != "failed", (s, r["verdict_reasons"])


def test_blurred_swap_fails_on_sharpness(swaps: dict[str, Path]) -> None:
    r = _eval(swaps, "oracle_blurred")
    s = r["summary"]
    assert s["sharpness_ratio"] < 0.4 and s["verdict"] == "failed", s
    assert any(reason.startswith("sharpness") for reason in r["verdict_reasons"])


def test_blurred_source_is_not_the_target(swaps: dict[str, Path]) -> None:
    """The source face blurred in place: a blob that still looks like the source person."""
    r = _eval(swaps, "a_blurred")
    assert r["summary"]["verdict"] == "failed"
    assert r["summary"]["identity_retrieval"] < 0.8
    assert "rules" in r and "convincing" in r["rules_text"]


def test_verdict_rules() -> None:
    from twoface.evaluate.swap import VerdictRules

    good = {"faces_found": 1.0, "identity_retrieval": 1.0, "pose_err_deg": 1.0,
            "sharpness_ratio": 0.9}
    rules = VerdictRules()
    assert rules.judge(good) == ("convincing", [])
    assert rules.judge(good | {"sharpness_ratio": 0.5})[0] == "recognisable but soft"
    assert rules.judge(good | {"pose_err_deg": 7.0})[0] == "failed"
    assert rules.judge(good | {"faces_found": float("nan")})[0] == "failed"
    # A painted portrait's brush strokes in soft footage: far more detail than the video.
    assert rules.judge(good | {"sharpness_ratio": 2.2})[0] == "recognisable but soft"
    verdict, why = rules.judge(good | {"sharpness_ratio": 3.2})
    assert verdict == "failed" and why[0].startswith("sharpness (more detail"), why
    assert "> 2.5" in rules.describe()


def test_real_gallery_from_shared(shared_faces: Path) -> None:
    """The real people of ../shared, at least 8: the source's file is left out by name, the
    target's person by distance (here d14, measured from its own video)."""
    from twoface.evaluate.gallery import identity_of, real_gallery
    from twoface.faces.dlib_models import DlibModels

    models = DlibModels()
    driving = shared_faces / "liveportrait" / "driving"
    d14 = identity_of("d14", [driving / "d14.mp4"], models, frames_per_video=2)
    assert d14 is not None
    people, notes = real_gallery(shared_faces, models, exclude_files=[driving / "d6.mp4"],
                                 exclude_vectors=[d14.vector])
    names = {p.name for p in people}
    assert len(people) >= 8 and not names & {"d6", "d14"} and "d12" in names, names
    assert any(n.startswith("d6: left out (the source") for n in notes)
    assert any(n.startswith("d14: left out (the same person") for n in notes)


def test_reenact_eval_fits_landmarks_in_the_detectors_framing() -> None:
    """dlib's predictor was trained on HOG boxes: ``eval reenact`` fits in the HOG box of the
    face the landmarks lie on, and in the box round the landmarks only where HOG finds none."""
    from twoface.evaluate.reenact import framing_box
    from twoface.faces.detect import detect, landmarks
    from twoface.faces.dlib_models import DlibModels
    from twoface.synth import Identity, render

    models = DlibModels()
    image = render(Identity.random(3), size=256, seed=3).image
    hog = detect(image, models)[0][0]
    marks = landmarks(image, hog, models)
    assert framing_box(image, marks, models) == hog
    blank = np.full_like(image, 128)
    box = framing_box(blank, marks, models)
    assert (box.x0, box.y0, box.x1, box.y1) == pytest.approx(
        (*marks.min(0).tolist(), *marks.max(0).tolist()))
    assert box != hog
