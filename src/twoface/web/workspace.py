"""The web app's workspace: the one folder it reads from and writes to.

Every path a request names is relative to the workspace and resolved here; anything that
would land outside it (``..``, an absolute path, a symbolic link pointing out, a name with a
NUL byte) is refused with a one-line :class:`~twoface.errors.TwofaceError` before any file
is opened.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from twoface.errors import TwofaceError

UPLOADS = "uploads"
JOBS = "jobs"
DB_NAME = "jobs.sqlite"
_SAFE_CHARS = re.compile(r"[^A-Za-z0-9._-]+")


class Missing(TwofaceError):
    """A job or file that is not there (answered 404)."""


@dataclass(frozen=True)
class Workspace:
    """A folder with ``uploads/`` (what people sent), ``jobs/<id>/`` (what each job wrote)
    and the job table ``jobs.sqlite``."""

    root: Path

    @classmethod
    def open(cls, root: str | Path) -> Workspace:
        folder = Path(root).expanduser().resolve()
        if folder.exists() and not folder.is_dir():
            raise TwofaceError(folder, "the workspace must be a folder")
        for sub in (UPLOADS, JOBS):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        return cls(folder)

    @property
    def db(self) -> Path:
        return self.root / DB_NAME

    @property
    def uploads(self) -> Path:
        return self.root / UPLOADS

    def job_dir(self, job_id: str) -> Path:
        return self.root / JOBS / job_id

    def resolve(self, relative: str, *, must_exist: bool = True) -> Path:
        """The file ``relative`` (a workspace path such as ``uploads/a.mp4``), refused unless
        it stays inside the workspace once every link on the way is followed."""
        if not isinstance(relative, str) or not relative.strip():
            raise TwofaceError(None, "empty file path")
        if "\x00" in relative or "\\" in relative:
            raise TwofaceError(None, f"{relative!r}: not a workspace path")
        pure = PurePosixPath(relative)
        if pure.is_absolute() or relative.startswith("~"):
            raise TwofaceError(None, f"{relative!r}: absolute paths are refused; give a path "
                               "inside the workspace, e.g. uploads/clip.mp4")
        if ".." in pure.parts:
            raise TwofaceError(None, f"{relative!r}: '..' is refused (paths stay inside the "
                               "workspace)")
        target = (self.root / pure).resolve()
        if not target.is_relative_to(self.root):
            raise TwofaceError(None, f"{relative!r}: leads outside the workspace (a link?); "
                               "refused")
        if must_exist and not target.exists():
            raise Missing(None, f"{relative!r}: no such file in the workspace")
        return target

    def relative(self, path: Path) -> str:
        """``path`` (inside the workspace) as the workspace path the API speaks."""
        return path.resolve().relative_to(self.root).as_posix()

    def listing(self, folder: str = UPLOADS) -> list[dict[str, object]]:
        """The files under ``folder`` (recursively), links that leave the workspace left out."""
        base = self.resolve(folder)
        rows: list[dict[str, object]] = []
        for p in sorted(base.rglob("*")):
            if p.name.startswith(".") or not p.is_file():
                continue
            real = p.resolve()
            if not real.is_relative_to(self.root):
                continue
            rows.append({"path": p.relative_to(self.root).as_posix(),
                         "bytes": real.stat().st_size})
        return rows


def safe_name(name: str, default: str = "upload") -> str:
    """A file name made of letters, digits, ``.``, ``_`` and ``-`` only (no folders, no
    leading dot), keeping the suffix that tells the media type."""
    base = PurePosixPath(name.replace("\\", "/")).name
    clean = _SAFE_CHARS.sub("_", base).lstrip("._")
    return clean[:120] or default
