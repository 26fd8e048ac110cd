"""Detection datasets from synthetic media, and detector training on them (tiny, CPU)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from test_detect_scan import run_cli

torch.set_num_threads(1)
FRAMES, SIZE = 9, 128


def _pasted_fake(a_frames: list, b_frames: list) -> list[np.ndarray]:
    """A crude face swap: person B's face (same pose, same light) pasted into A's frames
    through A's feathered landmark mask — the boundary a real swap leaves too."""
    from twoface.faces.mask import face_mask

    out = []
    for a, b in zip(a_frames, b_frames, strict=True):
        m = face_mask(a.landmarks, a.image.shape, feather=0.1)[:, :, None]
        out.append(np.round(b.image * m + a.image * (1 - m)).astype(np.uint8))
    return out


@pytest.fixture(scope="module")
def detect_media(tmp_path_factory) -> dict[str, Path]:
    """Three real talking-head videos (people 11, 12, 13) and one pasted-face fake of 11←12."""
    from twoface.media import write_video
    from twoface.synth import Identity, render_sequence

    root = tmp_path_factory.mktemp("detect_media")
    renders = {k: render_sequence(Identity.random(k), FRAMES, size=SIZE, seed=7)
               for k in (11, 12)}
    renders[13] = render_sequence(Identity.random(13), FRAMES, size=SIZE, seed=8)
    paths = {}
    for k, frames in renders.items():
        paths[f"real{k}"] = write_video(root / f"person{k}.mp4", [f.image for f in frames],
                                        crf=10)
    paths["fake"] = write_video(root / "person11_swapped.mp4",
                                _pasted_fake(renders[11], renders[12]), crf=10)
    return paths


@pytest.fixture(scope="module")
def dataset(detect_media, tmp_path_factory) -> Path:
    from twoface.data.detect_dataset import DatasetOptions, build_dataset

    out = tmp_path_factory.mktemp("ds") / "dataset"
    build_dataset([detect_media["real11"], detect_media["real12"], detect_media["real13"]],
                  [("paste", detect_media["fake"])], out,
                  DatasetOptions(crfs=(0, 40), size=64, every=3, max_frames=4))
    return out


def test_dataset_manifest_splits_by_group_and_encodes_every_class_alike(dataset: Path) -> None:
    from twoface.data.detect_manifest import MANIFEST_COLUMNS, Manifest

    with open(dataset / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert tuple(rows[0]) == MANIFEST_COLUMNS
    assert {r["method"] for r in rows} == {"real", "paste"}
    # Every video contributes crops at both CRFs, frame for frame.
    for video in {r["video"] for r in rows}:
        frames = {q: sorted(r["frame"] for r in rows if r["video"] == video and r["crf"] == q)
                  for q in ("0", "40")}
        assert frames["0"] and frames["0"] == frames["40"]
    # One split per group (video/identity), and every split is used with 4 groups.
    per_group: dict[str, set[str]] = {}
    for r in rows:
        per_group.setdefault(r["identity"], set()).add(r["split"])
    assert all(len(v) == 1 for v in per_group.values())
    assert {r["split"] for r in rows} == {"train", "val", "test"}
    man = Manifest.load(dataset)
    imgs = man.images(man.rows[:3], 64)
    assert imgs.shape == (3, 64, 64, 3) and imgs.dtype == np.uint8
    marks = Manifest.landmarks(man.rows[:3])
    assert marks.shape == (3, 68, 2) and 0 < marks.mean() < 64
    # CRF 40 really is a different encoding of the same crop.
    a = man.images(man.select(crf=0)[:1], 64)[0].astype(int)
    b = man.images([r for r in man.select(crf=40) if r["video"] == man.select(crf=0)[0]["video"]
                    and r["frame"] == man.select(crf=0)[0]["frame"]][:1], 64)[0].astype(int)
    assert 0.5 < np.abs(a - b).mean() < 30
    doc = json.loads((dataset / "dataset.json").read_text())
    assert doc["options"]["crfs"] == [0, 40] and len(doc["sources"]) == 4


def test_split_assignment_and_bad_input(tmp_path: Path, detect_media) -> None:
    from twoface.data.detect_dataset import (
        DatasetOptions,
        assign_splits,
        build_dataset,
        parse_fake,
    )
    from twoface.errors import TwofaceError

    s = assign_splits([f"g{i}" for i in range(10)], 0.2, 0.2, seed=1)
    assert sorted(s.values()).count("test") == 2 and sorted(s.values()).count("val") == 2
    assert assign_splits(["a", "b"], 0.2, 0.2, 0) == {"a": "train", "b": "train"}
    # Stratified by method: a rare method (3 groups among 12) still gets a test and a val
    # group and keeps one for training, whatever the shuffle does.
    groups = [f"g{i}" for i in range(12)]
    methods = {g: {"common"} for g in groups[:9]} | {g: {"rare"} for g in groups[9:]}
    for seed in range(5):
        s = assign_splits(groups, 0.2, 0.2, seed, methods)
        assert sorted(s[g] for g in groups[9:]) == ["test", "train", "val"]
        assert {s[g] for g in groups[:9]} == {"test", "val", "train"}
        assert list(s.values()).count("test") == 2 and list(s.values()).count("val") == 2
    assert parse_fake("swap=x.mp4") == ("swap", Path("x.mp4"))
    with pytest.raises(TwofaceError, match="METHOD=PATH"):
        parse_fake("x.mp4")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "x").write_text("x")
    with pytest.raises(TwofaceError, match="not empty"):
        build_dataset([detect_media["real11"]], [], tmp_path / "busy")
    with pytest.raises(TwofaceError, match="does not exist"):
        build_dataset([tmp_path / "missing.mp4"], [], tmp_path / "new")
    with pytest.raises(TwofaceError, match="--link names nobody"):
        build_dataset([detect_media["real11"]], [], tmp_path / "l1",
                      DatasetOptions(links=(("person11", "nobody"),)))
    linked = build_dataset([detect_media["real11"], detect_media["real12"]], [],
                           tmp_path / "l2", DatasetOptions(crfs=(23,), size=32, max_frames=2,
                                                           links=(("person11", "person12"),)))
    assert len({s.group for s in linked.sources}) == 1


