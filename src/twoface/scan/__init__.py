"""``twoface scan``: check a whole collection, one Parquet row per file, resumable.

:mod:`~twoface.scan.inputs` lists and hashes the inputs, :mod:`~twoface.scan.rows` holds the
row schema and the per-file check, :mod:`~twoface.scan.engines` runs the checks (in process,
a local process pool, or Ray), :mod:`~twoface.scan.store` writes each finished row exactly
once, :mod:`~twoface.scan.summary` writes ``summary.json`` and ``summary.html``, and
:mod:`~twoface.scan.job` ties them together. PDQ and vPDQ hashes: :mod:`~twoface.scan.hashes`.
"""

from twoface.scan.job import run_scan
from twoface.scan.rows import CHECKS, RUN_FIELDS, SCHEMA, ScanConfig
from twoface.scan.store import read_rows

__all__ = ["CHECKS", "RUN_FIELDS", "SCHEMA", "ScanConfig", "read_rows", "run_scan"]
