"""Reenactment (``twoface reenact``) and the one-shot swap (``twoface swap --face``) with the
motion model, on synthetic people: what stays the target's, marking, the keypoint algebra,
and bad inputs from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from test_extract import assert_one_line_error, run_cli
from test_media import write_tone

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A target talking with audio, an actor, a photo of a third person, a photo of two
    people, face-free media, and an untrained 64 px motion model (the plumbing, not quality)."""
    import os

    from twoface.media import VideoWriter, write_image
    from twoface.models.registry import create, save_pretrained
    from twoface.synth import Identity, render, render_sequence
    from twoface.train.motion import TINY

    root = tmp_path_factory.mktemp("reenact")
    os.environ["TWOFACE_HOME"] = str(root / "home")
    tone = root / "tone.m4a"
    write_tone(tone, "aac", seconds=1.0)
    paths = {}
    for name, seed, audio in (("target", 4, tone), ("actor", 9, None)):
        paths[name] = root / f"{name}.mp4"
        with VideoWriter(paths[name], 25, audio_from=audio) as w:
            for r in render_sequence(Identity.random(seed), 16 if name == "target" else 10,
                                     size=192, seed=seed):
                w.write(r.image)
    face = render(Identity.random(12), size=200, seed=12).image
    photo = root / "photo.png"
    write_image(photo, np.pad(face, ((20, 20), (60, 60), (0, 0)), mode="edge"))
    pair = root / "pair.png"
    write_image(pair, np.hstack([face, render(Identity.random(13), size=200, seed=13).image]))
    blank = root / "blank.png"
    write_image(blank, np.full((200, 240, 3), 128, np.uint8))
    empty = root / "empty.mp4"
    with VideoWriter(empty, 25) as w:
        for i in range(6):
            w.write(np.full((96, 96, 3), 60 + 10 * i, np.uint8))
    model = root / "model"
    save_pretrained(create("motion", "small", **{**TINY, "size": 64}), model)
    return {"root": root, **paths, "photo": photo, "pair": pair, "blank": blank,
            "empty": empty, "model": model}


def _outside_face_psnr(made: Path, original: Path) -> tuple[float, float]:
    """PSNR of ``made`` against ``original`` away from the face (dilated hull), and the mean
    absolute change inside it, over all frames."""
    import cv2

    from twoface.faces.detect import detect, landmarks
    from twoface.faces.dlib_models import DlibModels
    from twoface.faces.mask import face_mask
    from twoface.media import iter_frames

    models = DlibModels()
    err, n, inside = 0.0, 0, []
    for a, b in zip(iter_frames(made), iter_frames(original), strict=True):
        found = detect(b.image, models, upsample=1)
        mask = np.zeros(b.image.shape[:2], bool)
        if found:
            marks = landmarks(b.image, found[0][0], models)
            hull = face_mask(marks, b.image.shape, brow_raise=0.35)
            mask = cv2.dilate(hull, np.ones((25, 25), np.uint8)) > 0
            inside.append(float(np.abs(a.image.astype(float) - b.image)[hull > 0.5].mean()))
        diff = (a.image.astype(float) - b.image)[~mask]
        err += float((diff ** 2).sum())
        n += diff.size
    return 10 * np.log10(255 ** 2 / max(err / n, 1e-9)), float(np.mean(inside))


def test_reenact_changes_the_face_only_keeps_audio_and_is_marked(world: dict) -> None:
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline
    from twoface.media import probe
    from twoface.provenance import detect_file, verify_file

    out = world["root"] / "reenacted.mp4"
    pipe = ReenactPipeline.from_pretrained(world["model"])
    report = pipe(world["target"], world["actor"], out, ReenactOptions(batch=5))
    info = probe(out)
    assert info.frame_count == report.frames == 16 and report.reenacted_frames >= 14
    assert info.has_audio and (info.width, info.height) == (192, 192)
    assert any("last frame holds" in n for n in report.notes)  # the actor's clip is shorter
    psnr, inside = _outside_face_psnr(out, world["target"])
    assert psnr > 30  # hair and background are the target's (video coding aside)
    assert inside > 3  # an untrained model draws something else inside the face
    assert detect_file(out).detected
    manifest = verify_file(out)["manifest"]
    assert manifest["state"] in ("trusted", "valid")
    assert manifest["claims"]["method"] == "reenact"


