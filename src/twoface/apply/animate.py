"""``twoface animate``: move a still face with the motion of a driving video (FOMM).

The still image's face is cropped loosely (the same rule as training clips), the driving video
is cropped with one stable box for the whole video, and every driving frame's keypoints are
transferred to the source *relative* to a reference driving frame (the first, or the one whose
face pose best matches the source): the source moves as the driver moves, but keeps its own
face shape. The output is the animated crop, or with ``paste_back`` the source's whole picture
with the animated crop blended in; the driving audio is carried over and the video is marked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from twoface.apply._pipeline import Pipeline, chunks
from twoface.errors import TwofaceError

if TYPE_CHECKING:
    from twoface.media import VideoWriter
    from twoface.models.base import TrainableModel
    from twoface.models.motion import MotionModel
    from twoface.provenance import MarkedVideoWriter


@dataclass
class AnimateOptions:
    relative: bool = True  # move the source by the driver's *change* of pose (else copy it)
    adapt_scale: bool = False  # scale the driver's movement by the two faces' size ratio
    find_best_frame: bool = False  # reference frame: the driver pose closest to the source's
    crop: bool = True  # crop the source's face loosely; False animates the whole image
    paste_back: bool = False  # blend the animated crop back into the source's whole picture
    out_size: int = 256  # side of the output crop (without paste_back); the model's output
    #                      is resized to it
    batch: int = 16  # driving frames per model call
    mark: bool = True
    crf: int = 18
    consent: str | Path | None = None  # a consent record: its SHA-256 goes into the manifest


@dataclass
class AnimateReport:
    output: Path
    frames: int = 0
    fps: float = 0.0
    reference_frame: int = 0
    seconds: float = 0.0
    manifest: Path | None = None
    notes: list[str] = field(default_factory=list)


def hull_area(points: np.ndarray) -> float:
    """Area of the convex hull of ``(K, 2)`` points."""
    import cv2

    return float(cv2.contourArea(cv2.convexHull(points.astype(np.float32))))


def transfer(kp_s: dict[str, torch.Tensor], kp_d: dict[str, torch.Tensor],
             kp_ref: dict[str, torch.Tensor], *, relative: bool = True,
             adapt_scale: bool = False) -> dict[str, torch.Tensor]:
    """The keypoints to draw the source at for driving keypoints ``kp_d`` ``(B, K, …)``.

    Relative: the source's keypoints moved by the driver's displacement since the reference
    frame ``kp_ref`` (scaled by the faces' size ratio with ``adapt_scale``), and its Jacobians
    turned by the driver's local change ``J_d J_ref⁻¹``. Absolute: the driver's keypoints as
    they are (identity leaks: the source takes the driver's face shape).
    """
    if not relative:
        return kp_d
    scale = 1.0
    if adapt_scale:
        ref = hull_area(kp_ref["value"][0].cpu().numpy())
        scale = (hull_area(kp_s["value"][0].cpu().numpy()) / max(ref, 1e-8)) ** 0.5
    value = kp_s["value"] + (kp_d["value"] - kp_ref["value"]) * scale
    change = kp_d["jacobian"] @ torch.linalg.inv(kp_ref["jacobian"])
    return {"value": value, "jacobian": change @ kp_s["jacobian"]}


def normalised_marks(marks: np.ndarray) -> np.ndarray:
    """68 landmarks centred and scaled to unit hull area, to compare poses across faces."""
    centred = marks - marks.mean(0)
    return centred / max(hull_area(marks), 1e-8) ** 0.5


class AnimatePipeline(Pipeline):
    """A trained motion model plus the face tools it needs; ``__call__`` animates one image."""

    kind = "motion"
    model: MotionModel

    def __init__(self, model: TrainableModel, folder: Path, device: torch.device) -> None:
        from twoface.faces.dlib_models import DlibModels

        super().__init__(model, folder, device)
        self.faces = DlibModels()

    def _tensor(self, crops: list[np.ndarray]) -> torch.Tensor:
        x = torch.from_numpy(np.stack(crops)).to(self.device)
        return x.permute(0, 3, 1, 2).float() / 255

    def __call__(self, source: str | Path, driving: str | Path, output: str | Path,
                 options: AnimateOptions | None = None, *, progress: bool = False
                 ) -> AnimateReport:
        import time

        from twoface.data.clips import crop, image_box, stable_box, track_boxes
        from twoface.media import VideoWriter, iter_frames, media_kind, probe, read_image
        from twoface.progress import progress_bar
        from twoface.provenance import MarkedVideoWriter, Provenance

        opts = options or AnimateOptions()
        source, driving, output = Path(source), Path(driving), Path(output)
        size = self.model.config.size
        if media_kind(source) != "image":
            raise TwofaceError(source, "the source must be a still image")
        if media_kind(driving) != "video":
            raise TwofaceError(driving, "the driving input must be a video")
        if output.exists() and output.resolve() in (source.resolve(), driving.resolve()):
            raise TwofaceError(output, "is an input; choose another output file")
        report = AnimateReport(output)
        # 1. Where the faces are: a loose square on the still, one stable square on the video.
        image = read_image(source)
        h, w = image.shape[:2]
        box = image_box(image, self.faces) if opts.crop else None
        if box is None:
            if opts.crop:
                raise TwofaceError(source, "no face found in the source image; pass --no-crop "
                                   "to animate the whole image anyway")
            side = min(h, w)  # the centred square: a face-free picture still gets moved
            box = ((w - side) / 2, (h - side) / 2, float(side))
        info = probe(driving)
        boxes, _ = track_boxes(driving, self.faces)
        dbox = stable_box(boxes, info.width, info.height)
        src_crop = crop(image, box, size)
        # 2. The reference driving frame the motion is measured from.
        if opts.find_best_frame:
            report.reference_frame = self._best_frame(source, image, box, driving, dbox)
        t0 = time.perf_counter()
        with torch.no_grad():
            src = self._tensor([src_crop])
            kp_s, feat = self.model.keypoints(src), self.model.encode(src)
            ref_img = next((fr for fr in iter_frames(driving)
                            if fr.index >= report.reference_frame), None)
            if ref_img is None:
                raise TwofaceError(driving, "video has no frames")
            kp_ref = self.model.keypoints(self._tensor([crop(ref_img.image, dbox, size)]))
        # 3. Animate in batches, writing as we go: memory stays flat.
        audio = driving if info.has_audio else None
        fps = info.fps or 25
        writer: MarkedVideoWriter | VideoWriter
        if opts.mark:
            prov = Provenance.from_files("animate", [source, driving], model=self.folder,
                                         consent=opts.consent)
            writer = MarkedVideoWriter(output, fps, prov, crf=opts.crf, audio_from=audio)
        else:
            writer = VideoWriter(output, fps, crf=opts.crf, audio_from=audio)
        with writer, progress_bar(enabled=progress) as bar:
            task = bar.add_task(f"animate {source.name}", total=info.frame_count,
                                unit="frames")
            for chunk in chunks(iter_frames(driving), opts.batch):
                x = self._tensor([crop(fr.image, dbox, size) for fr in chunk])
                amp = torch.autocast(self.device.type, torch.bfloat16,
                                     enabled=self.device.type == "cuda")
                with torch.no_grad(), amp:
                    kp = transfer(kp_s, self.model.keypoints(x), kp_ref,
                                  relative=opts.relative, adapt_scale=opts.adapt_scale)
                    pred = self.model.animate(src, feat, kp_s, kp)["prediction"]
                frames = pred.float().clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy()
                for fr, face in zip(chunk, frames, strict=True):
                    writer.write(self._compose(image, box, face, opts), fr.time)
                report.frames += len(chunk)
                bar.advance(task, len(chunk))
        report.seconds = time.perf_counter() - t0
        report.fps = report.frames / max(report.seconds, 1e-9)
        if isinstance(writer, MarkedVideoWriter):  # opts.mark
            report.manifest = writer.manifest_path
        if size < opts.out_size and not opts.paste_back:
            report.notes.append(f"the model draws {size} px faces; the output is upscaled to "
                                f"{opts.out_size} px")
        return report

    def _compose(self, image: np.ndarray, box: tuple[float, float, float], face: np.ndarray,
                 opts: AnimateOptions) -> np.ndarray:
        """The output frame for one animated crop ``face`` (``S×S×3`` float in [0, 1])."""
        import cv2

        from twoface.apply.blend import feather

        if not opts.paste_back:
            out = cv2.resize(face, (opts.out_size, opts.out_size), interpolation=cv2.INTER_CUBIC)
            return (out.clip(0, 1) * 255).round().astype(np.uint8)
        x0, y0, side = (round(v) for v in box)
        big = cv2.resize(face, (side, side), interpolation=cv2.INTER_CUBIC).clip(0, 1)
        # A soft square: the crop's own edge fades out, so the animated head blends into the
        # still picture around it (the background outside the crop never moves).
        alpha = feather(np.ones((side, side), np.float32), 0.12)[..., None]
        out = image.copy()
        region = out[y0:y0 + side, x0:x0 + side].astype(np.float32) / 255
        out[y0:y0 + side, x0:x0 + side] = ((alpha * big + (1 - alpha) * region) * 255
                                           ).round().astype(np.uint8)
        return out

    def _best_frame(self, source: Path, image: np.ndarray, box: tuple[float, float, float],
                    driving: Path, dbox: tuple[float, float, float]) -> int:
        """Index of the driving frame whose normalised landmarks are closest to the source's."""
        from twoface.data.clips import crop
        from twoface.faces.detect import detect, landmarks
        from twoface.media import iter_frames

        def marks(img: np.ndarray) -> np.ndarray | None:
            found = detect(img, self.faces) or detect(img, self.faces, upsample=1)
            return None if not found else normalised_marks(landmarks(img, found[0][0],
                                                                     self.faces))

        ref = marks(crop(image, box, 256))
        if ref is None:
            raise TwofaceError(source, "--find-best-frame needs a face in the source image")
        best, best_d = 0, np.inf
        for fr in iter_frames(driving):
            m = marks(crop(fr.image, dbox, 256))
            if m is not None and (d := float(np.abs(m - ref).sum())) < best_d:
                best, best_d = fr.index, d
        return best
