"""The results folder: one small Parquet part per finished row, named by the row's key.

Exactly once, by construction:

- A row is written to a temporary file, fsynced and renamed to ``parts/<key>.parquet``
  (:func:`twoface.fileio.atomic_path`), so a kill at any moment leaves the part whole or
  absent, never half written.
- The part's name *is* the row's key (the file's SHA-256), so one content can never have two
  rows: on start the names in ``parts/`` are the set of finished files, and only the parent
  process writes parts, skipping a key it has already written.
- A file that could not even be read is keyed by its path (``path-…``): it is tried again on
  the next run, and its part replaced in place (still one row).

Readers see the folder as one Parquet dataset (``pyarrow.dataset``, which ignores the
hidden temporary files of writers that were killed).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from twoface.errors import TwofaceError
from twoface.fileio import atomic_path
from twoface.scan.rows import SCHEMA

PARTS = "parts"


class ResultStore:
    """The Parquet parts of one results folder and the keys already done."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        if self.folder.exists() and not self.folder.is_dir():
            raise TwofaceError(self.folder, "is a file; give a folder for the results")
        self.parts = self.folder / PARTS
        self.parts.mkdir(parents=True, exist_ok=True)
        self.written: set[str] = set()
        self.done = {p.stem for p in self.parts.glob("*.parquet")
                     if not p.name.startswith(".") and not p.stem.startswith("path-")}

    def write(self, row: dict[str, Any]) -> bool:
        """Write ``row`` as its own part; False (and nothing written) if its key is done."""
        key = str(row["key"])
        if key in self.done or key in self.written:
            return False
        table = pa.Table.from_pylist([row], schema=SCHEMA)
        target = self.parts / f"{key}.parquet"
        with atomic_path(target) as tmp:
            pq.write_table(table, tmp)
        self.written.add(key)
        if not key.startswith("path-"):
            self.done.add(key)
        return True

    def forget_path_row(self, key: str) -> None:
        """Drop the error row of a path that can now be read (it gets a content row)."""
        (self.parts / f"{key}.parquet").unlink(missing_ok=True)

    def clean(self) -> None:
        """Remove temporary parts left by killed writers. Only call it while holding the
        folder's lock: then no other writer is alive and every temporary part is stale."""
        for tmp in self.parts.glob(".*.tmp.parquet"):
            tmp.unlink(missing_ok=True)

    def table(self) -> pa.Table:
        """Every row written so far, as one table, in key order."""
        return read_rows(self.folder)


def read_rows(folder: str | Path) -> pa.Table:
    """The rows of the results folder ``folder`` as one table, sorted by key."""
    parts = Path(folder) / PARTS
    if not parts.is_dir() or not any(parts.glob("*.parquet")):
        return SCHEMA.empty_table()
    import pyarrow.dataset as ds

    table = ds.dataset(parts, format="parquet", schema=SCHEMA).to_table()
    return table.sort_by("key")
