"""``twoface reenact``: drive a person's face in their own video with another actor's
expressions (Face2Face's task, done with the first-order motion model).

Per target frame, the target's own face (a crop that follows it) is the motion model's source;
the actor's keypoints, measured relative to a neutral actor frame (mouth closed, facing the
camera), move it; the drawn face is pasted back through the target frame's face mask with a
colour correction smoothed along the track. Hair, background and audio stay the target's.
``expression_only`` takes the actor's head motion out of the keypoints (the similarity that
best maps the neutral keypoints onto each frame's), so the target keeps its own head motion.

The ``warp`` engine needs no model: the actor's landmarks, put in its neutral frame's pose
(a similarity fit of the nose and eye corners), give the expression's change; carried into each
target frame by the similarity between the actor's neutral face and the target's, it moves
the target's landmarks, and the target's own face is warped triangle by triangle onto them
(:mod:`twoface.apply._warp`) inside a ring of fixed points, so it meets the untouched frame
with no blend. Sharp and the target's own pixels, but only what the target shows can be
moved: a mouth opened wider than the target ever opens it has no teeth (the actor's mouth
fills it), and lids brought together narrow an open eye but do not shut it (the actor's
blinks show as narrowed eyes; its landmarks keep them, see
:func:`twoface.faces.track.keep_expression`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from twoface.apply._facecrop import (
    Box,
    Paster,
    crop_at,
    follow_box,
    main_track,
    mouth_open,
    track_faces,
)
from twoface.apply._pipeline import FaceMotionPipeline, chunks
from twoface.apply.animate import transfer
from twoface.errors import TwofaceError
from twoface.types import BlendName, ColorMatchName, OneShotEngine

if TYPE_CHECKING:
    from twoface.media import VideoWriter
    from twoface.provenance import MarkedVideoWriter


@dataclass
class ReenactOptions:
    engine: OneShotEngine = "motion"  # motion: the motion model; warp: landmark warp, no model
    expression_only: bool = False  # keep the target's head motion, take only the expression
    #                                (the warp engine always does)
    neutral_frame: int | None = None  # actor frame the motion is measured from (None: found)
    blend: BlendName = "feather"
    color: ColorMatchName = "rct"
    batch: int = 8  # frames per model call
    min_face: int = 40  # px; smaller faces are left alone
    detect_every: int = 5
    mark: bool = True
    crf: int = 18
    consent: str | Path | None = None  # a consent record: its SHA-256 goes into the manifest


@dataclass
class ReenactReport:
    output: Path
    frames: int = 0
    reenacted_frames: int = 0
    neutral_frame: int = 0
    seconds: float = 0.0
    fps: float = 0.0
    manifest: Path | None = None
    notes: list[str] = field(default_factory=list)


def neutral_frame(marks: dict[int, np.ndarray], frame_size: tuple[int, int]) -> int:
    """The actor frame with the most neutral face: mouth closed and facing the camera."""
    from twoface.faces.quality import head_pose

    def score(m: np.ndarray) -> float:
        pose = head_pose(m, frame_size)
        return 4 * mouth_open(m) + (abs(pose.yaw) + abs(pose.pitch)) / 90

    return min(marks, key=lambda i: score(marks[i]))


def expression_transfer(kp_s: dict[str, torch.Tensor], kp_d: dict[str, torch.Tensor],
                        kp_ref: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Relative transfer without the driver's head motion (``(B, K, …)`` keypoints).

    Per driving frame, the similarity (rotation, scale, shift) that best maps the neutral
    keypoints onto the frame's is the head's motion; what is left, expressed in the neutral
    frame's axes, is the expression, added to the source's keypoints. The Jacobians' change is
    unrotated the same way.
    """
    from twoface.faces.align import umeyama

    ref = kp_ref["value"][0].detach().float().cpu().numpy().astype(np.float64)
    shifts, unturn = [], []
    for d in kp_d["value"].detach().float().cpu().numpy().astype(np.float64):
        m = umeyama(ref, d)
        inv = np.linalg.inv(m[:, :2])
        shifts.append((d - (ref @ m[:, :2].T + m[:, 2])) @ inv.T)
        unturn.append(inv)
    dev = kp_s["value"].device
    value = kp_s["value"] + torch.tensor(np.array(shifts), dtype=torch.float32, device=dev)
    inv_t = torch.tensor(np.array(unturn), dtype=torch.float32, device=dev)[:, None]
    change = inv_t @ kp_d["jacobian"].float() @ torch.linalg.inv(kp_ref["jacobian"].float())
    return {"value": value, "jacobian": change @ kp_s["jacobian"].float()}


