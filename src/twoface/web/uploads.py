"""Uploads: the request body streamed to a hidden file in ``uploads/`` with a byte limit,
checked with twoface's own media readers, then renamed into place (atomically).

A body over the limit is cut off as soon as it passes it (and refused at once when its
Content-Length says so); a file that twoface cannot read as an image or video is deleted
and refused. Nothing is written outside the workspace.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path

from twoface.errors import TwofaceError
from twoface.web.workspace import Workspace, safe_name

DEFAULT_MAX_BYTES = 512 * 1024 * 1024
CONSENT_MAX_BYTES = 10 * 1024 * 1024
CONSENT_SUFFIXES = {".txt", ".pdf", ".json", ".md", ".png", ".jpg", ".jpeg"}


class TooLarge(TwofaceError):
    """An upload over the size limit (answered 413)."""


def sniff_media(path: Path) -> str:
    """``"image"`` or ``"video"`` when twoface's readers accept ``path`` from its header,
    else a TwofaceError saying why (pixel caps included)."""
    from twoface.media import check_image, media_kind

    kind = media_kind(path)
    if kind == "image":
        check_image(path)
    else:
        from twoface.media import probe

        info = probe(path)
        if info.frame_count < 1:
            raise TwofaceError(path.name, "video has no frames")
    return kind


async def save_upload(workspace: Workspace, name: str, body: AsyncIterator[bytes], *,
                      limit: int, declared: int | None = None, purpose: str = "media"
                      ) -> dict[str, object]:
    """Stream ``body`` into ``uploads/`` under a fresh name built from ``name``; returns
    ``{"path", "bytes", "kind"}``. ``purpose``: ``media`` (an image or video, checked) or
    ``consent`` (a consent record: a document or picture, kept as it is)."""
    clean = safe_name(name)
    suffix = Path(clean).suffix.lower()
    if purpose == "consent":
        limit = min(limit, CONSENT_MAX_BYTES)
        if suffix not in CONSENT_SUFFIXES:
            raise TwofaceError(clean, "a consent record must be one of "
                               + " ".join(sorted(CONSENT_SUFFIXES)))
    elif purpose != "media":
        raise TwofaceError(None, f"unknown upload purpose {purpose!r} (media or consent)")
    else:
        from twoface.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

        if suffix not in IMAGE_SUFFIXES | VIDEO_SUFFIXES:
            raise TwofaceError(clean, "not a media file: upload an image "
                               f"({' '.join(sorted(IMAGE_SUFFIXES))}) or a video "
                               f"({' '.join(sorted(VIDEO_SUFFIXES))})")
    if declared is not None and declared > limit:
        raise TooLarge(clean, f"upload of {declared} bytes is over the {limit} byte limit")
    folder = workspace.uploads / ("consent" if purpose == "consent" else "")
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{secrets.token_hex(4)}-{clean}"
    # The partial file keeps the suffix: PyAV and Pillow sniff by it when checking.
    partial = folder / f".partial-{secrets.token_hex(8)}{suffix}"
    size = 0
    try:
        with open(partial, "xb") as fh:
            async for chunk in body:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(clean, f"upload is over the {limit} byte limit; refused "
                                   "(nothing kept)")
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        if size == 0:
            raise TwofaceError(clean, "empty upload")
        kind = "consent" if purpose == "consent" else sniff_media(partial)
        os.replace(partial, final)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        if isinstance(exc, TwofaceError) and not isinstance(exc, TooLarge) \
                and exc.path is not None and exc.path.name == partial.name:
            # The readers name the hidden partial file; name the upload instead.
            raise TwofaceError(clean, exc.problem) from None
        raise
    return {"path": workspace.relative(final), "bytes": size, "kind": kind}
