"""The manifest of a detection dataset (:mod:`twoface.data.detect_dataset`): its columns, how
it is written, and :class:`Manifest`, which reads it and loads the crops it lists.

``manifest.csv`` holds one row per face crop: its ``path`` under the dataset folder, ``label``
(0 real, 1 fake), the ``method`` that made it (:data:`REAL` for real faces), the
``identity`` group, source ``video``, ``frame`` and ``track``, the ``crf`` it was encoded at,
its ``split`` (train, val or test) and its 68 crop ``landmarks`` (x y pairs, space-separated).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from twoface.errors import TwofaceError
from twoface.fileio import atomic_write_text

MANIFEST_COLUMNS = ("path", "label", "method", "identity", "video", "frame", "track", "crf",
                    "split", "landmarks")
REAL = "real"


def write_manifest(path: Path, rows: list[dict[str, object]]) -> None:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(MANIFEST_COLUMNS), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(path, buf.getvalue())


@dataclass
class Manifest:
    """A dataset's manifest in memory, with its crops loaded on demand."""

    root: Path
    rows: list[dict[str, str]]

    @classmethod
    def load(cls, root: str | Path) -> Manifest:
        root = Path(root)
        path = root / "manifest.csv"
        if not path.is_file():
            raise TwofaceError(root, "not a detection dataset (no manifest.csv)")
        try:
            with open(path, newline="", encoding="utf-8") as fh:
                reader = csv.DictReader(fh)
                missing = set(MANIFEST_COLUMNS) - set(reader.fieldnames or [])
                rows = list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as exc:
            raise TwofaceError(path, f"unreadable manifest ({exc})") from None
        if missing:
            raise TwofaceError(path, f"manifest lacks columns {sorted(missing)}")
        return cls(root, rows)

    def select(self, *, split: str | None = None, label: int | None = None,
               crf: int | None = None, method: str | None = None) -> list[dict[str, str]]:
        return [r for r in self.rows
                if (split is None or r["split"] == split)
                and (label is None or int(r["label"]) == label)
                and (crf is None or int(r["crf"]) == crf)
                and (method is None or r["method"] == method)]

    def images(self, rows: list[dict[str, str]], size: int) -> np.ndarray:
        """``(N, size, size, 3)`` uint8 crops of ``rows`` (resized when stored otherwise)."""
        import cv2

        out = np.empty((len(rows), size, size, 3), np.uint8)
        for i, r in enumerate(rows):
            bgr = cv2.imread(str(self.root / r["path"]), cv2.IMREAD_COLOR)
            if bgr is None:
                raise TwofaceError(self.root / r["path"], "missing or unreadable face crop")
            if bgr.shape[0] != size:
                bgr = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
            out[i] = bgr[:, :, ::-1]
        return out

    @staticmethod
    def landmarks(rows: list[dict[str, str]], scale: float = 1.0) -> np.ndarray:
        """``(N, 68, 2)`` crop landmarks of ``rows``, times ``scale`` (for resized crops)."""
        return np.array([np.array(r["landmarks"].split(), np.float32).reshape(68, 2) * scale
                         for r in rows], np.float32).reshape(len(rows), 68, 2)