def test_expression_transfer_removes_the_head_motion() -> None:
    """Driving keypoints = a similarity of the neutral ones plus an expression: the source
    gets exactly the expression, in the neutral frame's axes, and no head motion."""
    from twoface.apply.reenact import expression_transfer

    g = torch.Generator().manual_seed(0)
    ref = torch.rand(1, 10, 2, generator=g) * 2 - 1
    expr = torch.zeros(1, 10, 2)
    expr[0, 3] = torch.tensor([0.05, -0.02])  # one part moves (a mouth corner)
    angle, scale, shift = 0.3, 1.2, torch.tensor([0.1, -0.05])
    rot = torch.tensor([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]],
                       dtype=torch.float32)
    d = ((ref + expr) @ rot.T) * scale + shift
    eye = torch.eye(2).expand(1, 10, 2, 2)
    kp_s = {"value": torch.rand(1, 10, 2, generator=g), "jacobian": eye.clone()}
    out = expression_transfer(kp_s, {"value": d, "jacobian": scale * rot @ eye},
                              {"value": ref, "jacobian": eye.clone()})
    moved = out["value"] - kp_s["value"]
    # The similarity is fitted to all points, so the one moving part shifts it a little;
    # the head's motion itself moves points by ~0.1-0.4 here.
    assert float((moved - expr).abs().max()) < 0.015
    assert float((d - ref).abs().max()) > 0.1
    assert torch.allclose(out["jacobian"], eye, atol=0.02)  # the head's turn is taken out


def test_warp_reenactment_moves_the_targets_landmarks_by_the_actors_expression() -> None:
    """The actor turns its head and opens its mouth: the target (twice the size, turned
    the other way) gets the mouth opening, scaled and turned into its own frame, and none of
    the actor's head turn."""
    from twoface.apply.reenact import moved_marks
    from twoface.faces.align import template_points

    def similar(points: np.ndarray, angle: float, scale: float, shift: float) -> np.ndarray:
        c, s = np.cos(angle), np.sin(angle)
        return points @ (scale * np.array([[c, -s], [s, c]])).T + shift

    neutral = template_points(100).astype(np.float64)
    open_mouth = neutral.copy()
    open_mouth[[56, 57, 58, 65, 66, 67], 1] += 6  # the lower lip drops 6 px
    actor = similar(open_mouth, 0.2, 1.0, 5.0)
    target = similar(neutral, -0.1, 2.0, 50.0)
    moved = moved_marks(target, actor, neutral)
    want = similar(open_mouth, -0.1, 2.0, 50.0)
    # The fit of the head's turn sees the moving lip a little: a fraction of a pixel here.
    assert np.abs(moved - want).max() < 1.5
    assert np.abs(moved - target)[[57, 66]].max() > 10  # the lip drop arrives, doubled


def test_photo_shaped_landmarks_go_from_the_frames_to_the_photos_spacing() -> None:
    """A photo with wider-set eyes: weight 0 is the frame's landmarks, 1 the photo's spacing
    put in the frame's place, 0.5 halfway; the jaw line is always the frame's."""
    from twoface.apply.oneshot import photo_shaped
    from twoface.faces.align import template_points

    frame = template_points(100).astype(np.float64) + 40
    photo = template_points(100).astype(np.float64)
    photo[36:42, 0] -= 4  # the photo's eyes sit further apart
    photo[42:48, 0] += 4
    calm = frame.copy()  # the frame shows its calm face: no expression to carry
    assert np.allclose(photo_shaped(photo, frame, calm, 0.0), frame)
    full, half = photo_shaped(photo, frame, calm, 1.0), photo_shaped(photo, frame, calm, 0.5)
    gap = lambda m: float(m[42:48, 0].mean() - m[36:42, 0].mean())  # noqa: E731
    assert gap(full) - gap(frame) > 2 and abs(gap(half) - (gap(full) + gap(frame)) / 2) < 0.01
    assert np.allclose(full[:17], frame[:17]) and np.allclose(half[:17], frame[:17])


