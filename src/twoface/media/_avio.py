"""Opening media with PyAV so that every failure becomes a short :class:`MediaError`.

Shared by the reader (:mod:`twoface.media.video`) and the writer's audio passthrough
(:mod:`twoface.media.writer`); private to the package.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import av
import av.container

from twoface.errors import MediaError

# What PyAV raises: its own errors (FFmpegError covers InvalidDataError, EOFError, ...) and
# plain OSError for files the OS refuses.
AV_ERRORS: tuple[type[BaseException], ...] = (av.error.FFmpegError, OSError)

TRUNCATED = "video is truncated or corrupt"

# Box names that may start an ISO-BMFF (MP4/MOV) file, at bytes 4..8.
_BMFF_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot"}


def looks_like_video_container(path: Path) -> bool:
    """Whether the first bytes carry a video container's signature (MP4/MOV, MKV/WebM, AVI).

    FFmpeg says "invalid data" both for a text file and for an MP4 cut before its index;
    the signature tells the two apart, so the user hears "truncated" for the second.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(12)
    except OSError:
        return False
    return (
        head[4:8] in _BMFF_BOXES
        or head[:4] == b"\x1a\x45\xdf\xa3"  # EBML: Matroska / WebM
        or (head[:4] == b"RIFF" and head[8:12] == b"AVI ")
    )


def check_file(path: Path, what: str = "video") -> None:
    """Raise MediaError for a path that is missing, a folder or empty."""
    if not path.exists():
        raise MediaError(path, "does not exist")
    if path.is_dir():
        raise MediaError(path, f"is a folder, not a {what} file")
    if path.stat().st_size == 0:
        raise MediaError(path, "empty file")


@contextlib.contextmanager
def open_input(path: Path, what: str = "video") -> Iterator[av.container.InputContainer]:
    """Open ``path`` for reading; close it on exit. Failures to open raise MediaError."""
    check_file(path, what)
    try:
        # Tags in a foreign encoding are read with replacement characters, not refused.
        container = av.open(str(path), "r", metadata_errors="replace")
    except AV_ERRORS as exc:
        if isinstance(exc, PermissionError):
            raise MediaError(path, "cannot read: permission denied") from exc
        if isinstance(exc, av.error.FFmpegError) and looks_like_video_container(path):
            # It claims to be MP4/MKV/AVI, yet FFmpeg cannot even open it.
            problem = TRUNCATED if what == "video" else "file is truncated or corrupt"
            raise MediaError(path, problem) from exc
        reason = getattr(exc, "strerror", None) or str(exc)
        raise MediaError(path, f"not a {what} file: {reason}") from exc
    try:
        yield container
    finally:
        with contextlib.suppress(*AV_ERRORS):
            container.close()


def data_missing(container: av.container.InputContainer, path: Path) -> bool:
    """Whether the file ends before its own header says it should: a cut-off download.

    Such files open fine and would only stop early (or fail) mid-decode. MP4/MOV with the
    index first (``+faststart``): the last samples of the streams' indexes point past the
    end of the file (the tail of each index is enough, and stays cheap on long videos).
    Matroska/WebM: the Segment's declared size runs past the end of the file.
    """
    size = container.size
    if not size or size <= 0:
        return False
    for stream in container.streams:
        entries = stream.index_entries
        n = len(entries)
        for entry in entries[max(0, n - 64):n] if n else ():
            # pos < 0 means "unknown"; such entries say nothing about the file's end.
            if entry.pos >= 0 and entry.pos + entry.size > size:
                return True
    segment_end = _matroska_segment_end(path)
    return segment_end is not None and segment_end > size


def _matroska_segment_end(path: Path) -> int | None:
    """The byte offset where a Matroska file's Segment ends, per its header; None if unknown.

    The file starts with the EBML header element, then the Segment element (ID 18 53 80 67)
    whose size FFmpeg and other seekable muxers fill in when they finish.
    """
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
    except OSError:
        return None
    if head[:4] != b"\x1a\x45\xdf\xa3":
        return None
    size, pos = _ebml_size(head, 4)
    if size is None:
        return None
    pos += size
    if head[pos:pos + 4] != b"\x18\x53\x80\x67":
        return None
    size, pos = _ebml_size(head, pos + 4)
    return None if size is None else pos + size


def _ebml_size(data: bytes, pos: int) -> tuple[int | None, int]:
    """Decode the EBML variable-length size at ``pos``: (size or None if unknown, next pos)."""
    if pos >= len(data) or data[pos] == 0:
        return None, pos
    length = 9 - data[pos].bit_length()  # leading zero bits + 1
    if pos + length > len(data):
        return None, pos
    value = data[pos] & ((1 << (8 - length)) - 1)
    for byte in data[pos + 1:pos + length]:
        value = value << 8 | byte
    # All ones means "size unknown": a live recording that was never finalised.
    return (None if value == (1 << (7 * length)) - 1 else value), pos + length


def canonical_codec(stream: av.stream.Stream) -> str:
    """The codec's standard name ("mp3", not the decoder's "mp3float")."""
    codec = stream.codec_context.codec
    return getattr(codec, "canonical_name", None) or codec.name
