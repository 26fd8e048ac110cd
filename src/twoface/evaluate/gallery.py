"""Real people to measure identity against: a swap must look like its target, not merely
unlike a handful of synthetic faces that are easy to tell apart.

The people are the adults of ``../shared/data/faces`` (LivePortrait's example media and two
public-domain portraits; ``SOURCES.md`` there records where each came from). They are read
when twoface runs from its repository beside ``../shared``; elsewhere the gallery is what
the user gives with ``--distractor`` (facesets of other people).

A gallery identity is the mean dlib embedding of the largest face in a few frames of each of
its files. People who are the source or the target of the swap being measured are left out
(by file, and by being within :data:`SAME_PERSON` of either), so retrieval asks "which of
these *other* people, or the target, does the swapped face look like?".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

# One entry per real person, the files showing them, relative to the faces folder. The
# repository's d19.jpg is a frame of d18 (renamed so); paintings, the cartoon and children
# are not here.
REAL_PEOPLE: dict[str, tuple[str, ...]] = {
    **{d: (f"liveportrait/driving/{d}.mp4",)
       for d in ("d0", "d3", "d6", "d9", "d10", "d12", "d13", "d14", "d19", "d20")},
    "d18": ("liveportrait/driving/d18.mp4", "liveportrait/driving/d19_frame_of_d18.jpg"),
    **{s: (f"liveportrait/source/{s}.mp4",) for s in ("s18", "s20", "s29", "s32")},
    **{k: (f"liveportrait/source/driving_still_{d}.jpg",)
       for k, d in (("d8", "d8"), ("d9s", "d9"), ("d30", "d30"))},
    "s42": ("liveportrait/source/s42.jpg",),
    "collins": ("public_domain_portraits/astronaut_eileen_collins.png",),
    "hopper": ("public_domain_portraits/grace_hopper.jpg",),
}
SAME_PERSON = 0.4  # embedding distance under which two identities are taken as one person
FRAMES_PER_VIDEO = 4
ENV_FACES = "TWOFACE_SHARED_FACES"


@dataclass
class Identity:
    name: str
    vector: np.ndarray = field(repr=False)
    files: tuple[Path, ...] = ()


def find_shared_faces() -> Path | None:
    """``$TWOFACE_SHARED_FACES``, else ``../shared/data/faces`` beside the current folder or
    beside the repository twoface runs from; None when there is none."""
    env = os.environ.get(ENV_FACES, "").strip()
    if env:
        return Path(env) if Path(env).is_dir() else None
    repo = Path(__file__).resolve().parents[3]
    for base in (Path.cwd(), repo):
        faces = base.parent / "shared" / "data" / "faces"
        if (faces / "liveportrait").is_dir():
            return faces
    return None


def _frames(path: Path, n: int) -> list[np.ndarray]:
    from twoface.media import iter_frames, media_kind, probe, read_image

    if media_kind(path) == "image":
        return [read_image(path)]
    total = max(1, probe(path).frame_count)
    want = set(np.linspace(0, total - 1, n + 2)[1:-1].round().astype(int).tolist())
    return [f.image for f in iter_frames(path) if f.index in want]


def identity_of(name: str, files: list[Path], models: Any,
                frames_per_video: int = FRAMES_PER_VIDEO) -> Identity | None:
    """The mean embedding of the largest face in a few frames of ``files``; None if no face
    is found in any of them."""
    from twoface.faces.detect import detect, embeddings, landmarks

    faces = []
    for path in files:
        for image in _frames(path, frames_per_video):
            found = detect(image, models) or detect(image, models, upsample=1)
            if found:
                box = max(found, key=lambda bs: bs[0].area)[0]
                faces.append((image, landmarks(image, box, models)))
    if not faces:
        return None
    return Identity(name, embeddings(faces, models).mean(0), tuple(files))


def real_gallery(faces_root: Path, models: Any, *, exclude_files: list[Path] | None = None,
                 exclude_vectors: list[np.ndarray] | None = None,
                 progress: Any = None) -> tuple[list[Identity], list[str]]:
    """The real people under ``faces_root`` (:data:`REAL_PEOPLE`) whose files exist, minus
    anyone shown in ``exclude_files`` or within :data:`SAME_PERSON` of ``exclude_vectors``.

    Returns ``(identities, notes)``; each note names a person left out and why.
    """
    skip = {p.resolve() for p in exclude_files or []}
    people: list[Identity] = []
    notes: list[str] = []
    for name, rel in REAL_PEOPLE.items():
        files = [faces_root / r for r in rel if (faces_root / r).is_file()]
        if not files:
            continue
        if any(f.resolve() in skip for f in files):
            notes.append(f"{name}: left out (the source or the target)")
            continue
        found = identity_of(name, files, models)
        if progress is not None:
            progress()
        if found is None:
            notes.append(f"{name}: left out (no face found)")
            continue
        near = [float(np.linalg.norm(found.vector - v)) for v in exclude_vectors or []]
        if near and min(near) < SAME_PERSON:
            notes.append(f"{name}: left out (the same person as the source or the target, "
                         f"distance {min(near):.2f})")
            continue
        people.append(found)
    return people, notes
