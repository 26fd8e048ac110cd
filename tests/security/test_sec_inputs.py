"""Inputs that cannot exhaust the machine or crash a command (issue 21, breaks 4 and 6), and a
seeded fuzz pass over the files twoface reads: model configs, safetensors headers, faceset
alignments and media headers. Every outcome must be a success or a one-line TwofaceError."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from twoface.errors import TwofaceError
from twoface.media import probe, read_image, write_image, write_video

# Mutations per file kind; seeded, so a failure replays (more: TWOFACE_FUZZ_ROUNDS=400).
ROUNDS = int(os.environ.get("TWOFACE_FUZZ_ROUNDS", "40"))


def test_pixel_cap_refuses_before_decoding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                           ) -> None:
    video, still = tmp_path / "v.mp4", tmp_path / "s.png"
    write_video(video, [np.zeros((96, 128, 3), np.uint8)] * 3, fps=10)
    write_image(still, np.zeros((96, 128, 3), np.uint8))
    monkeypatch.setenv("TWOFACE_MAX_PIXELS", str(100 * 100))  # 128×96 is over it
    for read in (lambda: probe(video), lambda: read_image(still)):
        with pytest.raises(TwofaceError, match="128×96 px"):
            read()
    monkeypatch.setenv("TWOFACE_MAX_PIXELS", "lots")
    with pytest.raises(TwofaceError, match="TWOFACE_MAX_PIXELS"):
        read_image(still)
    monkeypatch.delenv("TWOFACE_MAX_PIXELS")
    assert probe(video).width == 128 and read_image(still).shape == (96, 128, 3)


def test_huge_config_refused_before_allocation(tmp_path: Path) -> None:
    """A few hundred bytes of config asking for a model far larger than its weights file is
    refused from the file's header and a shapes-only build, before any tensor is made."""
    import resource

    from twoface.models.registry import create, from_pretrained, save_pretrained

    save_pretrained(create("gan", "fastgan-small", size=32), tmp_path / "gan")
    doc = json.loads((tmp_path / "gan" / "config.json").read_text())
    doc["config"].update(z_dim=100_000, g_channels=100_000)
    (tmp_path / "gan" / "config.json").write_text(json.dumps(doc))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(TwofaceError, match="do not fit"):
        from_pretrained(tmp_path / "gan", "gan")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 200, grown_mb


def test_deeply_nested_files_are_one_line_errors(tmp_path: Path) -> None:
    from twoface.data.faceset import Faceset
    from twoface.models.registry import from_pretrained

    deep = "[" * 200_000 + "]" * 200_000
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "config.json").write_text(
        '{"kind": "gan", "name": "dcgan", "config": ' + deep + "}")
    with pytest.raises(TwofaceError, match="unreadable model config"):
        from_pretrained(tmp_path / "m", "gan")
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "alignments.json").write_text(deep)
    with pytest.raises(TwofaceError, match="unreadable alignments"):
        Faceset.load(tmp_path / "f")


