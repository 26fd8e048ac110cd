"""``twoface swap TARGET --face PHOTO``: a one-shot face swap, no per-pair training (Reface's
task), with one of two engines.

* ``motion`` (FSGAN's idea of reenacting the new face, then blending it): per target frame,
  the photo's face is moved by the target's motion (the target's keypoints relative to the
  target frame whose pose best matches the photo) by a motion model, then fitted onto the
  frame's own landmarks (a similarity fit of the drawn face's landmarks);
* ``warp`` (the classic landmark swap, no network): the photo's face is warped triangle by
  triangle (:mod:`twoface.apply._warp`) onto the frame's landmarks moved halfway towards the
  photo's own spacing of eyes, nose and mouth (:func:`photo_shaped`; that spacing is much of
  a person's identity; the jaw line is the frame's), at the frame's own resolution, so it is
  as sharp as the photo; the frame keeps its inner mouth, and its own eyes and lids while
  they are shut (a warp squeezes the photo's open eyes thin but cannot shut them; the track
  keeps blinks, :func:`twoface.faces.track.keep_expression`).

Either way the face is pasted through the frame's face mask with a colour correction smoothed
along the track; the warp engine keeps the frame's glasses in front of it
(:mod:`twoface.apply._occlusion`). Several photos of one person may be given: each frame uses
the one closest in pose, switching only when another fits clearly better (a switch every frame
would flicker).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import torch

from twoface.apply._facecrop import (
    Box,
    Paster,
    crop_at,
    eyes_shut,
    follow_box,
    main_track,
    normalised_pose,
    track_faces,
)
from twoface.apply._pipeline import FaceMotionPipeline, chunks
from twoface.apply.animate import transfer
from twoface.errors import TwofaceError
from twoface.faces.quality import eye_openness
from twoface.types import BlendName, ColorMatchName, OneShotEngine

if TYPE_CHECKING:
    from twoface.media import VideoWriter
    from twoface.provenance import MarkedVideoWriter


@dataclass
class OneShotOptions:
    engine: OneShotEngine = "motion"  # motion: the motion model; warp: landmark warp, no model
    blend: BlendName = "feather"
    color: ColorMatchName = "rct"
    fit: bool = True  # fit the drawn face onto the frame's landmarks before pasting
    photo_shape: float = 0.5  # warp engine: how far the photo's own spacing of eyes, nose and
    #              mouth (moved by the frame's expression and pose) replaces the frame's: 0
    #              the frame's landmarks (its face geometry, the photo's skin), 1 the photo's
    occlusion: bool = True  # warp engine: keep the target's glasses in front of the face
    switch_margin: float = 0.15  # another photo must fit the pose this much better to take over
    batch: int = 8  # frames per model call
    min_face: int = 40  # px; smaller faces are left alone
    detect_every: int = 5
    mark: bool = True
    crf: int = 18
    consent: str | Path | None = None  # a consent record: its SHA-256 goes into the manifest


@dataclass
class OneShotReport:
    output: Path
    frames: int = 0
    swapped_frames: int = 0
    photo_frames: dict[str, int] = field(default_factory=dict)  # photo name → frames it drew
    seconds: float = 0.0
    fps: float = 0.0
    manifest: Path | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class _Photo:
    path: Path
    crop: np.ndarray  # S×S×3 uint8 (the motion engine's source)
    pose: np.ndarray  # normalised landmarks
    ref: int = 0  # the target frame whose pose is closest
    tensors: dict[str, Any] = field(default_factory=dict)  # source, feat, kp_s, kp_ref
    image: np.ndarray | None = None  # the whole photo and its warp points (the warp engine)
    points: np.ndarray | None = None
    marks: np.ndarray | None = None  # its 68 landmarks (the warp engine)


def photo_shaped(photo: np.ndarray, frame: np.ndarray, calm: np.ndarray,
                 weight: float = 1.0) -> np.ndarray:
    """Where the photo's landmarks go in a frame: the photo's own eyes, brows, nose and mouth
    (their spacing is much of a person's identity), moved by the frame's expression (its change
    from the target's calm frame ``calm``, as :func:`~twoface.apply.reenact.moved_marks`
    measures it) and put in the frame's pose by a similarity fit of the nose and eye corners;
    the jaw line stays the frame's, so the face fills the frame's face outline. ``weight``
    goes from the frame's own landmarks (0) to the photo's spacing (1): halfway keeps the
    photo's identity (retrieval 97-100 % on real clips) and the frame's head pose better than
    either end (BENCHMARKS.md, "Reenactment and one-shot swap")."""
    from twoface.apply.reenact import moved_marks
    from twoface.faces.align import RIGID_POINTS as R
    from twoface.faces.align import transform_points, umeyama

    shaped = moved_marks(photo, frame, calm)  # the photo's face with the frame's expression
    out = transform_points(shaped, umeyama(shaped[R], frame[R]))
    out[:17] = frame[:17]
    return frame + weight * (out - frame)


def photo_face(path: Path, models: Any, min_face: int = 40) -> np.ndarray:
    """The 68 landmarks of the one face in the photo ``path``; refuses none or several."""
    from twoface.faces.detect import detect, landmarks
    from twoface.media import media_kind, read_image

    if media_kind(path) != "image":
        raise TwofaceError(path, "--face takes photos (images), not videos")
    image = read_image(path)
    up = 1 if max(image.shape[:2]) < 640 else 0
    found = [b for b, _ in detect(image, models, upsample=up)
             if min(b.width, b.height) >= min_face]
    if not found:
        raise TwofaceError(path, f"no face of at least {min_face} px found in the photo")
    largest = max(b.area for b in found)
    big = [b for b in found if b.area >= 0.25 * largest]
    if len(big) > 1:
        raise TwofaceError(path, f"shows {len(big)} faces; give a photo of one person")
    return landmarks(image, big[0], models)


class OneShotSwapPipeline(FaceMotionPipeline):
    """A trained motion model (or none, for the warp engine) plus the face tools;
    ``__call__`` swaps one video."""

    def __call__(self, target: str | Path, faces: Sequence[str | Path], output: str | Path,
                 options: OneShotOptions | None = None, *, progress: bool = False
                 ) -> OneShotReport:
        from twoface.media import VideoWriter, iter_frames, media_kind, probe, read_image
        from twoface.progress import progress_bar
        from twoface.provenance import MarkedVideoWriter, Provenance

        opts = options or OneShotOptions()
        target, output = Path(target), Path(output)
        paths = [Path(p) for p in faces]
        if not paths:
            raise TwofaceError(target, "give at least one photo with --face")
        if media_kind(target) != "video":
            raise TwofaceError(target, "the one-shot swap converts videos; give a video")
        if output.exists() and output.resolve() in {p.resolve() for p in [target, *paths]}:
            raise TwofaceError(output, "is an input; choose another output file")
        warp = opts.engine == "warp"
        if not warp and getattr(self, "model", None) is None:
            raise TwofaceError(target, "the motion engine needs a motion model (-m)")
        size = 0 if warp else self.model.config.size
        # 1. The photos' faces, loosely cropped like the model's training clips.
        photos = []
        for p in paths:
            marks = photo_face(p, self.faces, opts.min_face)
            image = read_image(p)
            if warp:
                from twoface.apply._warp import face_points

                photos.append(_Photo(p, image[:1, :1], normalised_pose(marks), image=image,
                                     points=face_points(marks), marks=marks))
            else:
                photos.append(_Photo(p, crop_at(image, follow_box(marks), size),
                                     normalised_pose(marks)))
        info = probe(target)
        tgt = main_track(track_faces(target, self.faces, detect_every=opts.detect_every,
                                     min_face=opts.min_face, progress=progress,
                                     total=info.frame_count, expression=True))
        if not tgt:
            raise TwofaceError(target, "no face found in any frame; nothing to swap")
        poses = {i: normalised_pose(m) for i, m in tgt.items()}
        for ph in photos:  # motion is measured from the frame that looks most like the photo
            ph.ref = min(poses, key=lambda i: float(np.abs(poses[i] - ph.pose).mean()))
        report = OneShotReport(output, photo_frames={p.path.name: 0 for p in photos})
        t0 = time.perf_counter()
        if warp:
            from twoface.apply._warp import triangles
            from twoface.apply.reenact import neutral_frame

            tris = triangles(cast(np.ndarray, photos[0].points))
            calm = tgt[neutral_frame(tgt, (info.width, info.height))]
            wide = np.percentile([eye_openness(m) for m in tgt.values()], 80, axis=0)
        else:
            self._prepare(photos, target, tgt, size)
        # 2. Swap in batches, writing as we go: memory stays flat.
        audio = target if info.has_audio else None
        fps = info.fps or 25
        writer: MarkedVideoWriter | VideoWriter
        if opts.mark:
            prov = Provenance.from_files("swap_oneshot", [target, *paths],
                                         model=None if warp else self.folder,
                                         consent=opts.consent)
            writer = MarkedVideoWriter(output, fps, prov, crf=opts.crf, audio_from=audio)
        else:
            writer = VideoWriter(output, fps, crf=opts.crf, audio_from=audio)
        # The motion engine's face is too soft to compare: any line of the target's own face
        # (a fold, an eyelid) would read as lying in front of it.
        paster = Paster(opts.color, opts.blend, occlusion=opts.occlusion and warp)
        current = 0
        with writer, progress_bar(enabled=progress) as bar:
            task = bar.add_task(f"swap {target.name}", total=info.frame_count, unit="frames")
            for chunk in chunks(iter_frames(target), opts.batch):
                images = [fr.image for fr in chunk]
                todo = [k for k, fr in enumerate(chunk) if fr.index in tgt]
                chosen = []
                for k in todo:
                    current = self._choose(photos, poses[chunk[k].index], current,
                                           opts.switch_margin)
                    chosen.append(current)
                if todo and warp:
                    for k, who in zip(todo, chosen, strict=True):
                        marks = own = tgt[chunk[k].index]
                        if opts.photo_shape > 0:
                            marks = photo_shaped(cast(np.ndarray, photos[who].marks), own,
                                                 calm, opts.photo_shape)
                        box = follow_box(marks)
                        face, covered = self._warp(photos[who], box, marks, tris)
                        images[k] = paster(images[k], face, box, marks, keep_mouth=True,
                                           keep_eyes=eyes_shut(own, wide), frame_marks=own,
                                           drawn=covered)
                        report.photo_frames[photos[who].path.name] += 1
                elif todo:
                    boxes = [follow_box(tgt[chunk[k].index]) for k in todo]
                    drawn = self._draw(photos, chosen, [crop_at(images[k], b, size) for k, b
                                                        in zip(todo, boxes, strict=True)])
                    for k, who, box, face in zip(todo, chosen, boxes, drawn, strict=True):
                        marks = tgt[chunk[k].index]
                        if opts.fit:
                            face = self._fit(face, box, marks)
                        images[k] = paster(images[k], face, box, marks)
                        report.photo_frames[photos[who].path.name] += 1
                for fr, img in zip(chunk, images, strict=True):
                    writer.write(img, fr.time)
                report.frames += len(chunk)
                report.swapped_frames += len(todo)
                bar.advance(task, len(chunk))
        report.seconds = time.perf_counter() - t0
        report.fps = report.frames / max(report.seconds, 1e-9)
        if isinstance(writer, MarkedVideoWriter):  # opts.mark
            report.manifest = writer.manifest_path
        return report

    # ---------------------------------------------------------------- the steps
    @staticmethod
    def _warp(photo: _Photo, box: Box, marks: np.ndarray, tris: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
        """The photo's face warped onto ``marks`` in ``box`` at the frame's resolution:
        (``side×side×3`` float in [0, 1], the drawn area)."""
        from twoface.apply._warp import face_points, piecewise_warp

        x0, y0, side = box
        dst = face_points(marks) - np.array([x0, y0], np.float64)
        face, covered = piecewise_warp(cast(np.ndarray, photo.image),
                                       cast(np.ndarray, photo.points), dst, tris, (side, side))
        return face.astype(np.float32) / 255, covered

    @torch.no_grad()
    def _prepare(self, photos: list[_Photo], target: Path, tgt: dict[int, np.ndarray],
                 size: int) -> None:
        """Each photo's features and keypoints, and the keypoints of its reference frame."""
        from twoface.media import iter_frames

        refs = {p.ref for p in photos}
        crops = {fr.index: crop_at(fr.image, follow_box(tgt[fr.index]), size)
                 for fr in iter_frames(target) if fr.index in refs}
        for p in photos:
            src = self._tensor([p.crop])
            p.tensors = {"source": src, "feat": self.model.encode(src),
                         "kp_s": self.model.keypoints(src),
                         "kp_ref": self.model.keypoints(self._tensor([crops[p.ref]]))}

    @staticmethod
    def _choose(photos: list[_Photo], pose: np.ndarray, current: int, margin: float) -> int:
        """The photo closest in pose to this frame, keeping ``current`` unless another is
        better by ``margin`` (a relative improvement)."""
        dist = [float(np.abs(p.pose - pose).mean()) for p in photos]
        best = int(np.argmin(dist))
        return best if dist[best] < (1 - margin) * dist[current] else current

    @torch.no_grad()
    def _draw(self, photos: list[_Photo], chosen: list[int], crops: list[np.ndarray]
              ) -> np.ndarray:
        """The chosen photos moved by each frame crop's motion: ``(B, S, S, 3)`` in [0, 1]."""
        drv = self._tensor(crops)
        amp = torch.autocast(self.device.type, torch.bfloat16,
                             enabled=self.device.type == "cuda")
        out = np.zeros((len(crops), *crops[0].shape), np.float32)
        with amp:
            kp_d = self.model.keypoints(drv)
            for who in sorted(set(chosen)):
                rows = [k for k, c in enumerate(chosen) if c == who]
                t = photos[who].tensors
                kp = transfer(t["kp_s"], {k: v[rows] for k, v in kp_d.items()}, t["kp_ref"])
                pred = self.model.animate(t["source"], t["feat"], t["kp_s"], kp)["prediction"]
                out[rows] = pred.float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
        return out

    def _fit(self, face: np.ndarray, box: Box, marks: np.ndarray) -> np.ndarray:
        """``face`` moved so that its landmarks lie on the frame's (in crop pixels): the
        motion model places the face only roughly, the paste mask is the frame's."""
        import cv2

        from twoface.faces.align import umeyama
        from twoface.faces.detect import landmarks
        from twoface.types import BBox

        s = face.shape[0]
        scale = s / box[2]
        want = (marks - np.array(box[:2], np.float64)) * scale  # the frame's marks, crop px
        up = 256 / s
        big = cv2.resize((face * 255).round().astype(np.uint8), (256, 256),
                         interpolation=cv2.INTER_CUBIC)
        lo, hi = want.min(0) * up, want.max(0) * up
        got = landmarks(big, BBox(float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1])),
                        self.faces) / up
        inner = slice(17, 68)  # brows, eyes, nose, mouth: the jaw line is the least sure
        m = umeyama(got[inner], want[inner])
        if not (0.8 < np.sqrt(abs(np.linalg.det(m[:, :2]))) < 1.25):
            return face  # the fit is implausible (a landmark miss): keep the model's placing
        return cv2.warpAffine(face, m, (s, s), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
