"""What to scan: files, folders (recursive, by media type) and CSV/TXT lists of paths.

Every listed file becomes an :class:`~twoface.scan.rows.Item` keyed by its content hash, so
a renamed or copied file is recognised as already scanned. A file that cannot be read is
still an item (keyed by its path) that will become a row with its error.
"""

from __future__ import annotations

import csv
import hashlib
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from twoface.errors import TwofaceError
from twoface.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES
from twoface.scan.rows import Item

LIST_SUFFIXES = {".csv", ".txt"}
_CHUNK = 1 << 20


def expand_inputs(inputs: Iterable[str | Path]) -> list[Path]:
    """The files named by ``inputs``, in order, each once.

    A folder contributes its media files (recursively, hidden ones skipped, sorted); a
    ``.csv`` or ``.txt`` file is a list of paths (one per line; in a CSV the ``path`` column,
    else the first), relative paths read from the list's folder. Any other file is taken as
    is: if it is not media, its row says so. A missing input named on the command line, or
    a folder without media, is a TwofaceError before any work starts.
    """
    found: list[Path] = []
    seen: set[Path] = set()

    def add(p: Path) -> None:
        key = p.absolute()
        if key not in seen:
            seen.add(key)
            found.append(p)

    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files = [p for p in sorted(path.rglob("*"))
                     if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
                     and not any(s.startswith(".") for s in p.relative_to(path).parts)]
            if not files:
                raise TwofaceError(path, "no images or videos in this folder")
            for f in files:
                add(f)
        elif path.suffix.lower() in LIST_SUFFIXES:
            for f in _read_list(path):
                add(f)
        elif path.exists() or path.is_symlink():
            add(path)
        else:
            raise TwofaceError(path, "does not exist")
    if not found:
        raise TwofaceError(None, "nothing to scan")
    return found


def _read_list(path: Path) -> Iterator[Path]:
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TwofaceError(path, f"cannot read the list ({exc})") from None
    lines = text.splitlines()
    if path.suffix.lower() == ".csv":
        reader = list(csv.reader(lines))
        header = [h.strip().lower() for h in reader[0]] if reader else []
        col = header.index("path") if "path" in header else 0
        rows = reader[1:] if "path" in header else reader
        names = [r[col].strip() for r in rows if len(r) > col]
    else:
        names = [ln.strip() for ln in lines]
    for name in names:
        if name and not name.startswith("#"):
            p = Path(name).expanduser()
            # Entries are not checked here: a missing one becomes a row saying so.
            yield p if p.is_absolute() else path.parent / p


def path_key(path: Path) -> str:
    """The key of a file that cannot be read: with no content to key on, its path is the
    key, so the file is tried again on the next run (and then gets a content key)."""
    return "path-" + hashlib.sha256(str(path.absolute()).encode()).hexdigest()


def hash_file(path: Path) -> Item:
    """An item for ``path``: its SHA-256 and size, or the reason it cannot be read."""
    t0 = time.perf_counter()
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
    except OSError as exc:
        why = "does not exist" if not path.exists() else f"cannot be read ({exc.strerror})"
        return Item(str(path), path_key(path), None, None, error=why)
    sha = digest.hexdigest()
    return Item(str(path), sha, sha, path.stat().st_size,
                seconds_hash=round(time.perf_counter() - t0, 4))