def test_mark_refuses_its_own_input_and_checks_its_output(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from twoface.cli import app

    src = tmp_path / "in.png"
    rng = np.random.default_rng(0)
    write_image(src, rng.integers(60, 200, (128, 160, 3), dtype=np.uint8))
    before = src.read_bytes()
    res = CliRunner().invoke(app, ["mark", str(src), "-o", str(src), "-q"])
    assert res.exit_code != 0 and "input itself" in str(res.exception)
    assert src.read_bytes() == before


def test_mark_image_fails_loudly_when_the_mark_does_not_read(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    from twoface.provenance import Provenance, mark_image
    from twoface.provenance.scheme import Detection
    from twoface.provenance.watermark import TiledScheme

    calls = []

    def blind(self: TiledScheme, img: np.ndarray) -> Detection:
        calls.append(self.target_rms)
        return Detection(False, None, 0.0)

    monkeypatch.setattr(TiledScheme, "detect", blind)
    img = np.full((96, 96, 3), 128, np.uint8)
    with pytest.raises(TwofaceError, match="does not read back"):
        mark_image(img, Provenance(method="gan"))
    assert len(calls) == 3  # the usual strength, then 1.5× and 2×


def test_stale_temporary_files_are_cleaned(tmp_path: Path) -> None:
    """A writer killed mid-write leaves ``.NAME.PID.xxxx.tmp.mp4``; the next write into that
    folder removes it (its process is gone), never one of a live process."""
    from twoface.fileio import atomic_write_bytes

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True).stdout.strip()
    stale = tmp_path / f".clip.{dead}.abc123.tmp.mp4"
    live = tmp_path / f".clip.{os.getppid()}.def456.tmp.mp4"
    stale.write_bytes(b"half")
    live.write_bytes(b"busy")
    atomic_write_bytes(tmp_path / "clip.mp4", b"done", clean=True)  # as VideoWriter does
    assert not stale.exists() and live.exists()
    assert (tmp_path / "clip.mp4").read_bytes() == b"done"


# ---- fuzz ---------------------------------------------------------------------------------------

def mutate_json(value: Any, rng: random.Random, depth: int = 0) -> Any:
    """One random structural or value change somewhere in ``value``."""
    choices = [None, -1, 0, 10**9, 1e300, float("nan"), "x" * 10, [], {}, [1, 2], True, "../x"]
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value))
        out = dict(value)
        if rng.random() < 0.15:
            del out[key]
        else:
            out[key] = mutate_json(value[key], rng, depth + 1)
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out = list(value)
        i = rng.randrange(len(out))
        out[i] = mutate_json(out[i], rng, depth + 1)
        return out
    return rng.choice(choices)


def expect_clean(fn: Any) -> None:
    try:
        fn()
    except TwofaceError as exc:
        assert "\n" not in str(exc), str(exc)


@pytest.fixture(scope="module")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from twoface.models.registry import create, save_pretrained

    root = tmp_path_factory.mktemp("models")
    out = {}
    for kind, name, cfg in (("detector", "cnn_tiny", {}), ("gan", "dcgan", {"size": 32})):
        save_pretrained(create(kind, name, **cfg), root / name)
        out[kind] = root / name
    return out


@pytest.mark.parametrize("kind", ["detector", "gan"])
def test_fuzz_model_config(kind: str, tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from twoface.models.registry import from_pretrained

    rng = random.Random(21)
    good = json.loads((tiny_models[kind] / "config.json").read_text())
    for i in range(ROUNDS):
        folder = tmp_path / f"m{i}"
        shutil.copytree(tiny_models[kind], folder)
        (folder / "config.json").write_text(json.dumps(mutate_json(good, rng)))
        expect_clean(lambda folder=folder: from_pretrained(folder, kind))


def test_fuzz_safetensors_header(tiny_models: dict[str, Path], tmp_path: Path) -> None:
    import shutil

    from twoface.models.registry import from_pretrained

    rng = random.Random(22)
    data = (tiny_models["detector"] / "model.safetensors").read_bytes()
    n = int.from_bytes(data[:8], "little")
    header = json.loads(data[8:8 + n])
    for i in range(ROUNDS):
        folder = tmp_path / f"m{i}"
        shutil.copytree(tiny_models["detector"], folder)
        if i % 2:  # structural: a changed header, re-serialised with its true length
            text = json.dumps(mutate_json(header, rng)).encode()
            blob = len(text).to_bytes(8, "little") + text + data[8 + n:]
        else:  # raw: random bytes flipped in the length and header
            raw = bytearray(data)
            for _ in range(rng.randint(1, 6)):
                raw[rng.randrange(0, 8 + n)] = rng.randrange(256)
            blob = bytes(raw)
        (folder / "model.safetensors").write_bytes(blob)
        expect_clean(lambda folder=folder: from_pretrained(folder, "detector"))


def test_fuzz_alignments(tmp_path: Path) -> None:
    from twoface.data.faceset import Faceset

    fs = Faceset.create(tmp_path / "fs", size=64)
    fs.save()
    good = json.loads(fs.json_path.read_text())
    good["sources"] = [{"path": "a.mp4", "sha256": "0" * 64, "frames": 3}]
    rng = random.Random(23)
    for _ in range(ROUNDS):
        fs.json_path.write_text(json.dumps(mutate_json(good, rng)))
        expect_clean(lambda: Faceset.load(tmp_path / "fs"))


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".mp4"])
def test_fuzz_media_headers(suffix: str, tmp_path: Path) -> None:
    rng = random.Random(24)
    base = tmp_path / f"base{suffix}"
    frames = [np.random.default_rng(i).integers(0, 255, (48, 64, 3), np.uint8)
              for i in range(3)]
    if suffix == ".mp4":
        write_video(base, frames, fps=10)
    else:
        write_image(base, frames[0])
    data = base.read_bytes()
    for i in range(ROUNDS):
        raw = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            raw[rng.randrange(0, min(len(raw), 512))] = rng.randrange(256)
        path = tmp_path / f"f{i}{suffix}"
        path.write_bytes(bytes(raw))
        if suffix == ".mp4":
            expect_clean(lambda path=path: probe(path))
        else:
            expect_clean(lambda path=path: read_image(path))


