"""Facesets: a folder of aligned face crops plus one ``alignments.json`` describing them.

Layout::

    FACESET/
      alignments.json     # schema "twoface.faceset", version 1 (see README and faceset.schema.json)
      faces/<stem>_<frame:06d>_<n>.png

Each face record keeps where it came from (source, frame, time), how it was found (bbox,
68 landmarks in frame pixels, the 2×3 frame→crop matrix), who it is (dlib embedding) and how
usable it is (blur, size, pose, track).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from twoface import __version__
from twoface.errors import TwofaceError
from twoface.fileio import atomic_path

SCHEMA = "twoface.faceset"
VERSION = 1


@dataclass(eq=False, slots=True)
class FaceRecord:
    """One aligned face. Coordinates are frame pixels unless named otherwise."""

    file: str  # relative to the faceset folder
    source: int  # index into Faceset.sources
    frame: int
    time: float
    bbox: list[float]
    landmarks: np.ndarray  # 68 × 2 float32, smoothed over the track
    matrix: np.ndarray  # 2 × 3 float64, frame → crop
    embedding: np.ndarray  # 128 float32
    blur: float
    size: float  # face size in frame pixels
    yaw: float
    pitch: float
    roll: float
    track: int

    def __post_init__(self) -> None:
        # Compact arrays, not lists of floats: a record costs ~1.5 kB in memory rather than
        # ~10, which is what lets a long video's extraction stay small.
        self.landmarks = np.asarray(self.landmarks, np.float32).reshape(68, 2)
        self.matrix = np.asarray(self.matrix, np.float64).reshape(2, 3)
        self.embedding = np.asarray(self.embedding, np.float32).reshape(128)

    def to_dict(self) -> dict[str, Any]:
        """The record as ``alignments.json`` stores it (rounded lists)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out["landmarks"] = np.round(self.landmarks.astype(np.float64), 2).tolist()
        out["matrix"] = np.round(self.matrix, 6).tolist()
        out["embedding"] = np.round(self.embedding.astype(np.float64), 5).tolist()
        return out

    @property
    def marks(self) -> np.ndarray:
        return np.asarray(self.landmarks, np.float32)

    @property
    def vector(self) -> np.ndarray:
        return np.asarray(self.embedding, np.float32)


@dataclass
class SourceRecord:
    """One input file and what extraction made of it."""

    path: str
    kind: str  # "image" | "video"
    bytes: int
    mtime: float
    status: str = "done"  # "done" | "skipped"
    note: str = ""
    frames: int = 0
    faces: int = 0
    tracks: int = 0


