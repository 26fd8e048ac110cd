"""How well a motion model animates: FOMM's reconstruction protocol on held-out clips.

Per clip, the first frame is the source and every frame the driver (absolute keypoints: the
same person, so nothing must change but the pose), and the generated frames are compared with
the real ones:

* **L1**: mean absolute pixel error in [0, 1] at the model's own size;
* **AKD**: average distance in pixels (at 256 px) between dlib's 68 landmarks of the real and
  the generated frame; the paper used another landmark network, so compare with care;
* **AED**: average distance between dlib's identity embeddings of the two (same scale as
  dlib's "same person below 0.6");
* **static**: L1 and AKD of the do-nothing baseline (the source frame, unchanged, for every
  frame): a model must beat it to show it moves the face at all;
* **missing**: share of frames where dlib found a face in the real frame but not in the
  generated one (those frames are left out of AKD/AED).

A model smaller than 256 px has its output upscaled (bicubic) to 256 for dlib. Identity
preservation for cross-identity animation: clip A's first frame animated by clip B (relative
motion) should stay A: the embedding distance of the output to A's frame, beside the distance
of B's own frames to it (what copying the driver would score).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from twoface.models.motion import MotionModel

METRIC_SIDE = 256  # AKD is in pixels at this side, as in the paper


def _face(img: np.ndarray, models: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """(68 landmarks, 128-d embedding) of the largest face in a 256² frame, or None."""
    from twoface.faces.detect import detect, embedding, landmarks

    found = detect(img, models, upsample=0) or detect(img, models, upsample=1)
    if not found:
        return None
    box = max((b for b, _ in found), key=lambda b: b.area)
    marks = landmarks(img, box, models)
    return marks, embedding(img, marks, models)


def _to_side(frames: np.ndarray, side: int) -> np.ndarray:
    import cv2

    if frames.shape[1] == side:
        return frames
    interp = cv2.INTER_AREA if frames.shape[1] > side else cv2.INTER_CUBIC
    return np.stack([cv2.resize(f, (side, side), interpolation=interp) for f in frames])


class _Runner:
    """The model on a device, fed uint8 frames ``(N, H, W, 3)`` at the model's size."""

    def __init__(self, model: MotionModel, device: torch.device, batch: int = 16) -> None:
        self.model, self.device, self.batch = model.eval(), device, batch

    def tensor(self, frames: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(frames).to(self.device).permute(0, 3, 1, 2).float() / 255

    @torch.no_grad()
    def run(self, source: np.ndarray, driving: np.ndarray, relative: bool) -> np.ndarray:
        """Animate ``source`` ``(S, S, 3)`` with ``driving`` ``(N, S, S, 3)`` → uint8 frames."""
        from twoface.apply.animate import transfer

        src = self.tensor(source[None])
        kp_s, feat = self.model.keypoints(src), self.model.encode(src)
        kp_ref = self.model.keypoints(self.tensor(driving[:1]))
        out = []
        for i in range(0, len(driving), self.batch):
            kp_d = self.model.keypoints(self.tensor(driving[i:i + self.batch]))
            kp = transfer(kp_s, kp_d, kp_ref, relative=relative)
            pred = self.model.animate(src, feat, kp_s, kp)["prediction"]
            out.append((pred.float().clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1)
                       .cpu().numpy())
        return np.concatenate(out)


def evaluate_motion(clip_dirs: list[str | Path], model_dir: str | Path, *, every: int = 1,
                    device: str | None = None, output: str | Path | None = None,
                    progress: bool = False) -> dict[str, Any]:
    """Reconstruction metrics per held-out clip and overall, plus cross-identity identity
    distances when there are two clips or more. Returns ``{"summary", "clips", "cross"}``."""
    from twoface.data.clips import find_clips
    from twoface.device import pick_device
    from twoface.faces.dlib_models import DlibModels
    from twoface.models import from_pretrained
    from twoface.models.motion import MotionModel
    from twoface.progress import progress_bar

    dev = pick_device(device)
    model = from_pretrained(model_dir, "motion", device=dev)
    assert isinstance(model, MotionModel)  # the one registered kind of motion model
    size = model.config.size
    runner, faces = _Runner(model, dev), DlibModels()
    clips = find_clips(list(clip_dirs))
    per_clip: list[dict[str, Any]] = []
    firsts: list[tuple[np.ndarray, np.ndarray | None]] = []  # per clip: 256² frame 0, embedding
    loaded: list[np.ndarray] = []
    with progress_bar(enabled=progress) as bar:
        total = sum(len(c.frames[::every]) for c in clips)
        task = bar.add_task("eval motion", total=total, unit="frames")
        for clip in clips:
            frames = _to_side(clip.load(max(clip.size, size), every), METRIC_SIDE)
            small = _to_side(frames, size)
            pred = runner.run(small[0], small, relative=False)
            l1 = float(np.abs(pred.astype(np.float32) - small.astype(np.float32)).mean() / 255)
            big = _to_side(pred, METRIC_SIDE)
            # The do-nothing baseline: the source frame shown unchanged for every frame.
            l1_static = float(np.abs(small.astype(np.float32) - small[:1]).mean() / 255)
            first = _face(frames[0], faces)
            akd, aed, static, missing, seen = [], [], [], 0, 0
            for real, fake in zip(frames, big, strict=True):
                a = _face(real, faces)
                bar.advance(task)
                if a is None:
                    continue
                seen += 1
                if first is not None:
                    static.append(float(np.linalg.norm(a[0] - first[0], axis=1).mean()))
                b = _face(fake, faces)
                if b is None:
                    missing += 1
                    continue
                akd.append(float(np.linalg.norm(a[0] - b[0], axis=1).mean()))
                aed.append(float(np.linalg.norm(a[1] - b[1])))
            firsts.append((frames[0], None if first is None else first[1]))
            loaded.append(small)
            per_clip.append({"clip": clip.folder.name, "frames": len(frames), "l1": l1,
                             "akd": _mean(akd), "aed": _mean(aed), "l1_static": l1_static,
                             "akd_static": _mean(static),
                             "missing_rate": missing / seen if seen else float("nan"),
                             "faces_in_real": seen, "_pred": big, "_real": frames})
    cross = _cross_identity(runner, loaded, firsts, faces, size)
    n = sum(c["frames"] for c in per_clip)

    def weighted(key: str) -> float:
        vals = [(c[key], c["frames"]) for c in per_clip if np.isfinite(c[key])]
        return sum(v * w for v, w in vals) / sum(w for _, w in vals) if vals else float("nan")

    summary: dict[str, Any] = {
        "clips": len(per_clip), "frames": n, "model_size": size,
        "l1": weighted("l1"), "akd_px256": weighted("akd"), "aed": weighted("aed"),
        "missing_rate": weighted("missing_rate"),
        "l1_static_source": weighted("l1_static"), "akd_static_source": weighted("akd_static"),
        "id_dist_output_to_source": _mean([c["output_to_source"] for c in cross]),
        "id_dist_driver_to_source": _mean([c["driver_to_source"] for c in cross]),
    }
    if size < METRIC_SIDE:
        summary["note"] = f"generated {size} px frames upscaled to 256 for dlib"
    if output is not None:
        _write(Path(output), summary, per_clip, cross)
    clean = [{k: v for k, v in c.items() if not k.startswith("_")} for c in per_clip]
    return {"summary": summary, "clips": clean, "cross": cross}


def _cross_identity(runner: _Runner, loaded: list[np.ndarray],
                    firsts: list[tuple[np.ndarray, np.ndarray | None]], faces: Any,
                    size: int) -> list[dict[str, Any]]:
    """Clip ``a``'s first frame animated by clip ``b`` (relative motion), for every ordered
    pair: mean embedding distance of the output, and of ``b``'s real frames, to ``a``."""
    rows = []
    for a, (_, emb_a) in enumerate(firsts):
        if emb_a is None:
            continue
        for b, drv in enumerate(loaded):
            if a == b:
                continue
            pick = drv[:: max(1, len(drv) // 30)]  # 30 frames tell identity well enough
            out = _to_side(runner.run(loaded[a][0], pick, relative=True), METRIC_SIDE)
            d_out = [float(np.linalg.norm(f[1] - emb_a)) for f in map(
                lambda im: _face(im, faces), out) if f is not None]
            d_drv = [float(np.linalg.norm(f[1] - emb_a)) for f in map(
                lambda im: _face(im, faces), _to_side(pick, METRIC_SIDE)) if f is not None]
            rows.append({"source_clip": a, "driving_clip": b, "output_to_source": _mean(d_out),
                         "driver_to_source": _mean(d_drv), "faces_found": len(d_out),
                         "frames": len(pick)})
    return rows


def _mean(xs: list[float]) -> float:
    xs = [x for x in xs if np.isfinite(x)]
    return float(np.mean(xs)) if xs else float("nan")


def _write(folder: Path, summary: dict[str, Any], per_clip: list[dict[str, Any]],
           cross: list[dict[str, Any]]) -> None:
    """``metrics.json`` and, per clip, a strip of real (top) over generated (bottom) frames."""
    import cv2

    from twoface.fileio import atomic_path, atomic_write_json

    folder.mkdir(parents=True, exist_ok=True)
    for c in per_clip:
        idx = np.linspace(0, len(c["_real"]) - 1, min(8, len(c["_real"]))).round().astype(int)
        strip = np.concatenate([np.concatenate(list(c[k][idx]), axis=1)
                                for k in ("_real", "_pred")], axis=0)
        with atomic_path(folder / f"{c['clip']}_strip.png") as tmp:
            cv2.imwrite(str(tmp), cv2.cvtColor(strip, cv2.COLOR_RGB2BGR))
    clean = [{k: v for k, v in c.items() if not k.startswith("_")} for c in per_clip]
    atomic_write_json(folder / "metrics.json", {"summary": summary, "clips": clean,
                                                "cross": cross})
