"""The demo's pretrained models: trained by twoface on its own synthetic people, shipped in
``twoface/models/demo/``, retrained exactly by ``make demo-models``.

Three models, no real person in any of them:

* ``swap_alice_bob``: the ``light`` swap at 128 px with EMA weights, trained on alice and bob
  (the demo's two people) rendered in other takes, lights and head motions than the demo's
  own videos, so the demo converts footage the model never saw;
* ``motion``: the ``small`` first-order motion model at 64 px on talking-head clips of
  :data:`MOTION_PEOPLE` synthetic people (alice and bob among them);
* ``gan``: ``fastgan-small`` at 64 px on stills of :data:`GAN_PEOPLE` synthetic people, none
  of them alice or bob.

Every step is fixed (seeds, frame counts, training steps rather than minutes), so a rerun on
the same machine and torch build gives the same weights; on another CPU the floating-point
sums differ in the last bits and the weights drift accordingly. Finished stages are skipped on
a rerun (``--fresh`` starts over). The exported weights are float16 (half the size; the
models are loaded in float32) and the swap keeps only its averaged (EMA) copy.

Run: ``python -m twoface.demo.pretrained [--work runs/demo_models]`` (about two CPU-hours;
``--only NAME`` trains one model, so the three can run side by side).
"""

from __future__ import annotations

import argparse
import itertools
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twoface.demo._common import IDENTITIES
from twoface.fileio import atomic_write_json, atomic_write_text

if TYPE_CHECKING:
    from twoface.train.loop import TrainOptions

DEMO_MODELS = Path(__file__).resolve().parents[1] / "models" / "demo"
KINDS = {"swap_alice_bob": "swap", "motion": "motion", "gan": "gan"}  # folder → model kind

SWAP_TAKES = (1001, 1002, 1003, 1004)  # render seeds of the training takes (the demo's own
#                                        videos use each person's identity seed: held out)
SWAP_FRAMES = 175  # frames per take
MOTION_PEOPLE = 24  # synthetic people in the motion clips (seeds 2000 + i; alice, bob added)
MOTION_FRAMES = 100
GAN_PEOPLE = 240  # stills of synthetic people for the GAN (seeds 3000 + i)
GAN_SHOTS = 4  # poses/expressions/lights per person


@dataclass(frozen=True)
class Recipe:
    """What each model is trained with (recorded in its model card)."""

    swap: dict[str, Any]
    swap_steps: int
    swap_batch: int
    motion: dict[str, Any]
    motion_steps: int
    motion_batch: int
    gan: dict[str, Any]
    gan_steps: int
    gan_batch: int


RECIPE = Recipe(
    swap={"size": 128, "ema_decay": 0.998, "lr": 3e-4},
    swap_steps=4000, swap_batch=8,
    motion={}, motion_steps=1200, motion_batch=8,
    gan={"size": 64, "max_channels": 128}, gan_steps=1200, gan_batch=16,
)


def demo_model(name: str) -> Path | None:
    """The shipped demo model ``name`` (``swap_alice_bob``, ``motion``, ``gan``), or None when
    this install has none (then the demo trains its tiny stand-ins only)."""
    folder = DEMO_MODELS / name
    return folder if (folder / "model.safetensors").is_file() else None


# ------------------------------------------------------------------------------- data
def _render_takes(work: Path, quiet: bool) -> dict[str, list[Path]]:
    """alice and bob in :data:`SWAP_TAKES`, as unmarked training videos (never published)."""
    from twoface.media.writer import write_video
    from twoface.synth import Identity, render_sequence

    videos: dict[str, list[Path]] = {}
    for name, seed in IDENTITIES.items():
        for take in SWAP_TAKES:
            path = work / "videos" / f"{name}_{take}.mp4"
            if not path.is_file():
                renders = render_sequence(Identity.random(seed), SWAP_FRAMES, size=256,
                                          seed=take, yaw_amplitude=32.0, pitch_amplitude=9.0)
                write_video(path, (r.image for r in renders), 25)
                _say(quiet, f"rendered {path.name}")
            videos.setdefault(name, []).append(path)
    return videos