def test_train_cnn_and_selfblend_then_fusion(dataset: Path, tmp_path: Path) -> None:
    from twoface.errors import TwofaceError
    from twoface.models.registry import from_pretrained
    from twoface.train.detector import train_detector
    from twoface.train.loop import TrainOptions

    opts = TrainOptions(steps=6, save_every=100, preview_every=0, progress=False)
    cnn = train_detector(dataset, tmp_path / "cnn", model="cnn_tiny", batch=8, options=opts,
                         overrides={"size": 32})
    assert cnn["steps"] == 6 and cnn["train_fakes"] > 0
    assert cnn["calibration"]["calibrated"] in (True, False)
    sb = train_detector(dataset, tmp_path / "sb", model="selfblend_tiny", batch=8,
                        options=opts, overrides={"size": 32, "rerender_steps": 4})
    assert sb["train_fakes"] == 0  # real faces only: fakes are made on the fly
    assert (tmp_path / "sb" / "samples").exists() is False  # previews were off
    model = from_pretrained(tmp_path / "sb", "detector")
    assert model.config.coverage == 0.625
    # The fusion is fitted on val, which here holds no fake group (4 groups, one faked):
    # refused, then fitted on a copy whose fake rows are moved to val.
    with pytest.raises(TwofaceError, match="val split"):
        train_detector(dataset, tmp_path / "f0", model="fusion",
                       members=[tmp_path / "cnn", tmp_path / "sb"], options=opts)
    text = (dataset / "manifest.csv").read_text()
    rows = [ln if ",paste," not in ln else ln.replace(",train,", ",val,").replace(",test,",
                                                                                ",val,")
            for ln in text.splitlines()]
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    moved = tmp_path / "moved"
    moved.mkdir()
    (moved / "manifest.csv").write_text((tmp_path / "manifest.csv").read_text())
    (moved / "faces").symlink_to(dataset / "faces")
    fused = train_detector(moved, tmp_path / "fusion", model="fusion",
                           members=[tmp_path / "cnn", tmp_path / "sb"], options=opts)
    assert set(fused["stack"]["weights"]) == {"cnn", "sb"}
    fusion = from_pretrained(tmp_path / "fusion", "detector")
    p = fusion.predict(torch.rand(3, 3, 64, 64))
    assert p.shape == (3,)
    # eval detector on the moved copy: val holds both classes there.
    proc = run_cli("eval", "detector", "--dataset", moved, "--split", "val", "-m",
                   tmp_path / "fusion", "--json", "--boot", "20")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert 0 <= doc["all"]["frame"]["auc"] <= 1 and doc["all"]["video"]["n"] >= 2
    assert set(doc["per_method"]) == {"paste"} and set(doc["per_crf"]) == {"0", "40"}
    proc = run_cli("eval", "detector", "--dataset", dataset, "--split", "nope", "-m",
                   tmp_path / "cnn")
    assert proc.returncode == 2 and "empty" in proc.stderr