def moved_marks(target: np.ndarray, actor: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """``target``'s 68 landmarks moved by the actor's expression: the actor's landmarks put
    in its neutral frame's pose (a similarity fit of the nose and eye corners, which an
    expression barely moves), minus the neutral ones, carried into the target's frame by the
    similarity between the two faces."""
    from twoface.faces.align import RIGID_POINTS as R
    from twoface.faces.align import transform_points, umeyama

    change = transform_points(actor, umeyama(actor[R], neutral[R])) - neutral
    into = umeyama(neutral[R], target[R])[:, :2]  # rotation and scale only
    return target + change @ into.T


def actor_box(marks: dict[int, np.ndarray], frame_w: int, frame_h: int) -> Box:
    """One square over the actor's whole video (FOMM's driving crops: head motion shows)."""
    from twoface.data.clips import stable_box

    boxes = np.array([[*m.min(0), *m.max(0)] for m in marks.values()])
    x0, y0, side = stable_box(boxes, frame_w, frame_h)
    return round(x0), round(y0), max(8, round(side))


class ReenactPipeline(FaceMotionPipeline):
    """A trained motion model (or none, for the warp engine) plus the face tools;
    ``__call__`` reenacts one video."""

    def __call__(self, target: str | Path, driver: str | Path, output: str | Path,
                 options: ReenactOptions | None = None, *, progress: bool = False
                 ) -> ReenactReport:
        from twoface.media import VideoWriter, iter_frames, media_kind, probe
        from twoface.progress import progress_bar
        from twoface.provenance import MarkedVideoWriter, Provenance

        opts = options or ReenactOptions()
        target, driver, output = Path(target), Path(driver), Path(output)
        for path, what in ((target, "target"), (driver, "driver")):
            if media_kind(path) != "video":
                raise TwofaceError(path, f"the {what} must be a video")
        if output.exists() and output.resolve() in (target.resolve(), driver.resolve()):
            raise TwofaceError(output, "is an input; choose another output file")
        info, dinfo = probe(target), probe(driver)
        report = ReenactReport(output)
        # 1. The two faces, frame by frame (smoothed landmarks of each video's main face).
        tgt = main_track(track_faces(target, self.faces, detect_every=opts.detect_every,
                                     min_face=opts.min_face, progress=progress,
                                     total=info.frame_count, expression=True))
        if not tgt:
            raise TwofaceError(target, "no face found in any frame; nothing to reenact")
        act = main_track(track_faces(driver, self.faces, detect_every=opts.detect_every,
                                     min_face=opts.min_face, progress=progress,
                                     total=dinfo.frame_count, expression=True))
        if not act:
            raise TwofaceError(driver, "no face found in any frame of the actor's video")
        if opts.neutral_frame is not None and opts.neutral_frame not in act:
            raise TwofaceError(driver, f"frame {opts.neutral_frame} has no tracked face; "
                               "choose another --neutral-frame")
        report.neutral_frame = (opts.neutral_frame if opts.neutral_frame is not None
                                else neutral_frame(act, (dinfo.width, dinfo.height)))
        if dinfo.frame_count < info.frame_count:
            report.notes.append(f"the actor's video has {dinfo.frame_count} frames, the "
                                f"target {info.frame_count}: its last frame holds after it ends")
        warp = opts.engine == "warp"
        if not warp and getattr(self, "model", None) is None:
            raise TwofaceError(target, "the motion engine needs a motion model (-m)")
        t0 = time.perf_counter()
        if warp:
            from twoface.apply._warp import anchor_ring, face_points, fill_mouth, triangles

            first = tgt[min(tgt)]
            tris = triangles(np.vstack([face_points(first), anchor_ring(first)]))
            if not opts.expression_only:
                report.notes.append("the warp engine transfers the expression only; the "
                                    "target keeps its head motion")
        else:
            size = self.model.config.size
            abox = actor_box(act, dinfo.width, dinfo.height)
            with torch.no_grad():
                ref = next(fr for fr in iter_frames(driver)
                           if fr.index >= report.neutral_frame)
                kp_ref = self.model.keypoints(self._tensor([crop_at(ref.image, abox, size)]))
        # 2. Reenact in batches, writing as we go: memory stays flat.
        audio = target if info.has_audio else None
        fps = info.fps or 25
        writer: MarkedVideoWriter | VideoWriter
        if opts.mark:
            prov = Provenance.from_files("reenact", [target, driver],
                                         model=None if warp else self.folder,
                                         consent=opts.consent)
            writer = MarkedVideoWriter(output, fps, prov, crf=opts.crf, audio_from=audio)
        else:
            writer = VideoWriter(output, fps, crf=opts.crf, audio_from=audio)
        paster = Paster(opts.color, opts.blend)
        actor_frames = iter_frames(driver)
        actor_image: np.ndarray | None = None
        with writer, progress_bar(enabled=progress) as bar:
            task = bar.add_task(f"reenact {target.name}", total=info.frame_count,
                                unit="frames")
            for chunk in chunks(iter_frames(target), opts.batch):
                driving: list[np.ndarray] = []
                for _ in chunk:  # the actor frame of the same index (held once it ends)
                    nxt = next(actor_frames, None)
                    actor_image = nxt.image if nxt is not None else actor_image
                    assert actor_image is not None  # its first frames had a face
                    driving.append(actor_image)
                todo = [k for k, fr in enumerate(chunk) if fr.index in tgt]
                images = [fr.image for fr in chunk]
                if todo and warp:
                    neutral = act[report.neutral_frame]
                    for k in todo:
                        i = chunk[k].index
                        now = act.get(min(i, max(act)))
                        if now is None:
                            continue  # the actor's face is lost here: the frame stays
                        moved = moved_marks(tgt[i], now, neutral)
                        images[k] = fill_mouth(self._warp(images[k], tgt[i], moved, tris),
                                               moved, driving[k], now)
                elif todo:
                    boxes = [follow_box(tgt[chunk[k].index]) for k in todo]
                    drawn = self._draw([crop_at(images[k], b, size) for k, b in zip(
                        todo, boxes, strict=True)],
                        [crop_at(driving[k], abox, size) for k in todo], kp_ref, opts)
                    for k, box, face in zip(todo, boxes, drawn, strict=True):
                        images[k] = paster(images[k], face, box, tgt[chunk[k].index])
                for fr, img in zip(chunk, images, strict=True):
                    writer.write(img, fr.time)
                report.frames += len(chunk)
                report.reenacted_frames += len(todo)
                bar.advance(task, len(chunk))
        report.seconds = time.perf_counter() - t0
        report.fps = report.frames / max(report.seconds, 1e-9)
        if isinstance(writer, MarkedVideoWriter):  # opts.mark
            report.manifest = writer.manifest_path
        return report

    @staticmethod
    def _warp(image: np.ndarray, marks: np.ndarray, moved: np.ndarray,
              tris: np.ndarray) -> np.ndarray:
        """``image`` with its face warped from ``marks`` onto ``moved``, inside a ring of fixed
        points: the frame's own pixels, meeting the untouched frame without a seam."""
        from twoface.apply._warp import anchor_ring, face_points, piecewise_warp

        ring = anchor_ring(marks)
        src = np.vstack([face_points(marks), ring])
        dst = np.vstack([face_points(moved), ring])
        h, w = image.shape[:2]
        warped, covered = piecewise_warp(image, src, dst, tris, (w, h))
        out = image.copy()
        out[covered] = warped[covered]
        return out

    @torch.no_grad()
    def _draw(self, sources: list[np.ndarray], driving: list[np.ndarray],
              kp_ref: dict[str, torch.Tensor], opts: ReenactOptions) -> np.ndarray:
        """Each source crop moved by its driving crop's motion: ``(B, S, S, 3)`` in [0, 1]."""
        src, drv = self._tensor(sources), self._tensor(driving)
        amp = torch.autocast(self.device.type, torch.bfloat16,
                             enabled=self.device.type == "cuda")
        with amp:
            kp_s, kp_d = self.model.keypoints(src), self.model.keypoints(drv)
            feat = self.model.encode(src)
            if opts.expression_only:
                kp = expression_transfer(kp_s, kp_d, kp_ref)
            else:
                kp = transfer(kp_s, kp_d, kp_ref)
            pred = self.model.animate(src, feat, kp_s, kp)["prediction"]
        return pred.float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