def test_anchored_warp_leaves_the_frame_outside_its_ring_untouched() -> None:
    """A warp inside fixed ring points changes nothing past the ring (no seam to blend)."""
    from twoface.apply._warp import anchor_ring, face_points, piecewise_warp, triangles
    from twoface.faces.align import template_points

    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (200, 200, 3), np.uint8)
    marks = template_points(80).astype(np.float64) + 60
    moved = marks.copy()
    moved[48:68, 1] += 4  # the mouth moves down
    ring = anchor_ring(marks)
    src, dst = np.vstack([face_points(marks), ring]), np.vstack([face_points(moved), ring])
    warped, covered = piecewise_warp(image, src, dst, triangles(src), (200, 200))
    out = np.where(covered[..., None], warped, image)
    assert covered[100, 100] and not covered[2, 2]
    assert np.abs(out.astype(int) - image)[~covered].max() == 0
    assert np.abs(out.astype(int) - image)[covered].mean() > 5  # the inside did move


def test_mouth_interior_comes_from_an_open_donor_only() -> None:
    """Lips opened by a warp get the inside of the donor's open mouth (dark here); a donor
    with a shut mouth gives nothing."""
    import cv2

    from twoface.apply._warp import fill_mouth
    from twoface.faces.align import template_points

    face = np.full((160, 160, 3), 200, np.uint8)
    marks = template_points(100).astype(np.float64) + 30
    marks[[56, 57, 58, 65, 66, 67], 1] += 8  # opened lips on a face whose inside is skin
    donor = np.full((160, 160, 3), 190, np.uint8)
    d_marks = marks.copy()
    cv2.fillPoly(donor, [np.round(d_marks[48:60]).astype(np.int32)], (150, 80, 80))
    cv2.fillPoly(donor, [np.round(d_marks[60:68]).astype(np.int32)], (30, 20, 20))
    out = fill_mouth(face, marks, donor, d_marks)
    centre = np.round(marks[60:68].mean(0)).astype(int)
    assert out[centre[1], centre[0]].mean() < 80  # the dark inside arrived
    shut = d_marks.copy()
    shut[[65, 66, 67], 1] = shut[[63, 62, 61], 1]  # the donor's lips meet
    assert np.array_equal(fill_mouth(face, marks, donor, shut), face)


def test_shut_eyes_show_the_frames_own_lids() -> None:
    """A warp cannot shut the photo's open eyes: where the frame's eyes are shut, the paste
    leaves the frame's own eyes and lids (dark here) and keeps the drawn face elsewhere."""
    from twoface.apply._facecrop import Paster, eyes_shut
    from twoface.faces.align import template_points
    from twoface.faces.quality import eye_openness

    marks = template_points(160).astype(np.float64) + 20
    wide = eye_openness(marks)
    closed = marks.copy()
    for upper, lower in ((37, 41), (38, 40), (43, 47), (44, 46)):
        mid = (closed[upper, 1] + closed[lower, 1]) / 2
        closed[upper, 1], closed[lower, 1] = mid - 0.3, mid + 0.3
    assert np.all(eyes_shut(marks, wide) == 0) and np.all(eyes_shut(closed, wide) == 1)
    frame = np.zeros((200, 200, 3), np.uint8)
    face = np.full((200, 200, 3), 0.8, np.float32)
    eye = np.round(closed[36:42].mean(0)).astype(int)
    cheek = np.round((closed[31] + closed[2]) / 2).astype(int)
    for shut, dark in ((eyes_shut(closed, wide), True), (np.zeros(2), False)):
        out = Paster(color="none")(frame, face, (0, 0, 200), closed, keep_eyes=shut)
        assert (out[eye[1], eye[0]].mean() < 40) == dark
        assert out[cheek[1], cheek[0]].mean() > 150


