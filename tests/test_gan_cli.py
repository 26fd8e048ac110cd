"""GAN faces end to end through the command line: train, resume, generate (marked), evaluate,
and one-line errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from test_extract import assert_one_line_error, run_cli


class _Proc:
    """What :func:`run_cli` returns, for a command run in this process (no interpreter start:
    each subprocess costs seconds of imports)."""

    def __init__(self, code: int, out: str, err: str) -> None:
        self.returncode, self.stdout, self.stderr = code, out, err


def cli(capsys: pytest.CaptureFixture[str], *args: str | Path) -> _Proc:
    """Run ``twoface ARGS`` through the real entry point in this process."""
    import sys

    from twoface.cli import main

    capsys.readouterr()
    argv, sys.argv = sys.argv, ["twoface", *map(str, args)]
    code = 0
    try:
        main()
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        sys.argv = argv
    got = capsys.readouterr()
    return _Proc(code, got.out, got.err)

TINY = ["--set", "g_channels=4", "--set", "d_channels=4", "--set", "max_channels=16",
        "--set", "z_dim=16"]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A faceset of 20 synthetic faces (5 people) and a tiny 32 px GAN trained 4 steps."""
    import os

    from twoface.data.extract import ExtractOptions, extract
    from twoface.media import write_image
    from twoface.synth import Identity, render
    from twoface.types import Pose

    root = tmp_path_factory.mktemp("gan")
    os.environ["TWOFACE_HOME"] = str(root / "home")  # signing keys made here, not in ~
    (root / "img").mkdir()
    for i in range(20):
        r = render(Identity.random(i // 4), Pose(8.0 * (i % 4) - 12, 0.0, 0.0), size=160,
                   seed=i)
        write_image(root / "img" / f"p{i:02d}.png", r.image)
    extract([root / "img"], root / "fs", ExtractOptions(size=64))
    proc = run_cli("train", "gan", root / "fs", "-o", root / "model", "--size", "32",
                   "--batch", "4", "--steps", "4", "--save-every", "2", "--preview-every",
                   "2", "-q", *TINY)
    assert proc.returncode == 0, proc.stderr
    return {"root": root, "fs": root / "fs", "model": root / "model"}


def test_training_wrote_a_model_folder_and_resumes(world: dict,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    model = world["model"]
    for name in ("config.json", "model.safetensors", "state.safetensors", "log.csv",
                 "samples/latest.png", "samples/step_0000002.png"):
        assert (model / name).is_file(), name
    cfg = json.loads((model / "config.json").read_text())
    assert cfg["kind"] == "gan" and cfg["name"] == "fastgan-small"
    assert cfg["config"]["size"] == 32 and cfg["config"]["g_channels"] == 4
    again = cli(capsys, "train", "gan", world["fs"], "-o", model, "--steps", "6", "-q")
    assert_one_line_error(again, model, "--resume")
    proc = cli(capsys, "train", "gan", world["fs"], "-o", model, "--steps", "6", "--resume",
               "-q")
    assert proc.returncode == 0, proc.stderr
    steps = [int(r.split(",")[0]) for r in (model / "log.csv").read_text().splitlines()[1:]]
    assert steps[-1] == 6


def test_generate_writes_marked_faces_grid_and_video(world: dict, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    from twoface.media import probe, read_image
    from twoface.provenance import verify_file

    out = tmp_path / "out"
    proc = cli(capsys, "generate", "-m", world["model"], "-n", "5", "-o", out, "--seed", "3",
                   "--grid", out / "grid.png", "--interpolate", "--keyframes", "2",
                   "--frames-between", "3", "-q")
    assert proc.returncode == 0, proc.stderr
    pngs = sorted(out.glob("gan_s3_*.png"))
    assert len(pngs) == 5 and read_image(pngs[0]).shape == (64, 64, 3)  # upscaled to mark
    video = out / "interpolation_s3.mp4"
    assert probe(video).frame_count == 6
    for path in (*pngs, out / "grid.png", video):
        report = verify_file(path)
        assert report["verdict"].startswith("synthetic: made by twoface"), (path, report["verdict"])
        assert report["status"] == "twoface", path
        assert report["watermark"]["detected"], path
        assert report["manifest"]["claims"]["method"] == "gan"


def test_same_seed_same_faces(world: dict) -> None:
    from twoface.apply.generate import GanPipeline

    pipe = GanPipeline.from_pretrained(world["model"])
    a, b = pipe.faces(4, seed=7), pipe.faces(4, seed=7)
    c = pipe.faces(4, seed=8)
    assert a.dtype == np.uint8 and a.shape == (4, 32, 32, 3)
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert not np.array_equal(pipe.faces(4, seed=7, truncation=0.5), a)


def test_eval_reports_every_metric(world: dict, tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    proc = cli(capsys, "eval", "gan", "-m", world["model"], "--real", world["fs"], "-n", "12",
                   "-o", tmp_path / "ev", "--json")
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    for key in ("fid_dlib", "kid_dlib", "nn_identity_median", "nn_pixel_rmse_median",
                "real_nn_pixel_rmse_median"):
        assert np.isfinite(s[key]), key
    assert s["fid_dlib"] >= 0 and 0 <= s["detection_rate"] <= 1
    assert s["real_detection_rate"] > 0.5  # the real faces at 32 px, upscaled, mostly found
    assert s["generated"] == 12 and s["real"] == 20 and s["inception_fid"] is None
    assert (tmp_path / "ev" / "metrics.json").is_file()
    assert (tmp_path / "ev" / "nearest.png").is_file()


def test_bad_inputs_are_one_line_errors(world: dict, tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    nothing = tmp_path / "nothing"
    nothing.mkdir()
    assert_one_line_error(run_cli("train", "gan", nothing, "-o", tmp_path / "m", "-q"),
                          nothing, "not a faceset")
    # A size the GAN does not offer is a usage error (exit 2, click's message with the choices).
    bad_size = cli(capsys, "train", "gan", world["fs"], "-o", tmp_path / "m2", "--size", "100",
                   "-q")
    assert bad_size.returncode == 2 and "Traceback" not in bad_size.stderr
    assert "'--size'" in bad_size.stderr and "'32'" in bad_size.stderr
    assert_one_line_error(cli(capsys, "generate", "-m", nothing, "-o", tmp_path / "o", "-q"),
                          nothing, "not a model folder")
    assert_one_line_error(cli(capsys, "generate", "-m", world["model"], "-o", tmp_path / "o",
                                  "--truncation", "5", "-q"), Path("truncation"), "must be in")
    assert_one_line_error(cli(capsys, "eval", "gan", "-m", world["model"], "--real", nothing),
                          nothing, "not a faceset")
    broken = tmp_path / "broken"
    broken.mkdir()
    for name in ("config.json", "model.safetensors"):
        (broken / name).write_bytes((world["model"] / name).read_bytes())
    cfg = json.loads((broken / "config.json").read_text())
    cfg["kind"] = "swap"
    (broken / "config.json").write_text(json.dumps(cfg))
    assert_one_line_error(cli(capsys, "generate", "-m", broken, "-o", tmp_path / "o", "-q"),
                          broken, "not a 'gan' model")
    cfg["kind"] = "gan"
    (broken / "config.json").write_text(json.dumps(cfg))
    (broken / "model.safetensors").write_bytes(b"garbage")
    assert_one_line_error(cli(capsys, "generate", "-m", broken, "-o", tmp_path / "o", "-q"),
                          Path("model.safetensors"), "corrupt")
    few = tmp_path / "few"
    from twoface.data.faceset import Faceset

    fs = Faceset.load(world["fs"])
    fs.faces = fs.faces[:3]
    fs.copy_to(few)
    assert_one_line_error(cli(capsys, "train", "gan", few, "-o", tmp_path / "m3", "-q"), few,
                          "at least 16")
