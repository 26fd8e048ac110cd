"""Media in and out: images (Pillow) and videos (PyAV), with timestamps and audio.

Everything reads to and writes from ``H×W×3`` uint8 RGB arrays; every problem with a file
is a :class:`~twoface.errors.MediaError` naming the file and the problem.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from twoface.errors import MediaError
from twoface.media.image import check_image, read_image, write_image
from twoface.media.video import VideoInfo, iter_frames, probe, read_frame
from twoface.media.writer import VideoWriter, write_video

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "MediaError",
    "VideoInfo",
    "VideoWriter",
    "check_media",
    "collect_media",
    "iter_frames",
    "media_kind",
    "probe",
    "read_frame",
    "read_image",
    "write_image",
    "write_video",
]

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".mkv", ".avi", ".webm", ".m4v"}


def media_kind(path: str | Path) -> Literal["image", "video"]:
    """Whether ``path`` is an image or a video, judged by its suffix (case-insensitive).

    Raises MediaError for a missing path, a folder, an empty file or an unknown suffix.
    """
    path = Path(path)
    if not path.exists():
        raise MediaError(path, "does not exist")
    if path.is_dir():
        raise MediaError(path, "is a folder, not a media file")
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        kind: Literal["image", "video"] = "image"
    elif suffix in VIDEO_SUFFIXES:
        kind = "video"
    else:
        raise MediaError(path, f"unknown media type '{path.suffix}' (images: "
                         f"{' '.join(sorted(IMAGE_SUFFIXES))}; videos: "
                         f"{' '.join(sorted(VIDEO_SUFFIXES))})")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file")
    return kind


def check_media(path: str | Path) -> Literal["image", "video"]:
    """Check ``path`` from its header before any work: a known media type, readable, frames
    within the pixel cap (:mod:`twoface.media.limits`). Returns its kind; raises MediaError
    naming the file."""
    kind = media_kind(path)
    if kind == "video":
        probe(path)
    else:
        check_image(path)
    return kind


def collect_media(inputs: Iterable[str | Path]) -> list[Path]:
    """The image and video files named by ``inputs``, folders expanded recursively.

    A folder contributes its media files sorted by path; hidden files and folders (names
    starting with ".") are skipped: they are editors' and writers' temporary files or
    macOS "._" resource forks, never media. A file named directly must be media
    (checked by :func:`media_kind`). Duplicates are listed once, in first-seen order.

    Raises MediaError for a missing path, or a folder with no images or videos.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for item in inputs:
        path = Path(item)
        if not path.exists():
            raise MediaError(path, "does not exist")
        if path.is_dir():
            files = [
                p for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            ]
            if not files:
                raise MediaError(path, "no images or videos in this folder")
        else:
            media_kind(path)
            files = [path]
        for file in files:
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append(file)
    return found
