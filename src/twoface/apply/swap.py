"""``twoface swap``: convert a video or image with a trained swap model.

Per face: align with the model's size and coverage, encode, decode with the *other* identity's
decoder, match colours, warp back through the exact inverse transform, blend. Landmarks are
smoothed along each face track (zero-phase Kalman, :func:`twoface.faces.track.smooth_landmarks`)
and so is the colour correction, so the swapped face neither jitters nor flickers. Frames
without a face are written unchanged (but, like every output, carry the watermark).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
import torch

from twoface.apply._pipeline import Pipeline, chunks
from twoface.apply.blend import feather, hist_match, lab_stats, paste, rct
from twoface.errors import TwofaceError
from twoface.types import BlendName, ColorMatchName

if TYPE_CHECKING:
    from twoface.media import VideoWriter
    from twoface.models.base import TrainableModel
    from twoface.models.swap_ae import SwapAE
    from twoface.provenance import MarkedVideoWriter

Direction = Literal["a2b", "b2a"]


@dataclass
class SwapOptions:
    direction: Direction = "a2b"  # a2b: faces of A become B (decoder B draws them)
    blend: BlendName = "feather"
    color: ColorMatchName = "rct"
    batch: int = 8  # frames per model call
    min_face: int = 40  # px; smaller faces are left alone
    detect_every: int = 5
    color_smooth: float = 0.2  # EMA weight of a new frame's colour statistics
    mark: bool = True
    crf: int = 18
    consent: str | Path | None = None  # a consent record: its SHA-256 goes into the manifest


@dataclass
class SwapReport:
    output: Path
    frames: int = 0
    swapped_frames: int = 0
    faces: int = 0
    manifest: Path | None = None
    tracks: int = 0
    notes: list[str] = field(default_factory=list)


class SwapPipeline(Pipeline):
    """A trained swap model plus the face tools it needs; ``__call__`` converts one file."""

    kind = "swap"
    model: SwapAE

    def __init__(self, model: TrainableModel, folder: Path, device: torch.device) -> None:
        from twoface.faces.dlib_models import DlibModels

        super().__init__(model, folder, device)
        self.faces = DlibModels()

    def __call__(self, source: str | Path, output: str | Path, options: SwapOptions | None = None,
                 *, alignments: str | Path | None = None, progress: bool = False) -> SwapReport:
        from twoface.media import VideoWriter, iter_frames, media_kind, probe
        from twoface.progress import progress_bar
        from twoface.provenance import MarkedVideoWriter, Provenance

        opts = options or SwapOptions()
        source, output = Path(source), Path(output)
        kind = media_kind(source)
        if output.exists() and output.resolve() == source.resolve():
            raise TwofaceError(output, "is the input; choose another output file")
        if kind == "image":
            return self._image(source, output, opts)
        info = probe(source)
        # 1. Where the faces are, per frame: from an alignments file or by tracking.
        if alignments is not None:
            per_frame = _from_alignments(Path(alignments), source, opts.min_face)
        else:
            per_frame = self._track(source, opts, info.frame_count, progress)
        if not per_frame:
            raise TwofaceError(source, self._why_no_faces(source, opts.min_face))
        report = SwapReport(output, tracks=len({t for fs in per_frame.values() for t, _ in fs}))
        # 2. Convert frame by frame (in batches), writing as we go: memory stays flat.
        audio = source if info.has_audio else None
        writer: MarkedVideoWriter | VideoWriter
        if opts.mark:
            prov = Provenance.from_files("swap", [source], model=self.folder,
                                         consent=opts.consent)
            writer = MarkedVideoWriter(output, info.fps or 25, prov, crf=opts.crf,
                                       audio_from=audio)
        else:
            writer = VideoWriter(output, info.fps or 25, crf=opts.crf, audio_from=audio)
        colour: dict[int, np.ndarray] = {}  # per track: smoothed Lab (dst − src) correction
        with writer, progress_bar(enabled=progress) as bar:
            task = bar.add_task(f"swap {source.name}", total=info.frame_count, unit="frames")
            for chunk in chunks(iter_frames(source), opts.batch):
                faces = [(i, t, m) for i, fr in enumerate(chunk)
                         for t, m in per_frame.get(fr.index, [])]
                images = [fr.image for fr in chunk]
                done = self._swap_faces(images, faces, opts, colour)
                for fr, img in zip(chunk, done, strict=True):
                    writer.write(img, fr.time)
                    report.swapped_frames += fr.index in per_frame
                report.frames += len(chunk)
                report.faces += len(faces)
                bar.advance(task, len(chunk))
        if isinstance(writer, MarkedVideoWriter):  # opts.mark
            report.manifest = writer.manifest_path
        return report

    # ---------------------------------------------------------------- the steps
    def _track(self, source: Path, opts: SwapOptions, total: int,
               progress: bool) -> dict[int, list[tuple[int, np.ndarray]]]:
        """Track faces and smooth each track's landmarks: frame index → [(track, 68×2)]."""
        from twoface.apply._facecrop import track_faces

        return track_faces(source, self.faces, detect_every=opts.detect_every,
                           min_face=opts.min_face, progress=progress, total=total)

    def _why_no_faces(self, source: Path, min_face: int) -> str:
        """Tell "faces too small" from "no faces" by looking harder at a few frames."""
        from twoface.faces.detect import detect
        from twoface.media import iter_frames, probe

        step = max(1, probe(source).frame_count // 5)
        small = 0
        for fr in iter_frames(source, every=step):
            small += len(detect(fr.image, self.faces, upsample=1, max_side=None))
        if small:
            return (f"every face found is smaller than --min-face {min_face}px; nothing to "
                    "swap (use a closer or higher-resolution video)")
        return "no face found in any frame; nothing to swap"

    @torch.no_grad()
    def _swap_faces(self, images: list[np.ndarray], faces: list[tuple[int, int, np.ndarray]],
                    opts: SwapOptions, colour: dict[int, np.ndarray]) -> list[np.ndarray]:
        """Swap ``faces`` = [(image index, track, 68×2 marks)] into copies of ``images``."""
        import cv2

        from twoface.faces.align import align_face, transform_points, warp_back
        from twoface.faces.mask import face_mask

        out = [im.copy() for im in images]
        if not faces:
            return out
        cfg = self.model.config
        aligned = [align_face(images[i], m, cfg.size, cfg.coverage) for i, _, m in faces]
        x = torch.from_numpy(np.stack([a.image for a in aligned])).to(self.device)
        x = x.permute(0, 3, 1, 2).float() / 255
        who = "b" if opts.direction == "a2b" else "a"
        amp = torch.autocast(self.device.type, torch.bfloat16,
                             enabled=self.device.type == "cuda")
        with amp:
            drawn, logits = self.model(x, who)
        drawn = drawn.float().permute(0, 2, 3, 1).cpu().numpy()
        pred_mask = torch.sigmoid(logits.float())[:, 0].cpu().numpy()
        for (i, track, marks), al, face, pm in zip(faces, aligned, drawn, pred_mask,
                                                   strict=True):
            orig = al.image.astype(np.float32) / 255
            hull = face_mask(transform_points(marks, al.matrix), orig.shape)
            # The learned mask follows occlusions and the jaw line better; the landmark hull
            # keeps a poorly trained mask from pasting background.
            mask = np.minimum(pm, hull)
            if opts.color == "rct":
                src, dst = lab_stats(face, mask), lab_stats(orig, mask)
                shift = np.stack([dst[0] - src[0], dst[1] / src[1]])
                prev = colour.get(track)
                shift = shift if prev is None else prev + opts.color_smooth * (shift - prev)
                colour[track] = shift
                face = rct(face, src, np.stack([src[0] + shift[0], src[1] * shift[1]]))
            elif opts.color == "hist":
                face = hist_match(face, orig, mask)
            # Work only in the face's box in the frame (plus a margin for blending): a 720p
            # frame is ~20× the face, and full-frame float warps would dominate the cost.
            x0, y0, x1, y1 = _face_box(al.inverse, cfg.size, images[i].shape)
            roi = al.matrix.copy()
            roi[:, 2] += roi[:, :2] @ np.array([x0, y0], np.float64)  # ROI px → crop px
            size = (x1 - x0, y1 - y0)
            alpha = warp_back(feather(mask), roi, (size[1], size[0]))
            # Edge pixels repeat past the crop so that interpolation never mixes in black.
            paste_face = cv2.warpAffine(face.astype(np.float32), roi, size,
                                        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                        borderMode=cv2.BORDER_REPLICATE)
            out[i][y0:y1, x0:x1] = paste(out[i][y0:y1, x0:x1], paste_face, alpha, opts.blend)
        return out

    def _image(self, source: Path, output: Path, opts: SwapOptions) -> SwapReport:
        from twoface.faces.detect import detect, landmarks
        from twoface.media import read_image, write_image
        from twoface.provenance import Provenance, write_marked_image

        image = read_image(source)
        found = detect(image, self.faces, upsample=1 if max(image.shape[:2]) < 640 else 0)
        big = [b for b, _ in found if min(b.width, b.height) >= opts.min_face]
        if not big:
            raise TwofaceError(source, f"every face found is smaller than --min-face "
                               f"{opts.min_face}px" if found else "no face found")
        faces = [(0, n, landmarks(image, b, self.faces)) for n, b in enumerate(big)]
        out = self._swap_faces([image], faces, opts, {})[0]
        report = SwapReport(output, frames=1, swapped_frames=1, faces=len(faces),
                            tracks=len(faces))
        if opts.mark:
            prov = Provenance.from_files("swap", [source], model=self.folder,
                                         consent=opts.consent)
            report.manifest = write_marked_image(output, out, prov)
        else:
            write_image(output, out)
        return report


def _face_box(inverse: np.ndarray, size: int, shape: tuple[int, ...],
              margin: int = 4) -> tuple[int, int, int, int]:
    """The frame box ``(x0, y0, x1, y1)`` covering a ``size``² crop mapped back by
    ``inverse`` (crop → frame), grown by ``margin`` px and clipped to the frame."""
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], np.float64)
    pts = corners @ inverse[:, :2].T + inverse[:, 2]
    h, w = shape[:2]
    x0, y0 = np.floor(pts.min(0)).astype(int) - margin
    x1, y1 = np.ceil(pts.max(0)).astype(int) + margin
    return max(0, x0), max(0, y0), min(w, x1), min(h, y1)