def test_blinks_are_counted_against_each_videos_own_open_eyes() -> None:
    from twoface.evaluate.swap import blink_agreement as _blinks

    src = [0.3] * 8 + [0.1, 0.1]
    rows = [{"eyes_source": s, "eyes_swapped": w} for s, w in
            zip(src, [0.2] * 8 + [0.05, 0.2], strict=True)]  # narrower eyes; one blink of two
    got = _blinks(rows)
    assert got["source_shut_frames"] == 2
    assert got["blinks_kept"] == 0.5 and got["blinks_added"] == 0.0
    assert np.isnan(_blinks([{"eyes_source": 0.3, "eyes_swapped": 0.3}] * 4)["blinks_kept"])


def test_warp_reenactment_is_sharp_and_keeps_the_target(world: dict) -> None:
    from twoface.apply.reenact import ReenactOptions, ReenactPipeline

    out = world["root"] / "reenact_warp.mp4"
    report = ReenactPipeline.warp_only()(world["target"], world["actor"], out,
                                         ReenactOptions(engine="warp"))
    assert report.reenacted_frames >= 14
    assert any("expression only" in n for n in report.notes)
    psnr, _ = _outside_face_psnr(out, world["target"])
    assert psnr > 30


def test_one_shot_swap_from_photos(world: dict) -> None:
    from twoface.apply.oneshot import OneShotOptions, OneShotSwapPipeline
    from twoface.media import probe
    from twoface.provenance import verify_file

    out = world["root"] / "oneshot.mp4"
    pipe = OneShotSwapPipeline.from_pretrained(world["model"])
    report = pipe(world["target"], [world["photo"]], out, OneShotOptions(batch=6))
    assert probe(out).frame_count == report.frames == 16
    assert report.photo_frames == {"photo.png": report.swapped_frames}
    assert report.swapped_frames >= 14
    psnr, inside = _outside_face_psnr(out, world["target"])
    assert psnr > 30 and inside > 3
    assert verify_file(out)["manifest"]["claims"]["method"] == "swap_oneshot"


def test_warp_engine_puts_the_photos_person_into_the_video(world: dict) -> None:
    """No model: the photo's face warped onto each frame's landmarks, sharp, and the person
    in the output is the photo's, not the target's."""
    from twoface.apply.oneshot import OneShotOptions, OneShotSwapPipeline
    from twoface.faces.detect import detect, embedding, landmarks
    from twoface.faces.dlib_models import DlibModels
    from twoface.media import iter_frames, read_image

    out = world["root"] / "oneshot_warp.mp4"
    report = OneShotSwapPipeline.warp_only()(world["target"], [world["photo"]], out,
                                             OneShotOptions(engine="warp"))
    assert report.swapped_frames >= 14
    psnr, inside = _outside_face_psnr(out, world["target"])
    assert psnr > 30 and inside > 3
    models = DlibModels()

    def person(image: np.ndarray) -> np.ndarray:
        box = detect(image, models, upsample=1)[0][0]
        return embedding(image, landmarks(image, box, models), models)

    photo = person(read_image(world["photo"]))
    pairs = [(person(a.image), person(b.image)) for a, b in zip(
        iter_frames(out), iter_frames(world["target"]), strict=True) if a.index % 5 == 0]
    to_photo = [float(np.linalg.norm(o - photo)) for o, _ in pairs]
    to_target = [float(np.linalg.norm(o - t)) for o, t in pairs]
    assert np.median(to_photo) < np.median(to_target)


def test_the_closest_photo_in_pose_takes_over_only_when_clearly_better() -> None:
    from twoface.apply.oneshot import OneShotSwapPipeline, _Photo

    base = np.random.default_rng(0).normal(size=(68, 2))
    photos = [_Photo(Path(f"{i}.png"), np.zeros((4, 4, 3), np.uint8), base + i)
              for i in range(2)]
    choose = OneShotSwapPipeline._choose
    assert choose(photos, base + 0.45, 0, 0.15) == 0  # photo 1 is a bit closer: no switch
    assert choose(photos, base + 0.8, 0, 0.15) == 1  # clearly closer: switch
    assert choose(photos, base + 0.1, 1, 0.15) == 0