def _render_motion_people(work: Path, quiet: bool) -> list[Path]:
    from twoface.media.writer import write_video
    from twoface.synth import Identity, render_sequence

    seeds = [2000 + i for i in range(MOTION_PEOPLE)] + list(IDENTITIES.values())
    paths = []
    for seed in seeds:
        path = work / "motion_videos" / f"person_{seed}.mp4"
        if not path.is_file():
            renders = render_sequence(Identity.random(seed), MOTION_FRAMES, size=256,
                                      seed=seed + 50_000)
            write_video(path, (r.image for r in renders), 25)
        paths.append(path)
    _say(quiet, f"{len(paths)} motion videos")
    return paths


def _render_gan_stills(work: Path, quiet: bool) -> Path:
    import numpy as np

    from twoface.media import write_image
    from twoface.synth import Expression, Identity, Light, render
    from twoface.types import Pose

    folder = work / "gan_stills"
    done = folder / ".done"
    if done.is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(GAN_PEOPLE):
        seed = 3000 + i
        who = Identity.random(seed)
        rng = np.random.default_rng([seed, 9])
        for k in range(GAN_SHOTS):
            pose = Pose(float(rng.uniform(-20, 20)), float(rng.uniform(-8, 8)),
                        float(rng.uniform(-4, 4)))
            shot = render(who, pose, Expression.random(seed * 10 + k), size=192,
                          light=Light.random(seed * 10 + k), seed=seed * 10 + k)
            write_image(folder / f"p{seed}_{k}.png", shot.image)
    done.touch()
    _say(quiet, f"{GAN_PEOPLE * GAN_SHOTS} GAN stills")
    return folder


def _extract(inputs: list[Path], out: Path) -> Path:
    from twoface.data.extract import ExtractOptions, extract

    extract(list(inputs), out, ExtractOptions(size=256))
    return out


# ------------------------------------------------------------------------------- training
def _opts(steps: int, what: str, quiet: bool) -> TrainOptions:
    from twoface.train.loop import TrainOptions

    return TrainOptions(steps=steps, save_every=500, preview_every=500, resume=True,
                        progress=not quiet, description=what)


def _train_swap(work: Path, quiet: bool) -> None:
    from twoface.train.swap import train_swap

    takes = _render_takes(work, quiet)
    fs = {name: _extract(paths, work / "facesets" / name) for name, paths in takes.items()}
    train_swap(fs["alice"], fs["bob"], work / "swap_alice_bob", model="light",
               batch=RECIPE.swap_batch, seed=0, overrides=dict(RECIPE.swap),
               options=_opts(RECIPE.swap_steps, "demo swap", quiet))


def _train_motion(work: Path, quiet: bool) -> None:
    from twoface.data.clips import make_clips
    from twoface.train.motion import train_motion

    motion_videos: list[str | Path] = list(_render_motion_people(work, quiet))
    clips = work / "clips"
    make_clips(motion_videos, clips, size=128)
    train_motion([clips], work / "motion", model="small", batch=RECIPE.motion_batch, seed=0,
                 overrides=dict(RECIPE.motion),
                 options=_opts(RECIPE.motion_steps, "demo motion", quiet))


def _train_gan(work: Path, quiet: bool) -> None:
    from twoface.train.gan import train_gan

    stills = _render_gan_stills(work, quiet)
    gan_fs = _extract([stills], work / "facesets" / "gan_people")
    train_gan([gan_fs], work / "gan", model="fastgan-small", batch=RECIPE.gan_batch, seed=0,
              overrides=dict(RECIPE.gan), options=_opts(RECIPE.gan_steps, "demo gan", quiet))


STAGES = {"swap_alice_bob": _train_swap, "motion": _train_motion, "gan": _train_gan}