def _from_alignments(path: Path, source: Path, min_face: int
                     ) -> dict[int, list[tuple[int, np.ndarray]]]:
    """Landmarks per frame from a faceset's ``alignments.json`` (or its folder) for ``source``."""
    from twoface.data.faceset import Faceset

    fs = Faceset.load(path.parent if path.is_file() else path)
    key = str(source.resolve())
    idx = [i for i, s in enumerate(fs.sources) if s.path == key and s.status == "done"]
    if not idx:  # a faceset moved between machines: the same name and the same bytes
        size = source.stat().st_size
        idx = [i for i, s in enumerate(fs.sources) if Path(s.path).name == source.name
               and s.bytes == size and s.status == "done"]
    if not idx:
        raise TwofaceError(path, f"lists no faces from {source} (same path, or same name and "
                           "size, needed)")
    from twoface.media import probe

    frames = probe(source).frame_count
    if any(fs.sources[i].frames < frames for i in idx):
        # A faceset extracted with --every N has landmarks for every Nth frame only: swapping
        # with it would leave the real face on the frames between.
        raise TwofaceError(path, f"holds landmarks for {fs.sources[idx[0]].frames} of "
                           f"{frames} frames of {source.name}; extract it with --every 1")
    per_frame: dict[int, list[tuple[int, np.ndarray]]] = defaultdict(list)
    for f in fs.faces:
        if f.source in idx and f.size >= min_face:
            per_frame[f.frame].append((f.track, f.marks))
    return dict(per_frame)
