"""Atomic file writes: write a temporary file beside the target, fsync, rename.

A kill at any moment leaves either the old file or the new one, never a broken one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


@contextlib.contextmanager
def atomic_path(path: str | Path, mode: int | None = None, *, clean: bool = False
                ) -> Iterator[Path]:
    """Yield a temporary path in the target's folder; on success it replaces ``path``.

    The temporary name keeps the target's suffix so that format-sniffing writers
    (PyAV, OpenCV, Pillow) pick the right container. ``mode``: the file's permissions, kept
    from creation to rename (0600 for a private key); default the usual umask-based mode.
    ``clean``: first remove what killed writers of ``path`` left (:func:`clean_stale`; it lists
    the folder, so long writes such as videos ask for it, not every small file).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if clean:
        clean_stale(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.{os.getpid()}.",
                                    suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600) from creation; outputs get the usual
        # umask-based mode unless asked to stay private.
        os.chmod(tmp, 0o666 & ~_umask() if mode is None else mode)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def clean_stale(path: Path) -> list[Path]:
    """Remove the temporary files a killed writer of ``path`` left beside it: their names
    carry the writer's process id, and only those of processes no longer running go."""
    gone = []
    for tmp in path.parent.glob(f".{glob_escape(path.stem)}.*.tmp{glob_escape(path.suffix)}"):
        pid = tmp.name[len(path.stem) + 2:].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            with contextlib.suppress(OSError):
                tmp.unlink()
                gone.append(tmp)
    return gone


def glob_escape(text: str) -> str:
    return "".join(f"[{c}]" if c in "*?[]" else c for c in text)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # someone else's, or cannot tell: leave it
    return True


@contextlib.contextmanager
def folder_lock(folder: str | Path, what: str = "process") -> Iterator[None]:
    """Hold ``folder/.lock`` (an advisory lock the system drops when the process dies) for
    the block; a second holder is refused with a TwofaceError naming the first's process."""
    import fcntl

    from twoface.errors import TwofaceError

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    fh = open(folder / ".lock", "a+")  # noqa: SIM115 - held for the whole block
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip() or "?"
            raise TwofaceError(folder, f"another {what} is writing this folder "
                               f"(process {holder}); wait for it or use another folder"
                               ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        yield
    finally:
        fh.close()  # closing drops the lock


def atomic_write_bytes(path: str | Path, data: bytes, mode: int | None = None, *,
                       clean: bool = False) -> None:
    with atomic_path(path, mode, clean=clean) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=1, ensure_ascii=False) + "\n")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