def test_selfblend_batches_are_a_function_of_seed_and_step(dataset: Path) -> None:
    from twoface.data.detect_manifest import Manifest
    from twoface.data.detector_batches import DetectorBatches, load_split

    images, labels, marks = load_split(Manifest.load(dataset), "train", 32, True)
    assert labels.sum() == 0 and marks is not None
    data = DetectorBatches(images, labels, marks, 6, 0, torch.device("cpu"), True)
    a, b, c = data.batch_at(3), data.batch_at(3), data.batch_at(4)
    torch.testing.assert_close(a["faces"], b["faces"])
    assert not torch.equal(a["faces"], c["faces"])
    assert a["labels"].tolist() == [0, 0, 0, 1, 1, 1]
    # Paired (the paper's way): each real face beside its own blend, same seed → same batch.
    paired = DetectorBatches(images, labels, marks, 6, 0, torch.device("cpu"), True,
                             pairs=True)
    d, e = paired.batch_at(3), paired.batch_at(3)
    torch.testing.assert_close(d["faces"], e["faces"])
    assert d["labels"].tolist() == [0, 0, 0, 1, 1, 1]
    # A pair shares its face: the blend differs from its real only in part of the image
    # (JPEG and flips aside, the difference is far below that between two different faces).
    x = d["faces"]
    same = [(x[i] - x[i + 3]).abs().mean().item() for i in range(3)]
    assert min(same) < 0.1


def test_selfblend_trains_its_rerenderer_first_then_reuses_it(dataset: Path,
                                                              tmp_path: Path) -> None:
    from twoface.errors import TwofaceError
    from twoface.models.registry import from_pretrained
    from twoface.train.checkpoint import checkpoint_step
    from twoface.train.detector import train_detector
    from twoface.train.loop import TrainOptions

    def opts(steps: int, resume: bool = False) -> TrainOptions:
        return TrainOptions(steps=steps, save_every=100, preview_every=0, progress=False,
                            resume=resume)

    cfg = {"size": 32, "rerender_steps": 5}
    out = tmp_path / "sb"
    first = train_detector(dataset, out, model="selfblend_tiny", batch=4, options=opts(2),
                           overrides=cfg)
    renderer = from_pretrained(out / "rerender", "rerender")
    assert renderer.config.size == 16 and checkpoint_step(out / "rerender") == 5
    assert first["calibration"]["calibrated"]  # on val reals and fakes made from them
    stamp = (out / "rerender" / "model.safetensors").stat().st_mtime_ns
    again = train_detector(dataset, out, model="selfblend_tiny", batch=4,
                           options=opts(4, resume=True), overrides=cfg)
    assert again["steps"] == 4
    assert (out / "rerender" / "model.safetensors").stat().st_mtime_ns == stamp  # reused
    # A renderer of another size in the folder is refused, not silently used.
    other = tmp_path / "other"
    (other / "rerender").mkdir(parents=True)
    for f in (out / "rerender").iterdir():
        (other / "rerender" / f.name).write_bytes(f.read_bytes())
    with pytest.raises(TwofaceError, match="trained at 16 px"):
        train_detector(dataset, other, model="selfblend_tiny", batch=4, options=opts(2),
                       overrides={**cfg, "size": 64})
    # Off, no renderer is trained.
    train_detector(dataset, tmp_path / "off", model="selfblend_tiny", batch=4,
                   options=opts(2), overrides={"size": 32, "rerender": 0})
    assert not (tmp_path / "off" / "rerender").exists()


