"""A scan from start to end: list, hash, skip what is done, check the rest, summarise.

The parent process hashes every input first (cheap next to the checks) so that files
already in the results, and files whose content repeats another input's, are skipped
before any worker starts; then it writes each row the moment an engine hands it back.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from twoface.errors import TwofaceError
from twoface.fileio import folder_lock
from twoface.scan.engines import run_inline, run_pool, run_ray
from twoface.scan.inputs import expand_inputs, hash_file, path_key
from twoface.scan.rows import Item, ScanConfig
from twoface.scan.store import ResultStore
from twoface.scan.summary import write_summary


@dataclass
class ScanRun:
    """What one run did (the summary's ``run`` block)."""

    engine: str
    workers: int
    listed: int = 0
    skipped_done: int = 0
    duplicates: list[dict[str, str]] = field(default_factory=list)
    checked: int = 0
    errors: int = 0
    seconds: float = 0.0
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        per_min = self.checked / self.seconds * 60 if self.seconds > 0 else None
        return {"engine": self.engine, "workers": self.workers, "listed": self.listed,
                "skipped_done": self.skipped_done, "duplicates": self.duplicates,
                "checked": self.checked, "errors": self.errors,
                "seconds": round(self.seconds, 2),
                "files_per_minute": None if per_min is None else round(per_min, 2),
                "interrupted": self.interrupted}


def plan(inputs: Iterable[str | Path], store: ResultStore, run: ScanRun, progress: Any = None
         ) -> list[Item]:
    """The items still to check: content not yet in ``store``, each content once."""
    files = expand_inputs(inputs)
    run.listed = len(files)
    task = (progress.add_task("hash", total=len(files), unit="files")
            if progress is not None else None)
    todo: list[Item] = []
    first: dict[str, str] = {}
    for path in files:
        item = hash_file(path)
        if task is not None:
            progress.advance(task)
        if item.sha256 is None:
            todo.append(item)
            continue
        store.forget_path_row(path_key(path))
        if item.key in store.done:
            run.skipped_done += 1
        elif item.key in first:
            run.duplicates.append({"path": item.path, "same_as": first[item.key]})
        else:
            first[item.key] = item.path
            todo.append(item)
    return todo


def run_scan(inputs: Iterable[str | Path], config: ScanConfig, *, workers: int = 1,
             ray: str | None = None, ray_service: bool | None = None, progress: Any = None
             ) -> dict[str, Any]:
    """Scan ``inputs`` into ``config.results``; returns the summary (also written there).

    ``ray``: a Ray address (see :func:`~twoface.scan.engines.run_ray`), else a local pool of
    ``workers`` processes (1: in this process). ``ray_service``: score faces in a shared
    detector service (default: when the Ray cluster has GPUs and the device is cuda).

    An interrupt (Ctrl-C) stops the scan after the rows already finished were written and
    the summary of what is there; the KeyboardInterrupt is then raised again.
    """
    _check_config(config)
    results = Path(config.results)
    engine = "ray" if ray is not None else ("local" if workers > 1 else "inline")
    run = ScanRun(engine, workers)
    with folder_lock(results, "scan"):
        store = ResultStore(results)
        store.clean()
        todo = plan(inputs, store, run, progress)
        t0 = time.perf_counter()
        task = (progress.add_task("scan", total=len(todo), unit="files")
                if progress is not None else None)
        if ray is not None and todo:  # (nothing to do: no need to start Ray)
            rows = run_ray(todo, config, ray, workers if workers > 1 else None, ray_service)
        elif workers > 1 and len(todo) > 1:
            rows = run_pool(todo, config, min(workers, len(todo)))
        else:
            rows = run_inline(todo, config)
        try:
            for row in rows:
                if store.write(row):
                    run.checked += 1
                    run.errors += row["error"] is not None
                if task is not None:
                    progress.advance(task)
        except KeyboardInterrupt:
            run.interrupted = True
            raise
        finally:
            rows.close()  # stops the engine's workers now, also on an interrupt
            run.seconds = time.perf_counter() - t0
            summary = write_summary(results, store.table(), run.to_dict())
    return summary


def _check_config(config: ScanConfig) -> None:
    """Refuse settings that would fail in every worker, before any worker starts."""
    if "detect" in config.checks:
        from twoface.models.detectors import DEFAULT_DIR

        folder = Path(config.detector) if config.detector is not None else DEFAULT_DIR
        if not (folder / "config.json").is_file():
            raise TwofaceError(folder, "is not a detector folder (no config.json)")
    if config.match_list is not None:
        from twoface.scan.hashes import HashList

        HashList.read(config.match_list)
