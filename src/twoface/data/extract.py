"""``twoface extract``: find, track and align every face in videos and images into a faceset.

Per video, two passes:

1. analyse: decode, detect every few frames and follow faces by landmarks in between, embed;
2. smooth each track's landmarks over time (zero-phase, so no lag), then decode again, align
   with the smoothed landmarks and write the crops.

Decoding twice costs less than holding a long video's frames in memory.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from rich.progress import Progress

from twoface.data.faceset import FaceRecord, Faceset, SourceRecord
from twoface.errors import TwofaceError
from twoface.faces.align import DEFAULT_COVERAGE, align_face, transform_points
from twoface.faces.detect import detect, embedding, landmarks
from twoface.faces.dlib_models import DlibModels
from twoface.faces.mask import face_mask
from twoface.faces.quality import blur_score, face_size, head_pose
from twoface.faces.track import FaceTracker, TrackerConfig, smooth_landmarks
from twoface.media import collect_media, iter_frames, media_kind, probe, read_image
from twoface.types import BBox, DetectorName, Face


@dataclass
class ExtractOptions:
    size: int = 256
    coverage: float = DEFAULT_COVERAGE
    every: int = 1  # use every Nth frame of a video
    detector: DetectorName = "hog"
    upsample: int = 0
    min_face: int = 40  # detector box side in pixels; smaller faces are ignored
    detect_every: int = 5
    identity: Path | None = None  # keep only faces of the person in this image
    identity_threshold: float = 0.6
    smooth: bool = True


@dataclass
class ExtractReport:
    frames: int = 0
    faces: int = 0
    tracks: int = 0
    sources: list[SourceRecord] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def reference_embedding(path: Path, models: DlibModels,
                        detector: DetectorName = "hog") -> np.ndarray:
    """The identity embedding of the largest face in the image at ``path``."""
    image = read_image(path)
    found = detect(image, models, detector=detector, upsample=1)
    if not found:
        raise TwofaceError(path, "no face found in the identity reference image")
    box = max(found, key=lambda bs: bs[0].area)[0]
    return embedding(image, landmarks(image, box, models), models)


def extract(inputs: list[str | Path], out: str | Path, options: ExtractOptions | None = None,
            *, models: DlibModels | None = None, progress: Progress | None = None) -> ExtractReport:
    """Extract faces from ``inputs`` (videos, images, folders) into the faceset at ``out``.

    Inputs already extracted into ``out`` (same path, size and modification time) are skipped,
    so an interrupted run can simply be started again. All inputs are checked before anything
    is written: a bad one stops the run with a :class:`TwofaceError` naming it.
    """
    opts = options or ExtractOptions()
    models = models or DlibModels()
    files = collect_media(inputs)
    kinds = {p: media_kind(p) for p in files}
    for p, kind in kinds.items():
        if kind == "video":
            probe(p)  # raises a one-line MediaError for broken videos before any work
        else:
            read_image(p)
    ref = reference_embedding(opts.identity, models, opts.detector) if opts.identity else None
    faceset = Faceset.create(out, opts.size, opts.coverage)
    report = ExtractReport()
    for path in files:
        st = path.stat()
        key = str(path.resolve())
        if faceset.source_done(Path(key), st.st_size, st.st_mtime):
            report.sources.append(SourceRecord(key, kinds[path], st.st_size, st.st_mtime,
                                               status="skipped", note="already extracted"))
            continue
        _forget_source(faceset, key)
        src = SourceRecord(key, kinds[path], st.st_size, st.st_mtime)
        faceset.sources.append(src)
        index = len(faceset.sources) - 1
        stem = _unique_stem(faceset, path.stem, index)
        if kinds[path] == "video":
            _extract_video(path, faceset, index, stem, opts, models, ref, progress)
        else:
            _extract_image(path, faceset, index, stem, opts, models, ref)
        if src.faces == 0:
            src.note = src.note or "no faces found"
            report.warnings.append(f"{path}: no faces found")
        faceset.save()  # after every source: a kill loses at most the source in progress
        report.sources.append(src)
    faceset.save()
    for s in report.sources:
        report.frames += s.frames if s.status == "done" else 0
        report.faces += s.faces if s.status == "done" else 0
        report.tracks += s.tracks if s.status == "done" else 0
    return report


def _forget_source(faceset: Faceset, key: str) -> None:
    """Drop what an earlier, interrupted or outdated run extracted from this source."""
    old = [i for i, s in enumerate(faceset.sources) if s.path == key]
    if not old:
        return
    for f in faceset.faces:
        if f.source in old:
            (faceset.root / f.file).unlink(missing_ok=True)
    faceset.faces = [f for f in faceset.faces if f.source not in old]
    for i in old:  # keep indices stable: mark the old entry as replaced
        faceset.sources[i].status = "skipped"
        faceset.sources[i].note = "replaced by a later extraction"
        faceset.sources[i].faces = 0


def _unique_stem(faceset: Faceset, stem: str, index: int) -> str:
    """A file-name stem for this source's crops that no other source's crops use."""
    clean = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem) or "source"
    # Crops are named <stem>_<frame>_<track>: compare with the stems really on disk, since two
    # different names ("a b", "a_b") can clean to the same stem.
    taken = {Path(f.file).stem.rsplit("_", 2)[0] for f in faceset.faces if f.source != index}
    return clean if clean not in taken else f"{clean}-{index}"


@dataclass(slots=True)
class _Seen:
    """What the first pass keeps of a face until the second pass writes its crop: a few
    hundred bytes rather than a :class:`Face` (~2 kB), since a long video holds one per frame
    and track."""

    frame: int
    time: float
    box: tuple[float, float, float, float]
    marks: np.ndarray  # (68, 2) float32
    embedding: np.ndarray | None  # shared between the frames of a track until re-embedded
    score: float

    @staticmethod
    def of(face: Face) -> _Seen:
        b = face.bbox
        marks = face.landmarks if face.landmarks is not None else np.zeros((68, 2), np.float32)
        return _Seen(face.frame_index, face.time, (b.x0, b.y0, b.x1, b.y1), marks,
                     face.embedding, face.score)

    def face(self, track: int) -> Face:
        return Face(bbox=BBox(*self.box), score=self.score, landmarks=self.marks,
                    embedding=self.embedding, track_id=track, frame_index=self.frame,
                    time=self.time)


def _extract_video(path: Path, faceset: Faceset, index: int, stem: str, opts: ExtractOptions,
                   models: DlibModels, ref: np.ndarray | None, progress: Progress | None) -> None:
    info = probe(path)
    total = max(1, info.frame_count // opts.every)
    task = (progress.add_task(f"analyse {path.name}", total=total, unit="frames")
            if progress else None)
    tracker = FaceTracker(models, TrackerConfig(
        detect_every=opts.detect_every, detector=opts.detector, upsample=opts.upsample,
        min_face=opts.min_face))
    per_track: dict[int, list[_Seen]] = defaultdict(list)
    frames = 0
    for frame in iter_frames(path, every=opts.every):
        frames += 1
        for face in tracker.update(frame.image, frame.index, frame.time):
            per_track[face.track_id].append(_Seen.of(face))
        if progress and task is not None:
            progress.advance(task)
    if progress and task is not None:
        progress.update(task, total=frames, completed=frames)
    src = faceset.sources[index]
    src.frames = frames
    keep = _select_tracks(per_track, ref, opts.identity_threshold)
    if ref is not None and len(keep) < len(per_track):
        src.note = f"{len(per_track) - len(keep)} track(s) of other people left out"
    # Smoothed landmarks per (frame, track), then the second pass writes the crops.
    todo: dict[int, list[tuple[int, _Seen]]] = defaultdict(list)
    for tid in keep:
        faces = per_track.pop(tid)
        marks = np.array([f.marks for f in faces])
        times = np.array([f.time for f in faces])
        if opts.smooth:  # in place: a long track's points are held once
            smooth_landmarks(marks, times, out=marks)
        for f, m in zip(faces, marks, strict=True):
            f.marks = m  # smoothed: a row of the track's array (the raw points are dropped)
            todo[f.frame].append((tid, f))
    per_track.clear()
    src.tracks = len(keep)
    if not todo:
        return
    task = (progress.add_task(f"align   {path.name}", total=frames, unit="frames")
            if progress else None)
    last = max(todo)
    for frame in iter_frames(path, every=opts.every):
        for tid, seen in todo.pop(frame.index, []):
            _add_face(faceset, index, stem, frame.image, seen.face(tid), seen.marks, opts)
        if progress and task is not None:
            progress.advance(task)
        if frame.index >= last:
            break
    if progress and task is not None:
        progress.update(task, completed=frames)


def _select_tracks(per_track: dict[int, list[_Seen]], ref: np.ndarray | None,
                   threshold: float) -> list[int]:
    """Tracks to keep: all, or those whose median embedding is near the reference person.

    Deciding per track (not per frame) keeps a person's whole track even on frames where the
    embedding of a turned head drifts past the threshold."""
    if ref is None:
        return sorted(per_track)
    keep = []
    for tid, faces in per_track.items():
        embs = np.array([f.embedding for f in faces if f.embedding is not None])
        if len(embs) and float(np.median(np.linalg.norm(embs - ref, axis=1))) <= threshold:
            keep.append(tid)
    return sorted(keep)


def _extract_image(path: Path, faceset: Faceset, index: int, stem: str, opts: ExtractOptions,
                   models: DlibModels, ref: np.ndarray | None) -> None:
    image = read_image(path)
    found = detect(image, models, detector=opts.detector, upsample=opts.upsample)
    if not found and max(image.shape[:2]) < 640:
        # Stills are often small: look again at double size before giving up.
        found = detect(image, models, detector=opts.detector, upsample=opts.upsample + 1)
    src = faceset.sources[index]
    src.frames = 1
    small = [b for b, _ in found if min(b.width, b.height) < opts.min_face]
    for n, (box, score) in enumerate(b for b in found if b[0] not in small):
        marks = landmarks(image, box, models)
        emb = embedding(image, marks, models)
        if ref is not None and float(np.linalg.norm(emb - ref)) > opts.identity_threshold:
            continue
        face = Face(bbox=box, score=score, landmarks=marks, embedding=emb, track_id=n)
        _add_face(faceset, index, stem, image, face, marks, opts)
    src.tracks = src.faces
    if small and not src.faces:
        src.note = f"{len(small)} face(s) smaller than --min-face {opts.min_face}px"


def _add_face(faceset: Faceset, index: int, stem: str, image: np.ndarray, face: Face,
              marks: np.ndarray, opts: ExtractOptions) -> None:
    aligned = align_face(image, marks, opts.size, opts.coverage)
    crop_marks = transform_points(marks, aligned.matrix)
    blur = blur_score(aligned.image, face_mask(crop_marks, aligned.image.shape))
    pose = head_pose(marks, (image.shape[1], image.shape[0]))
    rel = faceset.write_crop(f"{stem}_{face.frame_index:06d}_{face.track_id}", aligned.image)
    emb = face.embedding if face.embedding is not None else np.zeros(128, np.float32)
    faceset.faces.append(FaceRecord(
        file=rel, source=index, frame=face.frame_index, time=round(face.time, 6),
        bbox=[round(v, 2) for v in face.bbox.as_list()],
        landmarks=marks, matrix=aligned.matrix, embedding=emb, blur=round(blur, 2),
        size=round(face_size(marks), 2), yaw=round(pose.yaw, 2), pitch=round(pose.pitch, 2),
        roll=round(pose.roll, 2), track=face.track_id))
    faceset.sources[index].faces += 1