def test_a_run_saved_before_rerendering_resumes_without_it(dataset: Path,
                                                            tmp_path: Path) -> None:
    from twoface.errors import TwofaceError
    from twoface.models.registry import from_pretrained
    from twoface.train.detector import train_detector
    from twoface.train.loop import TrainOptions

    def opts(steps: int, resume: bool = False) -> TrainOptions:
        return TrainOptions(steps=steps, save_every=100, preview_every=0, progress=False,
                            resume=resume)

    out = tmp_path / "old"
    train_detector(dataset, out, model="selfblend_tiny", batch=4, options=opts(2),
                   overrides={"size": 32, "rerender": 0})
    doc = json.loads((out / "config.json").read_text())
    for key in ("rerender", "rerender_whole", "rerender_steps", "soft_reals", "augment"):
        del doc["config"][key]  # as written before these fields existed
    (out / "config.json").write_text(json.dumps(doc))
    old = from_pretrained(out, "detector")
    assert (old.config.rerender, old.config.soft_reals, old.config.augment) == (0.0, 0.0, False)
    train_detector(dataset, out, model="selfblend_tiny", batch=4, options=opts(3, resume=True),
                   overrides={"size": 32})
    assert not (out / "rerender").exists()  # resumed with the recipe it was trained with
    # Naming the legacy values explicitly is the same recipe, not a conflict.
    again = train_detector(dataset, out, model="selfblend_tiny", batch=4,
                           options=opts(4, resume=True),
                           overrides={"size": 32, "rerender": 0.0, "soft_reals": 0.0})
    assert again["steps"] == 4
    with pytest.raises(TwofaceError, match=r"trained with rerender=0\.0; cannot resume"):
        train_detector(dataset, out, model="selfblend_tiny", batch=4,
                       options=opts(5, resume=True), overrides={"size": 32, "rerender": 0.5})
    # Without --resume the folder is refused before any re-renderer is trained into it.
    with pytest.raises(TwofaceError, match="pass --resume"):
        train_detector(dataset, out, model="selfblend_tiny", batch=4, options=opts(5),
                       overrides={"size": 32, "rerender_steps": 2})
    assert not (out / "rerender").exists()


def test_fake_recipe_without_rerendering_keeps_the_paired_batches(dataset: Path) -> None:
    from twoface.data.detect_manifest import Manifest
    from twoface.data.detector_batches import DetectorBatches, FakeRecipe, load_split
    from twoface.data.selfblend import augment_face, jpeg, self_blend

    images, labels, marks = load_split(Manifest.load(dataset), "train", 32, True)
    assert marks is not None
    data = DetectorBatches(images, labels, marks, 6, 0, torch.device("cpu"), True, pairs=True,
                           fakes=FakeRecipe({}, None, rerender=0.5, soft=0.0))
    got = data.batch_at(2)["faces"]
    # The recipe as first written: three real faces, each beside its own blend.
    rng = np.random.default_rng([0, 2])
    bases = [augment_face(images[i], marks[i], rng) for i in rng.choice(data.real, 3)]
    reals = [jpeg(im, rng) for im, _ in bases]
    fakes = [jpeg(self_blend(im, lm, rng)[0], rng) for im, lm in bases]
    x = torch.from_numpy(np.stack(reals + fakes)).permute(0, 3, 1, 2).float() / 255
    flip = torch.from_numpy(rng.random(6) < 0.5)
    x[flip] = x[flip].flip(-1)
    gain = torch.from_numpy(rng.uniform(0.9, 1.1, (6, 1, 1, 1)).astype(np.float32))
    torch.testing.assert_close(got, (x * gain).clamp(0, 1))


def test_fake_recipe_uses_the_renderer_when_asked(dataset: Path) -> None:
    from types import SimpleNamespace

    from twoface.data.detect_manifest import Manifest
    from twoface.data.detector_batches import FakeRecipe, load_split

    class Grey(torch.nn.Module):  # "re-draws" every face as flat mid-grey, at 16 px
        config = SimpleNamespace(size=16)

        def __init__(self) -> None:
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            assert x.shape[-1] == 16  # faces reach it at its own size
            return torch.full_like(x, 0.5) + 0 * self.w

    images, _, marks = load_split(Manifest.load(dataset), "train", 32, True)
    assert marks is not None
    bases = list(zip(images[:4], marks[:4], strict=True))
    whole = FakeRecipe({}, Grey(), rerender=1.0, whole=1.0).fakes(bases, np.random.default_rng(0))
    assert all(f.shape == (32, 32, 3) and (np.abs(f.astype(int) - 128) <= 1).all()
               for f in whole)
    masked = FakeRecipe({}, Grey(), rerender=1.0, whole=0.0).fakes(bases, np.random.default_rng(0))
    for f, (im, _) in zip(masked, bases, strict=True):  # greyer inside the face, input outside
        centre = (slice(12, 20), slice(12, 20))
        assert np.abs(f[centre].astype(int) - 128).mean() < np.abs(
            im[centre].astype(int) - 128).mean()
        np.testing.assert_array_equal(f[0, 0], im[0, 0])
    # Without a renderer the chance is ignored: plain self-blends.
    assert FakeRecipe({}, None, rerender=1.0).rerender == 0.0


