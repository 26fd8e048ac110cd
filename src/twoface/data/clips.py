"""Face clips for the motion model: stable, loosely cropped square videos of one face.

A *clip* folder holds ``frames/000000.png …`` (every kept frame, lossless, ``size``² px) and
``clip.json``::

    {"source": "/abs/path/video.mp4", "fps": 30.0, "every": 1, "frames": 354, "size": 256,
     "box": [x0, y0, side], "video_frames": 354, "video_size": [w, h]}

The crop is *one* square box for the whole video (from the tracked face boxes), not a
per-frame alignment: the motion model must see the head move inside a still frame, exactly as
it will see a driving video. ``twoface clips VIDEO... -o DIR`` writes one sub-folder per video.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from twoface.errors import TwofaceError

LOOSE = 1.8  # crop side / median face box side: the whole head with some margin, as in FOMM
TRACK_SAMPLES = 80  # frames looked at to place the box (spread over the whole video)
MIN_FRAMES = 2  # a clip needs two frames to give a (source, driving) pair


# ---------------------------------------------------------------- placing the box
def stable_box(boxes: np.ndarray, frame_w: int, frame_h: int, loose: float = LOOSE
               ) -> tuple[float, float, float]:
    """One square ``(x0, y0, side)`` covering a face seen in ``boxes`` ``(N, 4)`` (x0 y0 x1 y1).

    Centred on the median face centre; the side is ``loose`` × the median face size plus room
    for how far the face wanders (its 90th-percentile offset), then clipped to the frame and
    shifted inside it, so that no padding is ever invented.
    """
    boxes = np.asarray(boxes, np.float64)
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1])
    c = np.median(centres, axis=0)
    wander = float(np.percentile(np.abs(centres - c).max(axis=1), 90)) if len(boxes) > 1 else 0
    side = min(loose * float(np.median(sides)) + 2 * wander, frame_w, frame_h)
    x0 = float(np.clip(c[0] - side / 2, 0, frame_w - side))
    y0 = float(np.clip(c[1] - side / 2 - 0.05 * side, 0, frame_h - side))  # a bit of hair room
    return x0, y0, side


def crop(image: np.ndarray, box: tuple[float, float, float], size: int) -> np.ndarray:
    """The square ``box`` ``(x0, y0, side)`` of ``image`` resized to ``size``² (area-averaged
    when shrinking, which keeps fine texture without aliasing)."""
    x0, y0, side = box
    ix0, iy0, iside = round(x0), round(y0), max(1, round(side))
    part = image[iy0:iy0 + iside, ix0:ix0 + iside]
    interp = cv2.INTER_AREA if iside > size else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(part), (size, size), interpolation=interp)


def track_boxes(video: Path, models: Any, samples: int = TRACK_SAMPLES,
                min_face: int = 40) -> tuple[np.ndarray, int]:
    """Face boxes ``(N, 4)`` of the main (longest-tracked) face over ``samples`` frames spread
    over ``video``, and the video's frame count. Raises TwofaceError when no face is found."""
    from twoface.faces.track import FaceTracker, TrackerConfig
    from twoface.media import iter_frames, probe

    total = probe(video).frame_count
    every = max(1, total // samples)
    # Sampled frames are far apart: detect on each rather than follow landmarks between them.
    tracker = FaceTracker(models, TrackerConfig(detect_every=1, min_face=min_face, upsample=0))
    per_track: dict[int, list[list[float]]] = {}
    for fr in iter_frames(video, every=every):
        for face in tracker.update(fr.image, fr.index, fr.time):
            per_track.setdefault(face.track_id, []).append(face.bbox.as_list())
    if not per_track:
        raise TwofaceError(video, f"no face found in the video (looked at {total // every} "
                           "frames spread over it); it needs one visible face")
    return np.array(max(per_track.values(), key=len)), total


def image_box(image: np.ndarray, models: Any, loose: float = LOOSE, min_face: int = 40
              ) -> tuple[float, float, float] | None:
    """The loose square around the largest face of a still image, or None without a face."""
    from twoface.faces.detect import detect

    up = 1 if max(image.shape[:2]) < 640 else 0
    found = [b for b, _ in detect(image, models, upsample=up)
             if min(b.width, b.height) >= min_face]
    if not found:
        return None
    # The best-scored of the large faces: HOG also fires on face-like patches (a badge on a
    # suit) about as large as the face, and its score tells them apart better than size.
    largest = max(b.area for b in found)
    big = next(b for b in found if b.area >= 0.5 * largest)
    h, w = image.shape[:2]
    return stable_box(np.array([big.as_list()]), w, h, loose)


# ------------------------------------------------------------------ writing clips
def make_clip(video: str | Path, folder: str | Path, *, size: int = 256, every: int = 1,
              models: Any = None, progress: Any = None, samples: int = TRACK_SAMPLES) -> dict:
    """Write the clip of ``video`` into ``folder`` (built beside it, renamed when complete, so
    a killed run never leaves a half clip); returns its ``clip.json`` contents."""
    from twoface.faces.dlib_models import DlibModels
    from twoface.fileio import atomic_write_json
    from twoface.media import iter_frames, probe

    video, folder = Path(video), Path(folder)
    if size < 32:
        raise TwofaceError(None, f"--size {size}: too small for a face clip (32 px at least)")
    info = probe(video)
    boxes, total = track_boxes(video, models or DlibModels(), samples)
    box = stable_box(boxes, info.width, info.height)
    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "frames").mkdir(parents=True)
    task = progress.add_task(f"clip {video.name}", total=total // every or None,
                             unit="frames") if progress is not None else None
    n = 0
    for fr in iter_frames(video, every=every):
        img = crop(fr.image, box, size)
        if not cv2.imwrite(str(tmp / "frames" / f"{n:06d}.png"),
                           cv2.cvtColor(img, cv2.COLOR_RGB2BGR)):
            raise TwofaceError(tmp, "could not write frames (disk full?)")
        n += 1
        if task is not None:
            progress.advance(task)
    doc = {"source": str(video.resolve()), "fps": info.fps / every, "every": every,
           "frames": n, "size": size, "box": [round(v, 2) for v in box],
           "video_frames": total, "video_size": [info.width, info.height]}
    atomic_write_json(tmp / "clip.json", doc)
    if folder.exists():
        shutil.rmtree(folder)
    os.replace(tmp, folder)
    return doc