def _run_stats(run: Path) -> dict[str, Any]:
    """Steps, training minutes (from the log, so that resumed and interrupted runs count
    once) and the last loss of a finished run."""
    import csv

    with open(run / "log.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    times = [float(r["time"]) for r in rows]
    gaps = [b - a for a, b in itertools.pairwise(times)]
    # A pause between two runs (a resume) is not training time: gaps far above the usual
    # spacing of log rows are left out.
    usual = sorted(gaps)[len(gaps) // 2] if gaps else 0.0
    minutes = sum(g for g in gaps if g <= 20 * usual + 1) / 60
    return {"steps": int(rows[-1]["step"]), "minutes": minutes,
            "loss": float(rows[-1]["loss"])}


# ------------------------------------------------------------------------------- export
def export(run: Path, dest: Path, kind: str) -> int:
    """Write ``run``'s model into ``dest`` as float16 weights (a swap keeps only its EMA copy,
    saved as the plain weights). Returns the bytes written."""
    import torch

    from twoface.models import from_pretrained
    from twoface.models.registry import save_pretrained

    net = from_pretrained(run, kind, device="cpu")
    ema: Any = getattr(net, "ema", None)
    if kind == "swap" and ema is not None:
        from twoface.models.registry import create

        plain = create("swap", net.name, **{**asdict(net.config), "ema_decay": 0.0})
        for part in ("encoder", "decoder_a", "decoder_b"):
            getattr(plain, part).load_state_dict(ema[part].state_dict())
        net = plain
    net = net.to(torch.float16)
    tmp = dest.with_name(dest.name + ".new")
    shutil.rmtree(tmp, ignore_errors=True)
    save_pretrained(net, tmp)
    shutil.rmtree(dest, ignore_errors=True)
    tmp.rename(dest)
    return sum(p.stat().st_size for p in dest.iterdir())


def _card(stats: dict[str, dict[str, Any]], sizes: dict[str, int]) -> str:
    r = RECIPE
    rows = "\n".join(
        f"| `{name}` | {s['steps']} | {s['minutes']:.1f} | {sizes.get(name, 0) / 1e6:.1f} MB |"
        for name, s in stats.items())
    return f"""# twoface demo models

Trained by twoface on its own synthetic people (procedurally rendered heads: nobody real is
in these weights or in their training data). They exist to show what the methods do on a
laptop; they only know the synthetic people they were trained on. Everything made with
them is watermarked and signed like any twoface output.

| model | steps | training minutes (2-core CPU, 1 thread, shared with other jobs) | weights |
|---|---|---|---|
{rows}

* `swap_alice_bob`: `light` swap, {json.dumps(r.swap)}, batch {r.swap_batch} per person;
  training data: alice (seed {IDENTITIES['alice']}) and bob (seed {IDENTITIES['bob']}) in
  {len(SWAP_TAKES)} takes of {SWAP_FRAMES} frames each (render seeds {list(SWAP_TAKES)}),
  none of them the demo's own videos. Conversion uses the EMA weights (exported as the
  model's weights).
* `motion`: `small` first-order motion model at 64 px, batch {r.motion_batch}, on clips of
  {MOTION_PEOPLE} synthetic people plus alice and bob ({MOTION_FRAMES} frames each).
* `gan`: `fastgan-small` at 64 px, batch {r.gan_batch}, on {GAN_PEOPLE} synthetic people x
  {GAN_SHOTS} stills (seeds 3000-{3000 + GAN_PEOPLE - 1}; alice and bob are not among them).

Recipe: `make demo-models` (`python -m twoface.demo.pretrained`); weights stored as float16.
Limits: synthetic people only, 64-128 px; not a model of any real face.
"""


def build(work: Path, *, fresh: bool = False, quiet: bool = False,
          only: str | None = None) -> dict[str, Any]:
    """Train every demo model in ``work`` and export them into :data:`DEMO_MODELS`
    (``only``: train that one alone and export nothing, e.g. to run stages side by side)."""
    if fresh:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    for name, stage in STAGES.items():
        if only in (None, name):
            stage(work, quiet)
    if only is not None:
        return {}
    stats = {name: _run_stats(work / name) for name in STAGES}
    sizes = {}
    DEMO_MODELS.mkdir(parents=True, exist_ok=True)
    for name in stats:
        sizes[name] = export(work / name, DEMO_MODELS / name, KINDS[name])
        _say(quiet, f"exported {name}: {sizes[name] / 1e6:.1f} MB")
    atomic_write_text(DEMO_MODELS / "MODEL_CARD.md", _card(stats, sizes))
    atomic_write_json(work / "stats.json", {"stats": stats, "sizes": sizes})
    return {"stats": stats, "sizes": sizes}


def _say(quiet: bool, text: str) -> None:
    if not quiet:
        print(text, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--work", type=Path, default=Path("runs/demo_models"),
                        help="working folder (renders, facesets, checkpoints)")
    parser.add_argument("--fresh", action="store_true", help="start over")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--only", choices=list(STAGES),
                        help="train this model only (no export): stages can run side by side")
    args = parser.parse_args()
    build(args.work, fresh=args.fresh, quiet=args.quiet, only=args.only)


if __name__ == "__main__":
    main()