def test_supervised_batches_augment_both_classes_alike(dataset: Path, monkeypatch) -> None:
    import twoface.data.selfblend as sb
    from twoface.data.detect_manifest import Manifest
    from twoface.data.detector_batches import DetectorBatches, load_split

    images, labels, _ = load_split(Manifest.load(dataset), "train", 32, False)
    seen: list[int] = []
    real_augment = sb.augment_face
    monkeypatch.setattr(sb, "augment_face", lambda im, lm, rng: (seen.append(1),
                                                                  real_augment(im, lm, rng))[1])
    plain = DetectorBatches(images, labels, None, 6, 0, torch.device("cpu"), False)
    plain.batch_at(1)
    assert not seen  # off unless asked
    data = DetectorBatches(images, labels, None, 6, 0, torch.device("cpu"), False, augment=True)
    a, b = data.batch_at(3), data.batch_at(3)
    assert len(seen) == 12  # every face of both classes, once per batch
    torch.testing.assert_close(a["faces"], b["faces"])
    assert a["labels"].tolist() == [0, 0, 0, 1, 1, 1]
    assert not torch.equal(a["faces"], data.batch_at(4)["faces"])


def test_eval_media_runs_the_detect_pipeline(detect_media, tmp_path: Path) -> None:
    """Every video through `detect` (provenance off): counts, per-method rows, FPR."""
    from twoface.evaluate.detector import evaluate_media
    from twoface.forensics.detect import DetectOptions
    from twoface.models.registry import create, save_pretrained

    model = create("detector", "cnn_tiny", size=32)
    with torch.no_grad():  # every face p = sigmoid(2) = 0.88: every video is called fake
        model.calibration.copy_(torch.tensor([0.0, 2.0]))
    save_pretrained(model, tmp_path / "m")
    out = evaluate_media([detect_media["real11"], detect_media["real13"]],
                         [("paste", detect_media["fake"])], tmp_path / "m",
                         options=DetectOptions(frames=3, extra=0), n_boot=10)
    assert [f["label"] for f in out["files"]] == [0, 0, 1]
    assert all(f["faces"] == 3 for f in out["files"])
    assert out["video"]["n"] == 3 and out["video"]["auc"] == 0.5  # all tied
    assert out["frame"]["n"] == 9 and out["frame"]["n_groups"] == 3
    assert out["video_fpr_at_threshold"] == 1.0 and set(out["per_method"]) == {"paste"}


def test_a_faceset_is_one_input_encoded_like_the_rest(detect_media, tmp_path: Path) -> None:
    from twoface.data.detect_dataset import DatasetOptions, build_dataset
    from twoface.data.detect_manifest import Manifest
    from twoface.data.extract import ExtractOptions, extract

    fs = tmp_path / "fs13"
    extract([detect_media["real13"]], fs, ExtractOptions(size=96, every=3))
    report = build_dataset([fs], [("paste", detect_media["fake"])], tmp_path / "ds",
                           DatasetOptions(crfs=(23,), size=48, max_frames=2, val=0, test=0))
    man = Manifest.load(tmp_path / "ds")
    reals = man.select(label=0)
    assert len(reals) == 2 and {r["identity"] for r in reals} == {"fs13"}
    assert man.images(reals, 48).shape == (2, 48, 48, 3)
    assert report.sources[0].faces == 2
    marks = Manifest.landmarks(reals)
    assert marks.min() > 5 and marks.max() < 47  # re-aligned into the 48 px crop