# ---- the smaller breaks -------------------------------------------------------------------------

def test_index_refuses_folders_and_foreign_databases(tmp_path: Path) -> None:
    import sqlite3

    from twoface.forensics.index import connect

    with pytest.raises(TwofaceError, match="is a folder"):
        connect(tmp_path, create=True)
    foreign = tmp_path / "their.db"
    with sqlite3.connect(foreign) as db:
        db.execute("CREATE TABLE customers (name TEXT)")
    before = foreign.read_bytes()
    with pytest.raises(TwofaceError, match="another program's SQLite"):
        connect(foreign, create=True)
    assert foreign.read_bytes() == before  # no twoface tables were added


def test_a_still_image_is_not_a_video(tmp_path: Path) -> None:
    from twoface.forensics.shallow import inspect_video

    png = tmp_path / "one.png"
    write_image(png, np.zeros((8, 8, 3), np.uint8))
    disguised = tmp_path / "one.mp4"
    disguised.write_bytes(png.read_bytes())
    with pytest.raises(TwofaceError, match="is an image"):
        inspect_video(png)
    with pytest.raises(TwofaceError, match="still image"):
        inspect_video(disguised)
    with pytest.raises(TwofaceError, match="still image"):
        probe(disguised)


def test_two_training_runs_cannot_share_a_folder(tmp_path: Path) -> None:
    from twoface.fileio import folder_lock

    with (folder_lock(tmp_path, "training run"),
          pytest.raises(TwofaceError, match="another training run"),
          folder_lock(tmp_path, "training run")):
        pass
    with folder_lock(tmp_path, "training run"):  # released: free again
        pass


@pytest.mark.parametrize("cfg", [{"size": 100_000}, {"coverage": float("nan")},
                                 {"members": {"../x": {"name": "cnn_tiny"}}},
                                 {"members": {"a.b": {"name": "cnn_tiny"}}}])
def test_detector_configs_in_range(cfg: dict[str, Any], tmp_path: Path) -> None:
    from twoface.models.registry import create, from_pretrained, save_pretrained

    name = "fusion" if "members" in cfg else "cnn_tiny"
    folder = tmp_path / "m"
    save_pretrained(create("detector", "cnn_tiny"), folder)
    doc = json.loads((folder / "config.json").read_text())
    doc["name"] = name
    doc["config"] = cfg
    (folder / "config.json").write_text(json.dumps(doc))
    with pytest.raises(TwofaceError):
        from_pretrained(folder, "detector")
