"""Detection on real video: the real faces of ``../shared/data/faces`` against twoface's own fakes.

    python bench/swap_pairs.py ...           # the swap pairs (trained on a GPU; see its doc)
    python bench/detect_real.py fakes        # motion and GAN fakes, swaps of every pair
    python bench/detect_real.py build        # the dataset: CRF 0/23/40, splits by group
    python bench/detect_real.py train [--steps 2000] [--jobs 2]   # every detector + leave-one-out
    python bench/detect_real.py eval         # test-split metrics; `detect` on held-out media
    python bench/detect_real.py tables [--write]                  # → BENCHMARKS.md
    python bench/detect_real.py variants RUN...   # per-method AUC, selection and test sets
    python bench/detect_real.py unseen [--write]  # every unseen fake; StyleGAN faces → BENCHMARKS
    python bench/detect_real.py cross [--write]   # `twoface eval cross-method` (fusion, 128 px)
    python bench/detect_real.py seeds [--write]   # unseen GAN faces: fusion over cnn seeds
    python bench/detect_real.py sbseeds [--write] # real-only self-blend over training runs
    python bench/detect_real.py pack [DEST]       # real crops + faces for bench/gpu_checks.sh

Everything lands in the git-ignored ``runs/detect/real``. Nothing made here may be committed
or published: it is derived from ``../shared`` media (see its SOURCES.md).

**Methods** (four, as the issue names them):

* ``swap``: the autoencoder swap without adversarial loss, three pairs (A's video with B's
  face and B's with A's);
* ``swap_gan``: the same with the GAN loss, three other pairs;
* ``motion``: the motion model animating a still (a frame of one video of a group) with the
  other video of the group as driver;
* ``gan``: latent walks of the GAN (``twoface generate --interpolate``), six seeds.

**Real**: the 11 LivePortrait driving videos, its 4 source videos, the clean half of a
FaceSynthetics stock clip, and real photos (LivePortrait's three driving stills and one source,
two public-domain portraits, the five Multiface tiles, seven FFHQ crops). Paintings, cartoons,
CGI and children are left out.

**Groups**: the two people of a pair, their swaps and the motion fake made from them are one
group (``--link``); every split holds whole groups, and each method has a test and a val group.
Fakes are written without watermark (a mark in the fakes only would be a shortcut).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
FACES = ROOT.parent / "shared" / "data" / "faces"
LP = FACES / "liveportrait"
WORK = ROOT / "runs" / "detect" / "real"
TF = str(ROOT / ".venv" / "bin" / "twoface")
METHODS = ("swap", "swap_gan", "motion", "gan")

# (A, B, trained with the GAN loss): folders under WORK/pairs (bench/swap_pairs.py).
PAIRS = [("d9", "d3", False), ("d10", "d13", False), ("d6", "d14", False),
         ("d12", "d18", True), ("s18", "s20", True), ("d20", "s32", True)]
# (still: a photo, or a video whose frame at one third is taken; driving video)
MOTION = [("driving_still_d9", "d3"), ("d10", "d13"), ("d12", "d18"), ("s18", "s20"),
          ("d20", "s32"), ("d6", "d14"), ("d0", "d19"), ("driving_still_d8", "s29"),
          ("driving_still_d30", "face_parsing_rgb_left_half")]
GAN_SEEDS = (1, 2, 3, 4, 5, 6)
MOTION_MODEL = ROOT / "runs" / "motion" / "small64"
GAN_MODEL = ROOT / "runs" / "gan" / "fastgan-small"


def media(stem: str) -> Path:
    """The real file called ``stem`` in ../shared."""
    for p in (LP / "driving" / f"{stem}.mp4", LP / "source" / f"{stem}.mp4",
              LP / "source" / f"{stem}.jpg", FACES / "facesynthetics" / f"{stem}.mp4"):
        if p.exists():
            return p
    raise FileNotFoundError(stem)


def real_inputs() -> list[Path]:
    videos = [media(s) for s in ("d0", "d3", "d6", "d9", "d10", "d12", "d13", "d14", "d18",
                                 "d19", "d20", "s18", "s20", "s29", "s32",
                                 "face_parsing_rgb_left_half")]
    stills = [media(s) for s in ("driving_still_d9", "driving_still_d8", "driving_still_d30",
                                 "s42")]
    stills += sorted((FACES / "public_domain_portraits").iterdir())
    stills += sorted((FACES / "multiface" / "crops").glob("*.png"))
    stills += sorted((FACES / "gan_vs_real" / "crops" / "real").iterdir())
    return videos + stills


def _still(stem: str) -> Path:
    """A photo as is, or the frame at one third of video ``stem`` (written once)."""
    src = media(stem)
    if src.suffix != ".mp4":
        return src
    from twoface.media import probe, read_frame, write_image

    info = probe(src)
    want = info.frame_count // 3
    out = WORK / "stills" / f"{stem}_frame{want}.png"
    if not out.exists():
        out.parent.mkdir(parents=True, exist_ok=True)
        write_image(out, read_frame(src, want / info.fps).image)
    return out


def make_fakes() -> None:
    swaps = [sys.executable, str(ROOT / "bench" / "swap_pairs.py"), "swap", str(WORK / "pairs"),
             "-o", str(WORK / "media")]  # into media/swap and media/swap_gan
    for a, b, _ in PAIRS:
        swaps += ["--video", f"{a}={media(a)}", "--video", f"{b}={media(b)}"]
    subprocess.run(swaps, check=True)
    for still, driving in MOTION:
        s = _still(still)
        dest = WORK / "media" / "motion" / f"{s.stem}_by_{_short(driving)}.mp4"
        if not dest.exists():
            dest.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([TF, "animate", str(s), "--driving", str(media(driving)), "-m",
                            str(MOTION_MODEL), "-o", str(dest), "--no-mark", "-q"], check=True)
    for seed in GAN_SEEDS:
        dest = WORK / "media" / "gan" / f"gan_walk_s{seed}.mp4"
        if not dest.exists():
            tmp = WORK / "media" / f".gan{seed}"
            subprocess.run([TF, "generate", "-m", str(GAN_MODEL), "-o", str(tmp), "-n", "1",
                            "--seed", str(seed), "--interpolate", "--keyframes", "4",
                            "--frames-between", "16", "--no-mark", "-q"], check=True)
            (tmp / f"interpolation_s{seed}.mp4").rename(dest)


def _short(stem: str) -> str:
    return "fp" if stem.startswith("face_parsing") else stem


def links() -> list[str]:
    """``--link`` specs: a pair, its swaps and its motion fake share a group."""
    motion = {m.stem: m for m in (WORK / "media" / "motion").glob("*.mp4")}
    out = []
    for still, driving in MOTION:
        fake = next(k for k in motion if k.endswith(f"_by_{_short(driving)}")
                    and k.startswith(still))
        group = {still, driving, fake}
        for a, b, _ in PAIRS:
            if {a, b} & group:
                group |= {a, b, f"{a}_as_{b}", f"{b}_as_{a}"}
        out.append(",".join(sorted(group)))
    multiface = sorted(p.stem for p in (FACES / "multiface" / "crops").glob("*.png"))
    out.append(",".join(multiface))
    return out


def build(size: int, every: int, max_frames: int) -> None:
    cmd = [TF, "dataset", "build", "-o", str(WORK / "dataset"), "--size", str(size),
           "--every", str(every), "--max-frames", str(max_frames), "-q"]
    for p in real_inputs():
        cmd += ["--real", str(p)]
    for m in METHODS:
        cmd += ["--fake", f"{m}={WORK / 'media' / m}"]
    for spec in links():
        cmd += ["--link", spec]
    subprocess.run(cmd, check=True)


def models_dir(size: int) -> Path:
    return WORK / ("models" if size == 64 else f"models{size}")


def runs(steps: int, size: int) -> list[tuple[str, list[str]]]:
    """(run name, `train detector` arguments) in an order that respects fusion members."""
    base = ["--steps", str(steps), "--batch", "32", "--preview-every", "0", "-q",
            "--set", f"size={size}"]
    # The cnn trains with both classes augmented (its default) at 128 px, where that lifted
    # every unseen method; at 64 px it did the opposite (in-domain 0.77 → 0.45, one run), so
    # the 64 px tables keep the first recipe.
    cnn = ["--model", "cnn", *base, *(["--set", "augment=false"] if size == 64 else [])]
    # Self-blend: the paired recipe stops at 1,500 steps (3,000 overfitted the few real
    # people: unseen reals drifted towards "fake"); a second seed shows the spread (more
    # seeds: bench/gpu_checks.sh). The default adds re-rendered fakes; ``_v2`` is the
    # paired recipe without them, which the earlier tables used.
    sbi = ["--model", "selfblend", *base[2:], "--steps", "1500"]
    v2 = [*sbi, "--set", "rerender=0", "--set", "soft_reals=0"]
    # The 64 px tables were made before re-rendering: their `selfblend` is the v2 recipe.
    sb = [("selfblend", v2), ("selfblend_s1", [*v2, "--seed", "1"])] if size == 64 else [
        ("selfblend", sbi), ("selfblend_s1", [*sbi, "--seed", "1"]),
        ("selfblend_v2", v2), ("selfblend_v2_s1", [*v2, "--seed", "1"])]
    out = [*sb, ("selfblend_nowarp", [*v2, "--set", "blend_warp=0"]),
           ("cnn", cnn),
           ("spectral", ["--model", "spectral", *base, "--set", "bins=16"])]
    # The first recipe (blends drawn apart from the reals, no augmentation, no JPEG), as is,
    # trained longer, and with blends blurred and downsampled harder.
    v1 = ["--model", "selfblend", *base[2:], "--set", "blend_pairs=false", "--set", "blend_warp=0",
          "--set", "rerender=0", "--set", "soft_reals=0"]
    out += [("selfblend_v1", [*v1, "--steps", str(steps)]),
            ("selfblend_10k", [*v1, "--steps", "10000"]),
            ("selfblend_wide", [*v1, "--steps", str(steps), "--set", "blend_min_scale=0.25",
                                "--set", "blend_max_blur=2.5"])]
    for m in METHODS:
        out += [(f"cnn_no_{m}", [*cnn, "--exclude", m]),
                (f"spectral_no_{m}", ["--model", "spectral", *base, "--set", "bins=16",
                                      "--exclude", m])]
    return out


def fusion_selfblend(size: int) -> Path:
    """The self-blend member of the benchmark's fusions: the ``selfblend`` run, which is the
    default recipe at 128 px and the v2 recipe at 64 px (see :func:`runs`). The 128 px
    fusions fitted with the v2 member are kept in ``WORK/fusions_v2sb``."""
    return models_dir(size) / "selfblend"


def fusions(size: int) -> list[tuple[str, list[str]]]:
    d, sb = models_dir(size), str(fusion_selfblend(size))
    out = [("fusion", ["--model", "fusion", "-q", "--member", str(d / "cnn"), "--member",
                       sb, "--member", str(d / "spectral")])]
    for m in METHODS:
        out.append((f"fusion_no_{m}", [
            "--model", "fusion", "-q", "--exclude", m, "--member", str(d / f"cnn_no_{m}"),
            "--member", sb, "--member", str(d / f"spectral_no_{m}")]))
    return out


def train(steps: int, jobs: int, size: int) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}

    def one(item: tuple[str, list[str]]) -> None:
        name, args = item
        out = models_dir(size) / name
        if (out / "calibration.json").exists():
            return
        t0 = time.time()
        subprocess.run([TF, "train", "detector", str(WORK / "dataset"), "-o", str(out), *args],
                       check=True, env=env)
        print(f"{name}: {time.time() - t0:.0f} s", flush=True)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(one, runs(steps, size)))
        list(pool.map(one, fusions(size)))


def evaluate(size: int) -> None:
    from twoface.evaluate.detector import evaluate_dataset, evaluate_media

    d = models_dir(size)
    for run in sorted(d.iterdir()):
        dest = run / "test_metrics.json"
        if (run / "calibration.json").exists() and not dest.exists():
            dest.write_text(json.dumps(evaluate_dataset(WORK / "dataset", run, n_boot=500),
                                       indent=1))
            print(f"{run.name}: evaluated", flush=True)
    shipped = WORK / "models" / "default_shipped" / "test_metrics.json"
    # The committed default (synthetic people only, never these faces), measured once.
    if size == 64 and not shipped.exists():
        shipped.parent.mkdir(parents=True, exist_ok=True)
        shipped.write_text(json.dumps(evaluate_dataset(WORK / "dataset", None, n_boot=500),
                                      indent=1))
    # The full `detect` pipeline (face finding, sampling, tracks, aggregation) on the test
    # split's source media: the video-level false-positive rate a user would see.
    doc = json.loads((WORK / "dataset" / "dataset.json").read_text())
    test = [s for s in doc["sources"] if s["split"] == "test" and s["faces"]]
    real = [s["path"] for s in test if s["label"] == 0]
    fake = [(s["method"], s["path"]) for s in test if s["label"] == 1]
    for name in ("fusion", "cnn", "selfblend"):
        dest = d / name / "media_metrics.json"
        if not dest.exists():
            out = evaluate_media(real, fake, d / name, n_boot=500)
            dest.write_text(json.dumps(out, indent=1))
            print(f"{name}: media evaluated", flush=True)


class _Scorer:
    """Raw logits of detector folders on a fixed list of dataset rows; the crops are decoded
    once per model size and shared by every model scored (``None``: the shipped default)."""

    def __init__(self, manifest: object, rows: list[dict]) -> None:
        self.manifest, self.rows, self._crops = manifest, rows, {}

    def __call__(self, folder: Path | None, keep: np.ndarray | None = None) -> np.ndarray:
        import torch

        from twoface.models.detectors import load_detector
        from twoface.train.detector import raw_logits

        net = load_detector(folder)
        size = net.config.size
        if size not in self._crops:
            self._crops[size] = self.manifest.images(self.rows, size)  # type: ignore[attr-defined]
        crops = self._crops[size] if keep is None else self._crops[size][keep]
        return raw_logits(net, crops, torch.device("cpu"))


def variants(run_dirs: list[Path]) -> None:
    """Frame AUC per method of each run on three sets: **selection** (fakes of the train and
    val splits against the val split's reals; a self-blend model never trains on any fake, so
    all of these are unseen), **test** (the test split) and **every** (every fake of every
    split against the test split's reals: for self-blend only, the widest unseen test).
    Self-blend variants were compared on the first two; BENCHMARKS.md lists them."""
    import numpy as np

    from twoface.data.detect_manifest import Manifest
    from twoface.metrics.detection import roc_auc

    man = Manifest.load(WORK / "dataset")
    rows = man.select()
    score = _Scorer(man, rows)
    label = np.array([int(r["label"]) for r in rows])
    method = np.array([r["method"] for r in rows])
    split = np.array([r["split"] for r in rows])
    sets = {"selection": (split == "val", split != "test"),
            "test": (split == "test", split == "test"),
            "every": (split == "test", np.ones(len(rows), bool))}
    for run in run_dirs:
        z = score(run)
        cells = []
        for name, (reals, fakes) in sets.items():
            keep = [((method == "real") & reals) | ((method == m) & fakes) for m in METHODS]
            cells.append(f"{name} " + " / ".join(f"{roc_auc(label[k], z[k]):.3f}"
                                                 for k in keep))
        print(f"{run.name}: " + "; ".join(cells) + f"  ({' / '.join(METHODS)})", flush=True)


def _auc(block: dict | None, level: str = "frame") -> str:
    if not block or not block.get(level) or block[level].get("auc") is None:
        return "–"
    b = block[level]
    lo, hi = b.get("auc_ci", [None, None])
    ci = f" ({lo:.2f}–{hi:.2f})" if lo is not None else ""
    return f"{b['auc']:.3f}{ci}"


def tables(size: int) -> str:
    d = models_dir(size)

    def load(name: str, file: str = "test_metrics.json") -> dict | None:
        p = d / name / file
        return json.loads(p.read_text()) if p.exists() else None

    doc = json.loads((WORK / "dataset" / "dataset.json").read_text())
    counts: dict[str, dict[str, int]] = {}
    for key, n in doc["counts"].items():
        split, method = key.split("/")
        counts.setdefault(method, {}).setdefault(split, 0)
        counts[method][split] += n
    groups: dict[str, set[str]] = {}
    for s in doc["sources"]:
        groups.setdefault(s["split"], set()).add(s["group"])
    lines = ["**Data** (face crops per split, each at CRF 0, 23 and 40; "
             f"{len(doc['sources'])} sources in {sum(len(v) for v in groups.values())} groups: "
             + ", ".join(f"{k} {len(v)}" for k, v in sorted(groups.items())) + ")", "",
             "| class | train | val | test |", "|---|---|---|---|"]
    for m in ("real", *METHODS):
        c = counts.get(m, {})
        lines.append(f"| {m} | {c.get('train', 0)} | {c.get('val', 0)} | {c.get('test', 0)} |")
    lines += ["", "**In-domain** (trained on every method; frame-level AUC on the test split, "
              "95 % interval from resampling videos; self-blend saw real faces only):", "",
              "| detector | all | CRF 0 | CRF 23 | CRF 40 | " + " | ".join(
                  f"{m} @23" for m in METHODS) + " | video AUC | video FPR @0.7 |",
              "|---" * (7 + len(METHODS)) + "|"]
    for name in ("cnn", "selfblend", "selfblend_s1", "selfblend_v2", "selfblend_v2_s1",
                 "selfblend_nowarp", "selfblend_v1",
                 "selfblend_10k",
                 "selfblend_wide", "spectral", "fusion", "default_shipped", "default_v1"):
        # The shipped defaults (64 px, synthetic people only) live with the 64 px runs.
        r = load(name) if not name.startswith("default") else (
            json.loads(p.read_text()) if (p := WORK / "models" / name / "test_metrics.json")
            .exists() else None)
        if not r:
            continue
        row = [name, _auc(r["all"])] + [_auc(r["per_crf"].get(q)) for q in ("0", "23", "40")]
        row += [_auc(r["per_method_crf"].get(f"{m}@23")) for m in METHODS]
        v = r["all"]["video"]
        row += [f"{v['auc']:.3f}", f"{v.get('fpr_at_default', float('nan')):.2f}"]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "**Leave one method out** (trained without the method; frame-level AUC of "
              "that unseen method against the test split's real faces, all CRFs, and at CRF "
              "23 / 40). Self-blend never sees any fake, so its row is its in-domain row "
              "(v2: the recipe without re-rendered fakes):", "",
              "| left out | cnn | spectral | fusion | self-blend | self-blend v2 |",
              "|---|---|---|---|---|---|"]
    def unseen(r: dict | None, m: str) -> str:
        """``all / CRF 23 / CRF 40`` AUCs of method ``m`` (no intervals: the cell is full)."""
        if not r:
            return "–"
        blocks = [r["per_method"].get(m)] + [r["per_method_crf"].get(f"{m}@{q}")
                                             for q in ("23", "40")]
        return " / ".join(_auc(b).split(" ")[0] for b in blocks)

    for m in METHODS:
        row = [m] + [unseen(load(f"{fam}_no_{m}"), m) for fam in ("cnn", "spectral", "fusion")]
        row += [unseen(load(n), m) for n in ("selfblend", "selfblend_v2")]
        lines.append("| " + " | ".join(row) + " |")
    lines += ["", "**Through `twoface detect`** (test-split source files, provenance off, "
              "default sampling and thresholds):", "",
              "| detector | real files | called fake | fake files | called fake | video AUC |",
              "|---|---|---|---|---|---|"]
    for name in ("fusion", "cnn", "selfblend", "selfblend_v2", "selfblend_v1"):
        r = load(name, "media_metrics.json")
        if not r:
            continue
        files = [f for f in r["files"] if f["verdict"] != "no-face"]
        reals = [f for f in files if f["label"] == 0]
        fakes = [f for f in files if f["label"] == 1]
        lines.append(f"| {name} | {len(reals)} | {sum(f['verdict'] == 'fake' for f in reals)} | "
                     f"{len(fakes)} | {sum(f['verdict'] == 'fake' for f in fakes)} | "
                     f"{r['video']['auc']:.3f} |" if r.get("video") else f"| {name} | – |")
    return "\n".join(lines)


def _frame_auc(label: np.ndarray, z: np.ndarray, groups: list[str]) -> str:
    """``AUC (lo–hi)``: frame-level, with a 95 % interval from resampling whole videos."""
    from twoface.metrics.detection import bootstrap_ci, roc_auc

    lo, hi = bootstrap_ci(label, z, roc_auc, groups=groups, n=500)
    return f"{roc_auc(label, z):.3f} ({lo:.2f}–{hi:.2f})"


def unseen_tables(size: int) -> str:
    """Two wider looks at what a detector never saw, from models already trained.

    **Every unseen fake**: a leave-one-out model trained without method M saw none of M's
    fakes in *any* split (nor did its fusion's stacker), and a self-blend model saw no fake at
    all; so all of M's fakes (6–8 videos instead of the test split's 1–2) can be scored
    against the test split's reals. **StyleGAN faces**: 19 faces from NVIDIA's StyleGAN and
    StyleGAN2 teasers against the 7 FFHQ crops of the same figures (the same downsampling and
    tiling), a generator far better than twoface's own 64 px GAN and one no model here was
    trained on."""
    import numpy as np
    import torch

    from twoface.data.detect_manifest import Manifest
    from twoface.metrics.detection import roc_auc

    ext = WORK / "stylegan"
    if not (ext / "manifest.csv").exists():
        crops = FACES / "gan_vs_real" / "crops"
        subprocess.run([TF, "dataset", "build", "-o", str(ext), "--size", "128", "--real",
                        str(crops / "real"), "--fake", f"stylegan={crops / 'gan'}", "--val",
                        "0", "--test", "0", "-q"], check=True)
    d = models_dir(size)
    man = Manifest.load(WORK / "dataset")
    rows = man.select()
    method = np.array([r["method"] for r in rows])
    split = np.array([r["split"] for r in rows])
    crf = np.array([r["crf"] for r in rows])
    videos = [f"{r['video']}@crf{r['crf']}" for r in rows]
    test_real = (method == "real") & (split == "test")
    torch.set_num_threads(max(1, os.cpu_count() or 1))

    logits = _Scorer(man, rows)

    def cell(keep: np.ndarray, z: np.ndarray) -> str:
        lab = (method[keep] != "real").astype(int)
        at40 = crf[keep] == "40"
        g = [v for v, k in zip(videos, keep, strict=True) if k]
        return (f"{_frame_auc(lab, z, g)} / {roc_auc(lab[at40], z[at40]):.3f}")

    lines = ["**Every unseen fake** (frame AUC, 95 % interval from resampling videos, then at "
             "CRF 40 alone): all fakes of the left-out method, from every split, against the "
             "test split's reals. Self-blend trained on no fake, so every method is unseen by "
             "it.", "",
             "| left out | videos | cnn | spectral | fusion | self-blend | self-blend seed 1 "
             "| self-blend v2 | self-blend v2 seed 1 |", "|---" * 9 + "|"]
    sb = {name: logits(d / name) if (d / name / "calibration.json").exists() else None
          for name in ("selfblend", "selfblend_s1", "selfblend_v2", "selfblend_v2_s1")}
    for m in METHODS:
        keep = test_real | (method == m)
        n = len({r["video"] for r in rows if r["method"] == m})
        row = [m, str(n)]
        for fam in ("cnn", "spectral", "fusion"):
            run = d / f"{fam}_no_{m}"
            row.append(cell(keep, logits(run, keep)) if (run / "calibration.json").exists()
                       else "–")
        row += [cell(keep, z[keep]) if z is not None else "–" for z in sb.values()]
        lines.append("| " + " | ".join(row) + " |")
        print(lines[-1], flush=True)

    eman = Manifest.load(ext)
    erows = eman.select()
    ext_logits = _Scorer(eman, erows)
    emeth = np.array([r["method"] for r in erows])
    lines += ["", "**StyleGAN faces** (frame AUC, 95 % interval from resampling images): 19 "
              "StyleGAN/StyleGAN2 faces against the 7 FFHQ faces of the same figures, and "
              "against the test split's reals; all at CRF 0, 23 and 40. No model saw either "
              "set.", "", "| detector | StyleGAN vs FFHQ | StyleGAN vs test reals |",
              "|---|---|---|"]
    named: list[tuple[str, Path | None]] = [
        (n, d / n) for n in ("cnn", "spectral", "selfblend", "selfblend_s1", "selfblend_v2",
                             "selfblend_v2_s1", "fusion")
        if (d / n / "calibration.json").exists()]
    named.append(("shipped default (64 px, synthetic people)", None))
    for name, folder in named:
        ze = ext_logits(folder)
        zt = logits(folder, test_real)
        sg = ze[emeth == "stylegan"]
        ge = [f"{r['video']}@crf{r['crf']}" for r in erows]
        gs = [g for g, m in zip(ge, emeth, strict=True) if m == "stylegan"]
        ff = _frame_auc((emeth != "real").astype(int), ze, ge)
        lab = np.r_[np.zeros(int(test_real.sum()), int), np.ones(len(sg), int)]
        gt = [v for v, k in zip(videos, test_real, strict=True) if k] + gs
        lines.append(f"| {name} | {ff} | {_frame_auc(lab, np.r_[zt, sg], gt)} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def cross(size: int) -> str:
    """The leave-one-method-out table through the product command, ``twoface eval
    cross-method --model fusion``. Its self-blend member is the benchmark's own v2 self-blend
    run (:func:`fusion_selfblend`, 1,500 steps, seeded into the folder, which the command then
    reuses: at 3,000 steps self-blend overfits these few real people); cnn and spectral
    members train 3,000 steps, spectral with 16 rings as in the runs above."""
    import shutil

    work = WORK / f"xm_fusion{'' if size == 128 else size}"
    doc_path = work / "cross_method.json"
    if not doc_path.exists():
        work.mkdir(parents=True, exist_ok=True)
        if not (work / "selfblend").exists():
            shutil.copytree(fusion_selfblend(size), work / "selfblend")
        subprocess.run([TF, "eval", "cross-method", str(WORK / "dataset"), "-o", str(work),
                        "--model", "fusion", "--set", f"size={size}", "--set",
                        "spectral.bins=16", "--steps", "3000", "-q"],
                       check=True, env={**os.environ, "OMP_NUM_THREADS": "1"})
    doc = json.loads(doc_path.read_text())

    def cell(block: dict | None, level: str = "frame") -> str:
        return _auc(block, level).replace(" (", " [").replace(")", "]")

    lines = [f"`twoface eval cross-method {WORK.name}/dataset --model fusion --set size={size} "
             "--set spectral.bins=16` "
             "(frame AUC, 95 % interval from resampling videos, against the test split's "
             f"{doc['test_real_videos']} real videos; *all splits*: every fake of the method, "
             "none of which the model saw):", "",
             "| left out | fake videos (test / all) | unseen, test split | unseen, all splits "
             "| CRF 0 / 23 / 40 (all splits) | video AUC (all splits) | seen, test split |",
             "|---|---|---|---|---|---|---|"]
    for row in doc["rows"]:
        every, test = row["unseen_all"], row["unseen_test"]
        crfs = " / ".join(cell(b).split(" ")[0] for b in every["per_crf"].values())
        lines.append(f"| {row['left_out']} | {test['fake_videos'] if test else 0} / "
                     f"{every['fake_videos']} | {cell(test)} | {cell(every)} | {crfs} | "
                     f"{cell(every, 'video')} | {cell(row['in_domain_test'])} |")
    return "\n".join(lines)


def seeds(size: int) -> str:
    """How much the fusion's unseen-GAN cell owes to one training run: ``cnn_no_gan`` again
    with seeds 1 and 2 (spectral and self-blend members as in the tables), each stacked into
    a fusion, beside the tables' own run (seed 0) and the ``cross`` run (all members
    retrained through `twoface eval cross-method`)."""
    import numpy as np
    import torch

    from twoface.data.detect_manifest import Manifest

    d, work = models_dir(size), WORK / "seeds"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    runs_: list[tuple[str, Path, Path]] = [
        ("tables run (seed 0)", d / "cnn_no_gan", d / "fusion_no_gan")]
    for seed in (1, 2):
        cnn, fus = work / f"cnn_no_gan_s{seed}", work / f"fusion_no_gan_s{seed}"
        if not (cnn / "calibration.json").exists():
            subprocess.run([TF, "train", "detector", str(WORK / "dataset"), "-o", str(cnn),
                            "--model", "cnn", "--steps", "3000", "--batch", "32",
                            "--preview-every", "0", "-q", "--set", f"size={size}",
                            "--exclude", "gan", "--seed", str(seed)], check=True, env=env)
        if not (fus / "calibration.json").exists():
            subprocess.run([TF, "train", "detector", str(WORK / "dataset"), "-o", str(fus),
                            "--model", "fusion", "-q", "--exclude", "gan", "--member", str(cnn),
                            "--member", str(fusion_selfblend(size)), "--member",
                            str(d / "spectral_no_gan")], check=True, env=env)
        runs_.append((f"cnn seed {seed}", cnn, fus))
    xm = WORK / f"xm_fusion{'' if size == 128 else size}" / "without_gan"
    if (xm / "calibration.json").exists():
        runs_.append(("`eval cross-method` run", xm / "members" / "cnn", xm))
    man = Manifest.load(WORK / "dataset")
    rows = [r for r in man.select() if r["method"] == "gan" or
            (r["method"] == "real" and r["split"] == "test")]
    gan = np.array([r["method"] == "gan" for r in rows])
    test = np.array([r["split"] == "test" for r in rows])
    at40 = np.array([r["crf"] == "40" for r in rows])
    videos = [f"{r['video']}@crf{r['crf']}" for r in rows]
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    lines = ["Unseen GAN faces (models trained without any GAN fake), frame AUC against the "
             "test split's reals: the test split's one walk, all six walks (95 % interval from "
             "resampling videos), and all six at CRF 40:", "",
             "| run | cnn member: test walk / all walks | fusion: test walk | fusion: all walks "
             "| fusion: all walks, CRF 40 |", "|---|---|---|---|---|"]
    from twoface.metrics.detection import roc_auc

    score = _Scorer(man, rows)
    for name, cnn, fus in runs_:
        c, f = score(cnn), score(fus)
        lines.append(f"| {name} | {roc_auc(gan[test], c[test]):.3f} / {roc_auc(gan, c):.3f} | "
                     f"{roc_auc(gan[test], f[test]):.3f} | "
                     f"{_frame_auc(gan.astype(int), f, videos)} | "
                     f"{roc_auc(gan[at40], f[at40]):.3f} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def pack(dest: Path, faces: int = 200) -> None:
    """What bench/gpu_checks.sh needs on a GPU machine, which has neither ../shared nor this
    benchmark's media: the real train/val crops of the dataset (with a manifest of those rows)
    and the first ``faces`` faces of the swap facesets d6 and d14."""
    import csv
    import shutil

    src, ds = WORK / "dataset", dest / "ds"
    with open(src / "manifest.csv", newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        fields = list(reader.fieldnames or [])
        keep = [r for r in reader if r["method"] == "real" and r["split"] in ("train", "val")]
    for r in keep:
        (ds / r["path"]).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src / r["path"], ds / r["path"])
    with open(ds / "manifest.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(keep)
    shutil.copy2(src / "dataset.json", ds / "dataset.json")
    for name in ("fs_d6", "fs_d14"):
        fs, out = ROOT / "runs" / "swap" / name, dest / name
        (out / "faces").mkdir(parents=True, exist_ok=True)
        doc = json.loads((fs / "alignments.json").read_text())
        doc["faces"] = doc["faces"][:faces]
        for f in doc["faces"]:
            shutil.copy2(fs / "faces" / Path(f["file"]).name, out / "faces")
        (out / "alignments.json").write_text(json.dumps(doc))
    print(f"{len(keep)} real crops and 2 × {faces} swap faces in {dest}")


def sb_seeds(size: int) -> str:
    """The self-blend detector over training runs: every unseen method, on the test split and
    on every split (each against the test split's reals), for the v2 recipe and the default
    (re-rendered fakes), its further seeds in WORK/sbseeds/sN (trained here with
    `train detector --seed N`, or by bench/gpu_checks.sh and unpacked there)."""
    import numpy as np

    from twoface.data.detect_manifest import Manifest
    from twoface.metrics.detection import roc_auc

    d = models_dir(size)
    found = [(f"v2 (no re-rendering), seed {k}", d / n)
             for k, n in ((0, "selfblend_v2"), (1, "selfblend_v2_s1"))]
    found += [(f"default, seed {k}", d / n) for k, n in ((0, "selfblend"),
                                                           (1, "selfblend_s1"))]
    more = WORK / "sbseeds"  # further seeds of the default, sN (here or bench/gpu_checks.sh)
    found += [(f"default, seed {p.name[1:]}", p)
              for p in sorted(more.glob("s*"), key=lambda p: int(p.name[1:]))]
    found = [(n, p) for n, p in found if (p / "model.safetensors").exists()]
    man = Manifest.load(WORK / "dataset")
    rows = man.select()
    score = _Scorer(man, rows)
    method = np.array([r["method"] for r in rows])
    split = np.array([r["split"] for r in rows])
    label = (method != "real").astype(int)
    real = (method == "real") & (split == "test")
    lines = ["The real-only self-blend detector on the methods it never saw (frame AUC against "
             "the test split's reals; each cell: test split's fakes / every split's fakes):",
             "", "| run | " + " | ".join(METHODS) + " | lowest |",
             "|---" * (len(METHODS) + 2) + "|"]
    lows: dict[str, list[float]] = {}
    for name, folder in found:
        z = score(folder)
        cells, worst = [], 1.0
        for m in METHODS:
            t = real | ((method == m) & (split == "test"))
            e = real | (method == m)
            at, ae = roc_auc(label[t], z[t]), roc_auc(label[e], z[e])
            worst = min(worst, at, ae)
            cells.append(f"{at:.3f} / {ae:.3f}")
        lows.setdefault(name.split(",")[0], []).append(worst)
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {worst:.3f} |")
        print(lines[-1], flush=True)
    lines += ["", "Lowest cell per recipe over its runs: " + "; ".join(
        f"{k}: median {np.median(v):.3f}, worst {min(v):.3f} ({len(v)} runs)"
        for k, v in lows.items()) + "."]
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("fakes")
    b = sub.add_parser("build")
    b.add_argument("--size", type=int, default=128)
    b.add_argument("--every", type=int, default=5)
    b.add_argument("--max-frames", type=int, default=48)
    t = sub.add_parser("train")
    t.add_argument("--steps", type=int, default=2000)
    t.add_argument("--jobs", type=int, default=2)
    e = sub.add_parser("eval")
    v = sub.add_parser("variants", help="Per-method AUC on the selection and test sets.")
    v.add_argument("runs", type=Path, nargs="+")
    w = sub.add_parser("tables")
    w.add_argument("--write", action="store_true")
    u = sub.add_parser("unseen", help="Every unseen fake; StyleGAN faces (BENCHMARKS.md).")
    u.add_argument("--write", action="store_true")
    x = sub.add_parser("cross", help="`twoface eval cross-method` with the fusion.")
    x.add_argument("--write", action="store_true")
    sd = sub.add_parser("seeds", help="Unseen GAN faces: the fusion over cnn seeds.")
    sd.add_argument("--write", action="store_true")
    sb = sub.add_parser("sbseeds", help="Self-blend on unseen methods over training runs.")
    sb.add_argument("--write", action="store_true")
    pk = sub.add_parser("pack", help="Real crops and faces for bench/gpu_checks.sh.")
    pk.add_argument("dest", type=Path, nargs="?", default=ROOT / "runs" / "gpu3")
    for p in (t, e, w, u, x, sd, sb):
        p.add_argument("--size", type=int, default=64, help="Detector input side (px).")
    args = ap.parse_args()
    if not FACES.exists():
        sys.exit(f"{FACES} is missing: this benchmark needs ../shared")
    if args.cmd == "fakes":
        make_fakes()
    elif args.cmd == "build":
        build(args.size, args.every, args.max_frames)
    elif args.cmd == "train":
        train(args.steps, args.jobs, args.size)
    elif args.cmd == "eval":
        evaluate(args.size)
    elif args.cmd == "variants":
        variants(args.runs)
    elif args.cmd == "pack":
        pack(args.dest)
    else:  # the report commands: build the tables, print them, --write them
        from _report import machine, write_section

        n = args.size
        build_, title, how = {
            "sbseeds": (sb_seeds, f"Detection (real videos): the real-only self-blend "
                        f"detector across training runs ({n} px)",
                        f"`bench/detect_real.py sbseeds --size {n}` (GPU seeds: "
                        "`bench/gpu_checks.sh`)"),
            "seeds": (seeds, f"Detection (real videos): unseen GAN faces across training runs "
                      f"({n} px)", f"`bench/detect_real.py seeds --size {n}`"),
            "cross": (cross, f"Detection (real videos): `twoface eval cross-method`, fusion "
                      f"({n} px)", f"`bench/detect_real.py cross --size {n}`"),
            "unseen": (unseen_tables, f"Detection (real videos): every unseen fake, and "
                       f"StyleGAN faces ({n} px)", f"`bench/detect_real.py unseen --size {n}`"),
            "tables": (tables, f"Detection (real videos, twoface's own fakes, {n} px)",
                       "recipe: `bench/swap_pairs.py` then `bench/detect_real.py` (its "
                       "docstring lists the data)"),
        }[args.cmd]
        body = build_(n) + f"\n\nMeasured on {machine()}; {how}."
        print(body)
        if args.write:
            write_section(title, body)

if __name__ == "__main__":
    main()
