"""Motion clips, training, animation and evaluation end to end on synthetic talking heads;
bad inputs from the command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from test_extract import assert_one_line_error, run_cli
from test_media import write_tone
from twoface.train.motion import TINY

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two synthetic people talking (A with audio), their clips at 64 px, a tiny model trained
    3 steps, a still of a third person and face-free media."""
    import os

    from twoface.data.clips import make_clips
    from twoface.media import VideoWriter, write_image
    from twoface.synth import Identity, render, render_sequence
    from twoface.train.loop import TrainOptions
    from twoface.train.motion import train_motion

    root = tmp_path_factory.mktemp("motion")
    os.environ["TWOFACE_HOME"] = str(root / "home")  # signing keys made here, not in ~
    tone = root / "tone.m4a"
    write_tone(tone, "aac", seconds=1.0)
    renders = render_sequence(Identity.random(4), 20, size=160, seed=4)
    paths = {}
    # B is A mirrored: a second clip for the cross-clip plumbing at no extra rendering cost.
    for name, audio in (("a", tone), ("b", None)):
        paths[name] = root / f"{name}.mp4"
        with VideoWriter(paths[name], 25, audio_from=audio) as w:
            for r in renders:
                w.write(r.image if name == "a" else np.ascontiguousarray(r.image[:, ::-1]))
    results = make_clips([paths["a"], paths["b"]], root / "clips", size=64)
    train_motion([root / "clips"], root / "model", batch=2, overrides=TINY,
                 options=TrainOptions(steps=3, save_every=3, preview_every=3, progress=False))
    still = root / "still.png"
    write_image(still, np.pad(render(Identity.random(12), size=200, seed=12).image,
                              ((20, 20), (60, 60), (0, 0)), mode="edge"))
    blank = root / "blank.png"
    write_image(blank, np.full((200, 240, 3), 128, np.uint8))
    empty_video = root / "empty.mp4"
    with VideoWriter(empty_video, 25) as w:
        for i in range(10):
            w.write(np.full((96, 96, 3), 60 + 10 * i, np.uint8))
    return {"root": root, **paths, "clips": root / "clips", "results": results,
            "model": root / "model", "still": still, "blank": blank, "empty": empty_video}


def test_clips_are_square_stable_crops_of_every_frame(world: dict) -> None:
    from twoface.data.clips import find_clips

    assert [note for _, _, note in world["results"]] == ["made", "made"]
    clips = find_clips([world["clips"]])
    assert [c.folder.name for c in clips] == ["a", "b"]
    meta = json.loads((world["clips"] / "a" / "clip.json").read_text())
    assert meta["frames"] == 20 and meta["size"] == 64 and meta["fps"] == 25
    x0, y0, side = meta["box"]
    assert x0 >= 0 and y0 >= 0 and x0 + side <= 160.01 and y0 + side <= 160.01
    frames = clips[0].load(64)
    assert frames.shape == (20, 64, 64, 3) and frames.dtype == np.uint8
    assert frames.std(axis=0).mean() > 1  # the head moves inside the still box


def test_training_wrote_a_model_folder(world: dict) -> None:
    for name in ("config.json", "model.safetensors", "state.safetensors", "log.csv",
                 "samples/latest.png"):
        assert (world["model"] / name).is_file(), name
    assert json.loads((world["model"] / "config.json").read_text())["kind"] == "motion"


def test_motion_preset_fills_the_recipe_and_explicit_values_win(world: dict) -> None:
    from twoface.train.loop import TrainOptions
    from twoface.train.motion import train_motion
    from twoface.train.presets import MOTION_PRESETS

    run = world["root"] / "preset_run"
    result = train_motion([world["clips"]], run, preset="cpu", batch=2,
                          overrides={**TINY, "size": 64},
                          options=TrainOptions(steps=2, preview_every=0, progress=False))
    saved = json.loads((run / "config.json").read_text())
    cpu = MOTION_PRESETS["cpu"]
    assert saved["name"] == cpu.model and result.step == 2
    assert saved["config"]["identity"] == cpu.overrides["identity"]  # the preset's loss
    assert saved["config"]["size"] == 64 and saved["config"]["lr"] == TINY["lr"]  # given wins


def test_animation_keeps_frames_fps_audio_and_is_marked(world: dict) -> None:
    from twoface.apply.animate import AnimateOptions, AnimatePipeline
    from twoface.media import probe
    from twoface.provenance import detect_file, verify_file

    out = world["root"] / "animated.mp4"
    pipe = AnimatePipeline.from_pretrained(world["model"])
    report = pipe(world["still"], world["a"], out, AnimateOptions(batch=7, out_size=128))
    info = probe(out)
    assert info.frame_count == report.frames == 20 and info.fps == 25
    assert (info.width, info.height) == (128, 128)
    assert info.has_audio and info.audio_codec == "aac"
    assert detect_file(out).detected
    assert verify_file(out)["manifest"]["state"] in ("trusted", "valid")
    assert any("upscaled" in n for n in report.notes)