def test_cli_reenact_and_one_shot_swap(world: dict) -> None:
    out = world["root"] / "cli_reenact.mp4"
    proc = run_cli("reenact", world["target"], "--driver", world["actor"], "-m",
                   world["model"], "-o", out, "--expression-only", "--neutral-frame", "2",
                   "-q")
    assert proc.returncode == 0, proc.stderr
    assert out.is_file()
    out = world["root"] / "cli_oneshot.mp4"
    proc = run_cli("swap", world["target"], "--face", world["photo"], "--face",
                   world["photo"], "-m", world["model"], "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "swapped from photos" in proc.stdout and out.is_file()
    proc = run_cli("swap", world["target"], "--face", world["photo"], "--engine", "warp",
                   "--no-occlusion", "-o", world["root"] / "cli_warp.mp4", "-q")  # no model
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("swap", world["target"], "-o", world["root"] / "cli_none.mp4", "-q")
    assert_one_line_error(proc, world["target"], "swap model")


@pytest.mark.parametrize("case", ["blank photo", "two faces", "faceless target",
                                  "faceless actor"])
def test_cli_bad_inputs_give_one_line_errors(world: dict, case: str) -> None:
    out = world["root"] / f"bad_{case.replace(' ', '_')}.mp4"
    if case == "faceless actor":
        proc = run_cli("reenact", world["target"], "--driver", world["empty"], "-m",
                       world["model"], "-o", out, "-q")
        assert_one_line_error(proc, world["empty"], "no face")
    else:
        target, face, bad, words = {
            "blank photo": (world["target"], world["blank"], world["blank"], "no face"),
            "two faces": (world["target"], world["pair"], world["pair"], "2 faces"),
            "faceless target": (world["empty"], world["photo"], world["empty"], "no face"),
        }[case]
        proc = run_cli("swap", target, "--face", face, "-m", world["model"], "-o", out, "-q")
        assert_one_line_error(proc, bad, words)
    assert not out.exists()  # nothing half-written


def test_wrong_kinds_of_input_are_refused(world: dict) -> None:
    from twoface.apply.oneshot import OneShotSwapPipeline
    from twoface.apply.reenact import ReenactPipeline
    from twoface.errors import TwofaceError

    with pytest.raises(TwofaceError, match="photos"):
        OneShotSwapPipeline.from_pretrained(world["model"])(
            world["target"], [world["actor"]], world["root"] / "x.mp4")
    with pytest.raises(TwofaceError, match="must be a video"):
        ReenactPipeline.from_pretrained(world["model"])(
            world["target"], world["photo"], world["root"] / "x.mp4")
    with pytest.raises(TwofaceError, match="is an input"):
        ReenactPipeline.from_pretrained(world["model"])(
            world["target"], world["actor"], world["target"])


def test_eval_reenact_scores_doing_nothing_as_no_gain(world: dict) -> None:
    """The untouched target as the "reenactment": no expression gain, full sharpness, the
    target's identity; the untrained model's output: no better than doing nothing."""
    from twoface.evaluate.reenact import evaluate_reenact

    still = evaluate_reenact(world["target"], world["target"], world["actor"], every=3,
                             n_synthetic=2)
    s = still["summary"]
    assert s["expression_gain"] == pytest.approx(0.0, abs=1e-9)
    assert s["expression_baseline_iod"] > 0.005  # the actor does move
    assert s["sharpness_ratio"] == pytest.approx(1.0) and s["pose_err_deg"] == 0
    assert s["identity_retrieval"] == 1.0
    made = world["root"] / "reenacted.mp4"
    if made.is_file():  # written by the first test of this module
        s = evaluate_reenact(made, world["target"], world["actor"], every=3,
                             n_synthetic=2)["summary"]
        assert s["expression_gain"] < 0.5 and s["sharpness_ratio"] < 0.9
