"""Labelled face-crop datasets for training and measuring detectors (FaceForensics++-style).

Layout::

    DATASET/
      manifest.csv        one row per face crop (columns: MANIFEST_COLUMNS)
      dataset.json        options used, sources with their group and split, counts
      faces/crf<Q>/<method>/<video>_<frame:06d>_<track>.png

Inputs are videos, stills, folders of them, or facesets (``twoface extract`` output, taken
as one input: its aligned crops are encoded as a video of crops). Every source (real or fake)
goes through *the same* encoding path: it is
re-encoded with libx264 at each requested CRF (0 = lossless, 23 = default quality, 40 = heavy),
and the crops are cut from the re-encoded frames. Faces are found and tracked once, on the
source, with twoface's extractor (dlib HOG, landmark tracking, zero-phase smoothing), so the
crops of one face at the three CRFs have the exact same geometry and differ only by codec.
A detector therefore cannot tell the classes apart by a codec or alignment difference.

Splits are drawn per *group*, never per frame: a real video's group is its file stem; a fake
made by twoface joins the group of the real video it was made from when its signed manifest
lists that file's SHA-256 among its inputs, and groups linked that way merge (a swap of A
with B's face puts A, B and the fake in one group); ``links`` merge more by file stem. No
person or video then appears in two splits. Groups with fakes are split per method: each
method with three or more groups gets at least one test and one val group. The manifest's
columns and its reader (:class:`Manifest`) are :mod:`twoface.data.detect_manifest`.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from twoface.data.detect_manifest import MANIFEST_COLUMNS, REAL, Manifest, write_manifest
from twoface.errors import TwofaceError
from twoface.fileio import atomic_path, atomic_write_json

if TYPE_CHECKING:
    from rich.progress import Progress

    from twoface.faces.dlib_models import DlibModels

# The manifest's format and reader live in detect_manifest; imported from here as well.
__all__ = ["MANIFEST_COLUMNS", "REAL", "DatasetOptions", "DatasetReport", "Manifest", "Source",
           "assign_splits", "build_dataset", "parse_fake", "write_manifest"]



@dataclass
class DatasetOptions:
    crfs: tuple[int, ...] = (0, 23, 40)
    size: int = 128  # crop side
    coverage: float = 0.625  # twoface's extraction default
    every: int = 5  # use every Nth video frame (neighbouring frames are near copies)
    max_frames: int = 64  # at most this many frames per video (evenly spread)
    val: float = 0.2  # share of groups for validation (calibration) …
    test: float = 0.2  # … and for testing
    seed: int = 0
    min_face: int = 40
    detect_every: int = 5
    # File stems that belong in one group whatever their manifests say, e.g. the two people
    # of a swap pair (each fake names only the video it was made from) or a still taken from
    # a video.
    links: tuple[tuple[str, ...], ...] = ()


@dataclass
class Source:
    path: Path
    label: int  # 0 real, 1 fake
    method: str  # "real" or the manipulation's name
    group: str = ""
    split: str = ""
    faces: int = 0
    note: str = ""


@dataclass
class DatasetReport:
    root: Path
    rows: int = 0
    sources: list[Source] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def parse_fake(spec: str) -> tuple[str, Path]:
    """``METHOD=PATH`` → ``(method, path)``."""
    method, sep, path = spec.partition("=")
    method = method.strip()
    if not sep or not method or not path:
        raise TwofaceError(None, f"--fake takes METHOD=PATH, got {spec!r}")
    if method == REAL or not all(c.isalnum() or c in "-_" for c in method):
        raise TwofaceError(None, f"--fake method name {method!r}: letters, digits, - and _ "
                           "only, and not 'real'")
    return method, Path(path)


def _provenance_inputs(path: Path) -> set[str]:
    """SHA-256s of the inputs a twoface manifest on ``path`` names (empty when none)."""
    try:
        from twoface.provenance import read_manifest

        report = read_manifest(path)
    except Exception:
        return set()
    if report.state not in ("valid", "trusted"):
        return set()
    return {str(i.get("sha256")) for i in report.claims.get("inputs", []) if isinstance(i, dict)}


def _cut(n: int, val: float, test: float) -> tuple[int, int]:
    """How many of ``n`` groups go to test and to val (at least one each from three groups
    on, when asked for; train keeps at least one)."""
    n_test = max(1 if n >= 3 and test > 0 else 0, round(n * test))
    n_val = max(1 if n >= 3 and val > 0 else 0, round(n * val))
    while n_test + n_val >= n and (n_test or n_val):
        if n_val >= n_test and n_val:
            n_val -= 1
        else:
            n_test -= 1
    return n_test, n_val


def assign_splits(groups: Iterable[str], val: float, test: float, seed: int,
                  methods: dict[str, set[str]] | None = None) -> dict[str, str]:
    """Shuffle the distinct groups with ``seed`` and cut them into test, val and train.

    With three or more groups test and val get at least one group each (when their share is
    above 0), so a small dataset still has held-out data; train keeps at least one.
    ``methods`` (group → the fake methods in it) stratifies: first every method with three or
    more groups gets a test and a val group of its own, rarest method first, then the shares
    are filled in shuffled order."""
    names = sorted(set(groups))
    order = [names[i] for i in np.random.default_rng(seed).permutation(len(names))]
    n_test, n_val = _cut(len(order), val, test)
    split: dict[str, str] = {}
    if methods:
        per = {m: [g for g in order if m in methods.get(g, set())]
               for m in {m for g in order for m in methods.get(g, set())}}
        for m in sorted(per, key=lambda m: (len(per[m]), m)):
            m_test, m_val = _cut(len(per[m]), val, test)
            for name, want in (("test", m_test), ("val", m_val)):
                if want and not any(split.get(g) == name for g in per[m]):
                    free = [g for g in per[m] if g not in split]
                    # keep one group of the method for training
                    if len(free) > 1 or any(split.get(g) == "train" for g in per[m]):
                        split[free[0]] = name
    wanted = Counter(test=n_test, val=n_val) - Counter(split.values())
    for g in order:
        if g not in split:
            split[g] = next((name for name in ("test", "val") if wanted[name] > 0), "train")
            wanted[split[g]] -= 1
    return {g: split[g] for g in order}


def build_dataset(real: Sequence[str | Path], fake: Sequence[tuple[str, str | Path]],
                  out: str | Path, options: DatasetOptions | None = None, *,
                  progress: Progress | None = None) -> DatasetReport:
    """Build the dataset at ``out`` (a new or empty folder) from real and fake media."""
    from twoface.data.faceset import Faceset
    from twoface.faces.dlib_models import DlibModels
    from twoface.media import media_kind, probe, read_image
    from twoface.provenance import sha256_file

    opts = options or DatasetOptions()
    if not real and not fake:
        raise TwofaceError(None, "give at least one --real or --fake input")
    if any(not 0 <= q <= 51 for q in opts.crfs) or not opts.crfs:
        raise TwofaceError(None, f"CRF values must be in 0..51, got {opts.crfs}")
    root = Path(out)
    if (root / "manifest.csv").exists() or (root.is_dir() and any(root.iterdir())):
        raise TwofaceError(root, "already exists and is not empty; choose a new folder")
    sources = [Source(p, 0, REAL) for p in _expand(real)] if real else []
    for method, path in fake:
        sources += [Source(p, 1, method) for p in _expand([path])]
    for s in sources:  # check every input before any work
        if _is_faceset(s.path):
            Faceset.load(s.path)
        elif media_kind(s.path) == "video":
            probe(s.path)
        else:
            read_image(s.path)
    real_hash = {sha256_file(s.path): s.path.stem for s in sources
                 if s.label == 0 and s.path.is_file()}
    # Union-find over stems: a fake joins every real video its manifest names (a swap of A
    # with B's face links A, B and the fake into one group).
    parent: dict[str, str] = {s.path.stem: s.path.stem for s in sources}

    def root_of(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for s in sources:
        if s.label == 1 and s.path.is_file():
            linked = [real_hash[h] for h in _provenance_inputs(s.path) if h in real_hash]
            for stem in linked:
                a, b = sorted((root_of(s.path.stem), root_of(stem)))
                parent[b] = a
            if linked:
                s.note = "grouped with its sources by provenance"
    for link in opts.links:
        known = [stem for stem in link if stem in parent]
        missing = sorted(set(link) - set(known))
        if missing:
            raise TwofaceError(None, f"--link names {', '.join(missing)}, which no input is "
                               "called (give file stems)")
        for stem in known[1:]:
            a, b = sorted((root_of(known[0]), root_of(stem)))
            parent[b] = a
    for s in sources:
        s.group = root_of(s.path.stem)
    # Groups holding fakes and real-only groups are split separately, so that with enough
    # of each every split gets both classes.
    methods: dict[str, set[str]] = {}  # group → the fake methods in it
    for s in sources:
        if s.label == 1:
            methods.setdefault(s.group, set()).add(s.method)
    splits = {**assign_splits([s.group for s in sources if s.group not in methods], opts.val,
                              opts.test, opts.seed),
              **assign_splits(methods, opts.val, opts.test, opts.seed, methods)}
    for s in sources:
        s.split = splits[s.group]
    models = DlibModels()
    work = root / ".work"
    rows: list[dict[str, object]] = []
    try:
        for i, s in enumerate(sources):
            rows += (_one_faceset(s, i, root, work, opts, progress) if _is_faceset(s.path)
                     else _one_source(s, i, root, work, opts, models, progress))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if not rows:
        raise TwofaceError(root, "no faces found in any input")
    write_manifest(root / "manifest.csv", rows)
    report = DatasetReport(root=root, rows=len(rows), sources=sources)
    for r in rows:
        key = f"{r['split']}/{r['method']}"
        report.counts[key] = report.counts.get(key, 0) + 1
    atomic_write_json(root / "dataset.json", {
        "schema": "twoface.detect_dataset", "version": 1,
        "options": {**asdict(opts), "crfs": list(opts.crfs)},
        "sources": [{**asdict(s), "path": str(s.path)} for s in sources],
        "counts": report.counts})
    return report


def _one_source(s: Source, index: int, root: Path, work: Path, opts: DatasetOptions,
                models: DlibModels, progress: Progress | None) -> list[dict[str, object]]:
    """Track the faces of one source, then cut its crops at every CRF."""
    from twoface.data.extract import ExtractOptions, extract
    from twoface.data.faceset import Faceset
    from twoface.faces.align import align_face, transform_points
    from twoface.media import iter_frames, media_kind, probe, read_image
    from twoface.media.writer import VideoWriter

    is_video = media_kind(s.path) == "video"
    every = opts.every
    if is_video:
        every = max(opts.every, -(-probe(s.path).frame_count // max(1, opts.max_frames)))
    fs_dir = work / f"fs{index}"
    extract([s.path], fs_dir, ExtractOptions(size=32, coverage=opts.coverage, every=every,
                                             min_face=opts.min_face,
                                             detect_every=opts.detect_every),
            models=models, progress=progress)
    faces = Faceset.load(fs_dir).faces
    if not faces:
        s.note = "no faces found"
        return []
    by_frame: dict[int, list] = {}
    for f in faces:
        by_frame.setdefault(f.frame, []).append(f)
    rows: list[dict[str, object]] = []
    task = (progress.add_task(f"encode  {s.path.name}", total=len(opts.crfs), unit="crf")
            if progress is not None else None)
    for crf in opts.crfs:
        enc = work / f"enc{index}_crf{crf}.mp4"
        if is_video:
            info = probe(s.path)
            with VideoWriter(enc, info.fps or 25, crf=crf) as writer:
                for frame in iter_frames(s.path):
                    writer.write(frame.image, frame.time)
        else:
            with VideoWriter(enc, 25, crf=crf) as writer:
                writer.write(read_image(s.path))
        last = max(by_frame)
        for n, frame in enumerate(iter_frames(enc)):
            # Decode order of the re-encoded file is the source's: index n is frame n.
            for f in by_frame.get(n, []):
                marks = np.asarray(f.landmarks, np.float64)
                aligned = align_face(frame.image, marks, opts.size, opts.coverage)
                rel = (f"faces/crf{crf}/{s.method}/{_stem(s.path, index)}_{n:06d}_{f.track}"
                       ".png")
                _write_png(root / rel, aligned.image)
                crop_marks = transform_points(marks, aligned.matrix)
                rows.append({"path": rel, "label": s.label, "method": s.method,
                             "identity": s.group, "video": _stem(s.path, index), "frame": n,
                             "track": f.track, "crf": crf, "split": s.split,
                             "landmarks": " ".join(f"{v:.1f}" for v in crop_marks.ravel())})
            if n >= last:
                break
        enc.unlink(missing_ok=True)
        if progress is not None and task is not None:
            progress.advance(task)
    s.faces = len(faces)
    return rows


def _is_faceset(path: Path) -> bool:
    return path.is_dir() and (path / "alignments.json").is_file()


def _expand(inputs: Iterable[str | Path]) -> list[Path]:
    """Media files (folders expanded), with faceset folders kept whole as one input each."""
    from twoface.media import collect_media

    out: list[Path] = []
    for item in inputs:
        path = Path(item)
        out += [path] if _is_faceset(path) else collect_media([path])
    return out


def _one_faceset(s: Source, index: int, root: Path, work: Path, opts: DatasetOptions,
                 progress: Progress | None) -> list[dict[str, object]]:
    """Crops of a faceset (already aligned): per source file of the faceset, up to
    ``max_frames`` faces spread over time, written as a video of crops at each CRF (the
    same H.264 path as everything else), decoded and re-aligned to the dataset's size and
    coverage with the faceset's own landmarks."""
    from twoface.data.faceset import Faceset
    from twoface.faces.align import align_face, transform_points
    from twoface.media import iter_frames
    from twoface.media.writer import VideoWriter

    fs = Faceset.load(s.path)
    picked = []
    for src in sorted({f.source for f in fs.faces}):
        faces = sorted((f for f in fs.faces if f.source == src), key=lambda f: (f.frame, f.track))
        keep = np.unique(np.linspace(0, len(faces) - 1, min(opts.max_frames, len(faces)))
                         .round().astype(int))
        picked += [faces[k] for k in keep]
    if not picked:
        s.note = "faceset holds no faces"
        return []
    marks = [transform_points(np.asarray(f.landmarks, np.float64), np.asarray(f.matrix))
             for f in picked]
    rows: list[dict[str, object]] = []
    task = (progress.add_task(f"encode  {s.path.name}", total=len(opts.crfs), unit="crf")
            if progress is not None else None)
    for crf in opts.crfs:
        enc = work / f"enc{index}_crf{crf}.mp4"
        with VideoWriter(enc, 25, crf=crf) as writer:
            for f in picked:
                writer.write(fs.image(f))
        for n, frame in enumerate(iter_frames(enc)):
            f = picked[n]
            aligned = align_face(frame.image, marks[n], opts.size, opts.coverage)
            video = _stem(Path(fs.sources[f.source].path), index)
            rel = f"faces/crf{crf}/{s.method}/{video}_{f.frame:06d}_{f.track}.png"
            _write_png(root / rel, aligned.image)
            crop_marks = transform_points(marks[n], aligned.matrix)
            rows.append({"path": rel, "label": s.label, "method": s.method,
                         "identity": s.group, "video": video, "frame": f.frame,
                         "track": f.track, "crf": crf, "split": s.split,
                         "landmarks": " ".join(f"{v:.1f}" for v in crop_marks.ravel())})
        enc.unlink(missing_ok=True)
        if progress is not None and task is not None:
            progress.advance(task)
    s.faces = len(picked)
    return rows


def _stem(path: Path, index: int) -> str:
    clean = "".join(c if c.isalnum() or c in "-_" else "_" for c in path.stem) or "source"
    return f"{clean}-{index}"


def _write_png(path: Path, rgb: np.ndarray) -> None:
    import cv2

    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR),
                           [cv2.IMWRITE_PNG_COMPRESSION, 1]):
            raise TwofaceError(path, "could not write face crop")