def make_clips(videos: list[str | Path], out: str | Path, *, size: int = 256, every: int = 1,
               progress: Any = None) -> list[tuple[Path, dict | None, str]]:
    """One clip per video in ``out/<video stem>/``; a clip already there at the same size and
    ``every`` is kept. Returns ``(folder, clip.json or None, note)`` per video; a video with
    no face is noted and skipped (the others still become clips)."""
    from twoface.faces.dlib_models import DlibModels
    from twoface.media import collect_media, media_kind

    files = [p for p in collect_media(videos) if media_kind(p) == "video"]
    if not files:
        raise TwofaceError(None, "no videos given (clips are cut from videos)")
    models = DlibModels()
    out = Path(out)
    results: list[tuple[Path, dict | None, str]] = []
    for video in files:
        folder = out / video.stem
        old = _read_json(folder / "clip.json")
        if old and old.get("size") == size and old.get("every") == every:
            results.append((folder, old, "kept"))
            continue
        try:
            results.append((folder, make_clip(video, folder, size=size, every=every,
                                              models=models, progress=progress), "made"))
        except TwofaceError as exc:
            results.append((folder, None, exc.problem))
    return results


def write_synthetic_clips(out: str | Path, *, people: int = 3, frames: int = 48,
                          size: int = 64, seed: int = 0) -> list[Path]:
    """Clips of synthetic talking heads (:mod:`twoface.synth`), rendered straight at
    ``size``: the renderer already frames the head loosely and steadily, so no tracking is
    needed, and rendering small keeps a demo's data to seconds. One clip folder per person."""
    from twoface.fileio import atomic_write_json
    from twoface.synth import Identity, render_sequence

    folders = []
    for p in range(people):
        folder = Path(out) / f"synthetic_{p}"
        (folder / "frames").mkdir(parents=True, exist_ok=True)
        renders = render_sequence(Identity.random(seed + p), frames, size=size, seed=seed + p)
        for i, r in enumerate(renders):
            cv2.imwrite(str(folder / "frames" / f"{i:06d}.png"),
                        cv2.cvtColor(r.image, cv2.COLOR_RGB2BGR))
        atomic_write_json(folder / "clip.json", {
            "source": f"synthetic:{seed + p}", "fps": 25.0, "every": 1, "frames": frames,
            "size": size, "box": [0, 0, size], "video_frames": frames,
            "video_size": [size, size]})
        folders.append(folder)
    return folders


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None


# ------------------------------------------------------------------ reading clips
@dataclass
class Clip:
    folder: Path
    meta: dict

    @property
    def frames(self) -> list[Path]:
        return sorted((self.folder / "frames").glob("*.png"))

    @property
    def size(self) -> int:
        return int(self.meta["size"])

    def load(self, size: int, every: int = 1) -> np.ndarray:
        """Every ``every``-th frame at ``size``² px: ``(N, size, size, 3)`` uint8 RGB."""
        out = []
        for p in self.frames[::every]:
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)
            if img is None:
                raise TwofaceError(p, "unreadable clip frame")
            if img.shape[0] != size:
                img = cv2.resize(img, (size, size), interpolation=cv2.INTER_AREA)
            out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        return np.stack(out)