def test_evaluation_reports_the_fomm_metrics(world: dict) -> None:
    from twoface.evaluate.motion import evaluate_motion

    result = evaluate_motion([world["clips"]], world["model"], every=5,
                             output=world["root"] / "eval")
    s = result["summary"]
    assert s["clips"] == 2 and s["frames"] == 8 and s["model_size"] == 64
    assert 0 < s["l1"] < 0.5
    assert 0 <= s["missing_rate"] <= 1 or np.isnan(s["missing_rate"])
    for key in ("akd_px256", "aed", "id_dist_output_to_source", "id_dist_driver_to_source"):
        assert key in s
    assert len(result["cross"]) == 2  # a animated by b and b by a
    assert (world["root"] / "eval" / "metrics.json").is_file()
    assert (world["root"] / "eval" / "a_strip.png").is_file()


def test_cli_paste_back_best_frame_without_mark(world: dict) -> None:
    from twoface.media import probe
    from twoface.provenance import detect_file

    out = world["root"] / "pasted.mp4"
    proc = run_cli("animate", world["still"], "--driving", world["a"], "-m", world["model"],
                   "-o", out, "--paste-back", "--find-best-frame", "--adapt-scale",
                   "--no-mark", "-q")
    assert proc.returncode == 0, proc.stderr
    assert "watermark" in proc.stderr.lower() or "mark" in proc.stderr.lower()
    info = probe(out)
    assert (info.width, info.height) == (320, 240) and info.frame_count == 20
    assert not detect_file(out).detected


def test_cli_bad_inputs_give_one_line_errors(world: dict) -> None:
    root, model = world["root"], world["model"]
    proc = run_cli("animate", world["blank"], "--driving", world["a"], "-m", model,
                   "-o", root / "x.mp4", "-q")
    assert_one_line_error(proc, world["blank"], "--no-crop")
    assert proc.returncode == 2
    proc = run_cli("animate", world["still"], "--driving", world["empty"], "-m", model,
                   "-o", root / "y.mp4", "-q")
    assert_one_line_error(proc, world["empty"], "no face")


def test_mismatched_sizes_and_missing_clips_are_clear_errors(world: dict) -> None:
    from twoface.errors import TwofaceError
    from twoface.evaluate.motion import evaluate_motion
    from twoface.train.loop import TrainOptions
    from twoface.train.motion import train_motion

    root, model = world["root"], world["model"]
    with pytest.raises(TwofaceError, match="cut the clips with --size 128") as info:
        train_motion([world["clips"]], root / "m128", size=128,
                     options=TrainOptions(steps=1, progress=False))
    assert info.value.path == world["clips"] / "a"
    with pytest.raises(TwofaceError, match="trained with size=64; cannot resume with size=128"):
        train_motion([world["clips"]], model, size=128,
                     options=TrainOptions(steps=5, resume=True, progress=False))
    with pytest.raises(TwofaceError, match="holds no clips"):
        evaluate_motion([root], model)
    notes: list[str] = []
    train_motion([world["clips"]], root / "m_big", overrides={**TINY, "size": 64}, notes=notes,
                 batch=1, options=TrainOptions(steps=1, preview_every=0, progress=False))
    assert notes == []  # 64 px clips for a 64 px model: nothing resized


def test_no_crop_animates_a_face_free_image(world: dict) -> None:
    from twoface.apply.animate import AnimateOptions, AnimatePipeline
    from twoface.media import probe

    out = world["root"] / "blank.mp4"
    pipe = AnimatePipeline.from_pretrained(world["model"])
    report = pipe(world["blank"], world["a"], out, AnimateOptions(crop=False, mark=False,
                                                                  out_size=64))
    assert report.frames == 20 and probe(out).width == 64


def test_synthetic_clips_for_the_demo_feed_training(tmp_path: Path) -> None:
    from twoface.data.clips import ClipBatches, find_clips, write_synthetic_clips

    folders = write_synthetic_clips(tmp_path / "clips", people=2, frames=4, size=64)
    clips = find_clips([tmp_path / "clips"])
    assert [c.folder for c in clips] == folders and clips[0].load(64).shape == (4, 64, 64, 3)
    batch = ClipBatches.from_clips(clips, 64, 3).batch(0)
    assert batch["source"].shape == (3, 3, 64, 64)