def test_detector_resume_continues_and_refuses_another_model(dataset: Path,
                                                              tmp_path: Path) -> None:
    from twoface.errors import TwofaceError
    from twoface.train.detector import train_detector
    from twoface.train.loop import TrainOptions

    def opts(steps: int, resume: bool) -> TrainOptions:
        return TrainOptions(steps=steps, save_every=100, preview_every=0, progress=False,
                            resume=resume)

    small = {"size": 32}
    train_detector(dataset, tmp_path / "m", model="cnn_tiny", batch=4, options=opts(2, False),
                   overrides=small)
    with pytest.raises(TwofaceError, match="cannot resume it as 'selfblend_tiny'"):
        train_detector(dataset, tmp_path / "m", model="selfblend_tiny", batch=4,
                       options=opts(3, True), overrides=small)
    with pytest.raises(TwofaceError, match="cannot resume with size=48"):
        train_detector(dataset, tmp_path / "m", model="cnn_tiny", batch=4,
                       options=opts(3, True), overrides={"size": 48})
    assert train_detector(dataset, tmp_path / "m", model="cnn_tiny", batch=4,
                          options=opts(3, True), overrides=small)["steps"] == 3


def test_cross_method_trains_without_each_method_and_scores_it_unseen(detect_media,
                                                                       tmp_path: Path) -> None:
    """Two fake methods, splits set by hand so that every branch of the table is taken:
    ``paste`` in train and val only (no test-split cell, no seen cell), ``lowres`` in all
    three. Then the same table for a fusion, whose self-blend member is trained once."""
    import cv2

    from twoface.data.detect_dataset import DatasetOptions, build_dataset
    from twoface.data.detect_manifest import Manifest
    from twoface.media import iter_frames, write_video
    from twoface.synth import Identity, render_sequence

    lowres = [write_video(tmp_path / f"person{k}_lowres.mp4", [
        cv2.resize(cv2.resize(f.image, (64, 64), interpolation=cv2.INTER_AREA), (128, 128))
        for f in iter_frames(detect_media[f"real{k}"])], crf=10) for k in (11, 12, 13)]
    renders = {k: render_sequence(Identity.random(k), FRAMES, size=SIZE, seed=s)
               for k, s in ((12, 7), (13, 8))}
    paste2 = write_video(tmp_path / "person12_swapped.mp4",
                         _pasted_fake(renders[12], renders[13]), crf=10)
    ds = tmp_path / "ds"
    build_dataset([detect_media[k] for k in ("real11", "real12", "real13")],
                  [("paste", detect_media["fake"]), ("paste", paste2),
                   *(("lowres", p) for p in lowres)], ds,
                  DatasetOptions(crfs=(0, 40), size=64, every=3, max_frames=3))
    with open(ds / "manifest.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:  # person11* train, person12* val, person13* test
        r["split"] = {"11": "train", "12": "val", "13": "test"}[r["video"][6:8]]
    with open(ds / "manifest.csv", "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    n = {m: sum(r["method"] == m for r in rows) for m in ("paste", "lowres")}
    n_test = sum(r["method"] == "lowres" and r["split"] == "test" for r in rows)
    assert min(n.values()) > 0 and 0 < n_test < n["lowres"]
    assert len(Manifest.load(ds).select(split="test", label=0)) > 0

    out = tmp_path / "xm"
    args = ("eval", "cross-method", ds, "-o", out, "--model", "cnn_tiny", "--steps", "3",
            "--batch", "4", "--set", "size=32", "--boot", "10")
    proc = run_cli(*args, "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc == json.loads((out / "cross_method.json").read_text())
    assert doc["methods"] == ["lowres", "paste"] and not doc["real_only"]
    rows_by = {r["left_out"]: r for r in doc["rows"]}
    # Each model was trained and calibrated without its method, and only without it.
    for m, other in (("lowres", "paste"), ("paste", "lowres")):
        cal = json.loads((out / f"without_{m}" / "calibration.json").read_text())
        assert cal["excluded_methods"] == [m]
        assert cal["train_fakes"] == sum(r["method"] == other and r["split"] == "train"
                                         for r in rows)
    # Scopes: "all" holds every fake of the method, "test" only the test split's.
    assert rows_by["paste"]["unseen_all"]["frame"]["n_fake"] == n["paste"]
    assert rows_by["paste"]["unseen_all"]["fake_videos"] == 2
    assert rows_by["paste"]["unseen_test"] is None  # no paste fake in the test split
    assert rows_by["lowres"]["unseen_test"]["frame"]["n_fake"] == n_test
    assert rows_by["lowres"]["unseen_all"]["frame"]["n_fake"] == n["lowres"]
    assert set(rows_by["lowres"]["unseen_all"]["per_crf"]) == {"0", "40"}
    # The seen comparison exists where the all-methods model has test fakes of the method.
    assert rows_by["paste"]["in_domain_test"] is None
    assert rows_by["lowres"]["in_domain_test"]["frame"]["n_fake"] == n_test
    # A second run reuses every finished model and prints the table.
    stamp = (out / "without_paste" / "model.safetensors").stat().st_mtime_ns
    proc = run_cli(*args)
    assert proc.returncode == 0, proc.stderr
    assert "reusing" in proc.stderr and "lowres" in proc.stdout
    assert (out / "without_paste" / "model.safetensors").stat().st_mtime_ns == stamp

    # A fusion: cnn and spectral members without the method, one shared self-blend member.
    proc = run_cli("eval", "cross-method", ds, "-o", tmp_path / "xf", "--model", "fusion",
                   "--steps", "2", "--batch", "4", "--set", "size=32", "--set",
                   "spectral.bins=8", "--set", "selfblend.rerender_steps=2", "--boot", "10",
                   "--no-in-domain", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["in_domain_folder"] is None and len(doc["rows"]) == 2
    for m in ("lowres", "paste"):
        fused = json.loads((tmp_path / "xf" / f"without_{m}" / "calibration.json").read_text())
        assert fused["members"]["selfblend"] == str(tmp_path / "xf" / "selfblend")
        cnn = json.loads((tmp_path / "xf" / f"without_{m}" / "members" / "cnn" /
                          "calibration.json").read_text())
        assert cnn["excluded_methods"] == [m]
        spectral = json.loads((tmp_path / "xf" / f"without_{m}" / "members" / "spectral" /
                               "config.json").read_text())
        assert spectral["config"]["bins"] == 8 and spectral["config"]["size"] == 32
    assert not (tmp_path / "xf" / "all").exists()
    # Self-blend trains on real faces only: one model for every row, nothing "seen".
    proc = run_cli("eval", "cross-method", ds, "-o", tmp_path / "xs", "--model",
                   "selfblend_tiny", "--steps", "2", "--batch", "4", "--set", "size=32",
                   "--set", "rerender_steps=2", "--boot", "10", "--json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["real_only"] and {r["folder"] for r in doc["rows"]} == {
        str(tmp_path / "xs" / "selfblend")}
    assert all(r["in_domain_test"] is None for r in doc["rows"])
    assert sorted(p.name for p in (tmp_path / "xs").iterdir()) == ["cross_method.json",
                                                                   "selfblend"]

    # One fake method is no cross-method table: a one-line error.
    proc = run_cli("eval", "cross-method", _one_method(detect_media, tmp_path), "-o",
                   tmp_path / "x")
    assert proc.returncode != 0 and "at least two" in proc.stderr
    assert "Traceback" not in proc.stderr


def _one_method(detect_media, tmp_path: Path) -> Path:
    from twoface.data.detect_dataset import DatasetOptions, build_dataset

    build_dataset([detect_media["real11"], detect_media["real13"]],
                  [("paste", detect_media["fake"])], tmp_path / "one",
                  DatasetOptions(crfs=(23,), size=48, max_frames=2))
    return tmp_path / "one"


def test_member_settings_reach_only_their_member(dataset: Path, tmp_path: Path) -> None:
    from twoface.errors import TwofaceError
    from twoface.train.detector import member_overrides, train_detector
    from twoface.train.loop import TrainOptions

    sets = {"size": 64, "spectral.bins": 8, "cnn.dropout": 0.1}
    assert member_overrides(sets, "spectral") == {"size": 64, "bins": 8}
    assert member_overrides(sets, "cnn") == {"size": 64, "dropout": 0.1}
    assert member_overrides(sets, "selfblend") == member_overrides(sets, None) == {"size": 64}
    with pytest.raises(TwofaceError, match="members of a fusion only"):
        train_detector(dataset, tmp_path / "m", model="spectral", overrides=sets,
                       options=TrainOptions(steps=1, progress=False))
    assert not (tmp_path / "m").exists()