@dataclass
class Faceset:
    """An in-memory view of a faceset folder."""

    root: Path
    size: int = 256
    coverage: float = 0.625
    sources: list[SourceRecord] = field(default_factory=list)
    faces: list[FaceRecord] = field(default_factory=list)

    # ---------------------------------------------------------------- files
    @property
    def json_path(self) -> Path:
        return self.root / "alignments.json"

    @classmethod
    def create(cls, root: str | Path, size: int = 256, coverage: float = 0.625) -> Faceset:
        """Open ``root`` for writing: load it when it exists (to resume), else start empty."""
        root = Path(root)
        if (root / "alignments.json").exists():
            fs = cls.load(root)
            if fs.size != size:
                raise TwofaceError(root, f"faceset holds {fs.size}px crops; asked for {size}px")
            return fs
        if root.exists() and not root.is_dir():
            raise TwofaceError(root, "exists and is not a folder")
        (root / "faces").mkdir(parents=True, exist_ok=True)
        return cls(root=root, size=size, coverage=coverage)

    @classmethod
    def load(cls, root: str | Path) -> Faceset:
        root = Path(root)
        path = root / "alignments.json"
        if not path.is_file():
            raise TwofaceError(root, "not a faceset (no alignments.json)")
        try:
            doc = json.loads(path.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            problem = f"unreadable alignments file ({exc.__class__.__name__})"
            raise TwofaceError(path, problem) from None
        invalid = validate(doc)
        if invalid:
            raise TwofaceError(path, f"does not match the faceset schema: {invalid}")
        return cls(root=root, size=doc["size"], coverage=doc["coverage"],
                   sources=[SourceRecord(**s) for s in doc["sources"]],
                   faces=[FaceRecord(**f) for f in doc["faces"]])

    def to_json(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "version": VERSION, "created_by": f"twoface {__version__}",
                "size": self.size, "coverage": self.coverage,
                "sources": [asdict(s) for s in self.sources],
                "faces": [f.to_dict() for f in self.faces]}

    def save(self) -> None:
        """Write ``alignments.json`` atomically (crops are written as they are added), one
        record at a time: memory does not grow with the size of the file."""
        head = json.dumps({**self.to_json_head(), "faces": []}, indent=1, ensure_ascii=False)
        before, mark, after = head.rpartition('"faces": []')
        assert mark, "faces must be the last key"
        with atomic_path(self.json_path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
            fh.write(before + '"faces": [')
            for i, f in enumerate(self.faces):
                fh.write(("," if i else "") + "\n  " + json.dumps(f.to_dict(), ensure_ascii=False))
            fh.write("\n ]" + after + "\n")

    def to_json_head(self) -> dict[str, Any]:
        return {"schema": SCHEMA, "version": VERSION, "created_by": f"twoface {__version__}",
                "size": self.size, "coverage": self.coverage,
                "sources": [asdict(s) for s in self.sources]}

    def write_crop(self, name: str, crop: np.ndarray) -> str:
        rel = f"faces/{name}.png"
        with atomic_path(self.root / rel) as tmp:
            # Lossless, light compression: extraction speed matters more than a few kB.
            if not cv2.imwrite(str(tmp), cv2.cvtColor(crop, cv2.COLOR_RGB2BGR),
                               [cv2.IMWRITE_PNG_COMPRESSION, 1]):
                raise TwofaceError(self.root / rel, "could not write face crop")
        return rel

    def image(self, face: FaceRecord) -> np.ndarray:
        """The aligned crop of ``face`` as RGB uint8."""
        bgr = cv2.imread(str(self.root / face.file), cv2.IMREAD_COLOR)
        if bgr is None:
            raise TwofaceError(self.root / face.file, "missing or unreadable face crop")
        return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)

    def source_done(self, path: Path, bytes_: int, mtime: float) -> bool:
        return any(s.path == str(path) and s.bytes == bytes_ and abs(s.mtime - mtime) < 1e-3
                   and s.status == "done" for s in self.sources)

    # ------------------------------------------------------------ selection
    def where(self, keep: Callable[[FaceRecord], bool]) -> Faceset:
        """A view holding only the faces for which ``keep`` is true (files are shared)."""
        return Faceset(self.root, self.size, self.coverage, list(self.sources),
                       [f for f in self.faces if keep(f)])

    def filter(self, *, identity: np.ndarray | None = None, max_distance: float = 0.6,
               min_size: float = 0.0, min_blur: float = 0.0, max_yaw: float = 90.0,
               max_pitch: float = 90.0) -> Faceset:
        """Keep faces near a reference identity embedding, large, sharp and frontal enough."""
        ref = None if identity is None else np.asarray(identity, np.float32)

        def keep(f: FaceRecord) -> bool:
            if ref is not None and float(np.linalg.norm(f.vector - ref)) > max_distance:
                return False
            return (f.size >= min_size and f.blur >= min_blur and abs(f.yaw) <= max_yaw
                    and abs(f.pitch) <= max_pitch)

        return self.where(keep)

    def sorted(self, key: str = "frame", reverse: bool = False) -> Faceset:
        """Sort by a record field (``frame``, ``blur``, ``size``, ``yaw``, ...)."""
        fs = self.where(lambda f: True)
        fs.faces.sort(key=lambda f: (getattr(f, key), f.source, f.frame), reverse=reverse)
        return fs

    def dedupe(self, threshold: float = 2.0) -> Faceset:
        """Drop near-duplicate frames: within a track, a face whose 32×32 grey thumbnail differs
        from the last kept one by less than ``threshold`` (mean absolute, 0–255) is dropped."""
        kept: list[FaceRecord] = []
        last: dict[tuple[int, int], np.ndarray] = {}
        for f in sorted(self.faces, key=lambda r: (r.source, r.track, r.frame)):
            thumb = cv2.resize(cv2.cvtColor(self.image(f), cv2.COLOR_RGB2GRAY), (32, 32),
                               interpolation=cv2.INTER_AREA).astype(np.float32)
            prev = last.get((f.source, f.track))
            if prev is not None and float(np.abs(thumb - prev).mean()) < threshold:
                continue
            last[(f.source, f.track)] = thumb
            kept.append(f)
        ids = {id(f) for f in kept}
        return self.where(lambda f: id(f) in ids)

    def copy_to(self, root: str | Path) -> Faceset:
        """Write this view as a new faceset folder (crops copied)."""
        out = Faceset.create(root, self.size, self.coverage)
        out.sources = list(self.sources)
        out.faces = []
        for f in self.faces:
            rel = out.write_crop(Path(f.file).stem, self.image(f))
            out.faces.append(FaceRecord(**{**f.to_dict(), "file": rel}))
        out.save()
        return out

    # -------------------------------------------------------------- summary
    def montage(self, path: str | Path, *, columns: int = 8, tile: int = 96,
                limit: int = 64) -> Path:
        """A PNG grid of up to ``limit`` faces spread evenly over the set."""
        faces = self.faces
        if len(faces) > limit:
            faces = [faces[i] for i in np.linspace(0, len(faces) - 1, limit).round().astype(int)]
        rows = max(1, math.ceil(len(faces) / columns))
        sheet = np.full((rows * tile, columns * tile, 3), 24, np.uint8)
        for i, f in enumerate(faces):
            r, c = divmod(i, columns)
            sheet[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] = cv2.resize(
                self.image(f), (tile, tile), interpolation=cv2.INTER_AREA)
        path = Path(path)
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg", ".webp"):
            raise TwofaceError(path, "montage must be a .png, .jpg or .webp file")
        with atomic_path(path) as tmp:
            if not cv2.imwrite(str(tmp), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR)):
                raise TwofaceError(path, "could not write the montage")
        return path

    def summary(self) -> dict[str, Any]:
        faces = self.faces

        def stat(values: Iterable[float]) -> dict[str, float]:
            v = np.asarray(list(values), np.float64)
            if not v.size:
                return {}
            return {"min": float(v.min()), "median": float(np.median(v)), "max": float(v.max())}

        return {"faces": len(faces), "sources": len(self.sources),
                "tracks": len({(f.source, f.track) for f in faces}), "size": self.size,
                "face_px": stat(f.size for f in faces), "blur": stat(f.blur for f in faces),
                "yaw": stat(f.yaw for f in faces), "pitch": stat(f.pitch for f in faces)}


def schema() -> dict[str, Any]:
    """The JSON Schema of ``alignments.json``."""
    text = resources.files("twoface.data").joinpath("faceset.schema.json").read_text("utf-8")
    return json.loads(text)


def validate(doc: Any) -> str | None:
    """None when ``doc`` matches the schema, else the first problem in one line."""
    import jsonschema

    try:
        jsonschema.validate(doc, schema())
    except jsonschema.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path) or "top level"
        return f"{where}: {exc.message[:200]}"
    return None