def find_clips(paths: list[str | Path]) -> list[Clip]:
    """The clips named by ``paths``: clip folders, or folders of clip folders."""
    clips: list[Clip] = []
    for p in map(Path, paths):
        if not p.is_dir():
            raise TwofaceError(p, "not a folder of clips (make one with `twoface clips`)")
        folders = [p] if (p / "clip.json").is_file() else sorted(
            q for q in p.iterdir() if (q / "clip.json").is_file())
        if not folders:
            raise TwofaceError(p, "holds no clips (no clip.json; make them with `twoface "
                               "clips VIDEO... -o DIR`)")
        for f in folders:
            meta = _read_json(f / "clip.json")
            if not meta or "size" not in meta:
                raise TwofaceError(f / "clip.json", "unreadable clip description")
            clip = Clip(f, meta)
            if len(clip.frames) >= MIN_FRAMES:
                clips.append(clip)
    if not clips:
        raise TwofaceError(Path(paths[0]) if paths else None,
                           f"no clip with at least {MIN_FRAMES} frames")
    return clips


def check_sizes(clips: list[Clip], size: int) -> list[str]:
    """Refuse clips smaller than the model (upscaled frames would teach blur); return notes
    for clips that will be shrunk to the model's size."""
    small = [c for c in clips if c.size < size]
    if small:
        raise TwofaceError(small[0].folder, f"clips are {small[0].size} px but the model works "
                           f"at {size} px; cut the clips with --size {size} (or larger)")
    sizes = sorted({c.size for c in clips if c.size > size})
    return [f"clips at {s} px are resized to the model's {size} px" for s in sizes]


class ClipBatches:
    """Batches for :meth:`twoface.models.motion.MotionModel.training_step`: two random frames
    of one random clip per sample, both mirrored together half the time, and the parameters
    of a random warp for the equivariance losses.

    ``batch(step)`` is a pure function of ``(seed, rank, step)``, so a resumed run sees the
    very batches an unbroken run would have seen.
    """

    def __init__(self, clips: list[torch.Tensor], batch_size: int, *,
                 device: torch.device | str = "cpu", seed: int = 0, rank: int = 0,
                 sigma_affine: float = 0.05, sigma_tps: float = 0.005) -> None:
        self.device = torch.device(device)
        self.clips = [c.to(self.device) for c in clips]  # each (N, 3, S, S) uint8
        self.batch_size, self.seed, self.rank = batch_size, seed, rank
        self.sigma_affine, self.sigma_tps = sigma_affine, sigma_tps

    @classmethod
    def from_clips(cls, clips: list[Clip], size: int, batch_size: int, **kw: Any
                   ) -> ClipBatches:
        from twoface.progress import progress_bar

        tensors = []
        with progress_bar(enabled=kw.pop("progress", False)) as bar:
            task = bar.add_task("load clips", total=len(clips), unit="clips")
            for c in clips:
                tensors.append(torch.from_numpy(c.load(size)).permute(0, 3, 1, 2).contiguous())
                bar.advance(task)
        return cls(tensors, batch_size, **kw)

    def batch(self, step: int) -> dict[str, torch.Tensor]:
        """``source``, ``driving`` ``(B, 3, S, S)`` float in [0, 1]; ``warp_theta``
        ``(B, 2, 3)`` and ``warp_tps`` ``(B, P², 2)``."""
        from twoface.data.augment import seed_for
        from twoface.nn.warp import random_warp_params

        gen = torch.Generator().manual_seed(seed_for(self.seed, self.rank, step))
        which = torch.randint(len(self.clips), (self.batch_size,), generator=gen).tolist()
        pairs = []
        for c in which:
            frames = self.clips[c]
            i, j = torch.randint(len(frames), (2,), generator=gen).tolist()
            pairs.append(torch.stack([frames[i], frames[j]]))
        x = torch.stack(pairs).float() / 255  # (B, 2, 3, S, S)
        flip = torch.rand(self.batch_size, generator=gen) < 0.5
        x[flip] = x[flip].flip(-1)
        warp = random_warp_params(self.batch_size, gen, self.sigma_affine, self.sigma_tps)
        return {"source": x[:, 0], "driving": x[:, 1],
                **{k: v.to(self.device) for k, v in warp.items()}}
