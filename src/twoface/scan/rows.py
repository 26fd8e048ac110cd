"""One row per file: the schema, the settings every worker shares, and the check itself.

:class:`Checker` loads the detector and the face models once (in each worker) and turns one
:class:`Item` into one row. Whatever goes wrong with a file (corrupt, unreadable, not media,
a bug tripped by odd input) becomes that row's ``error``; only an interrupt stops the scan.

Rows are the same whichever engine ran them, except for the *run* columns
(:data:`RUN_FIELDS`: timings, which worker, its memory), which describe this run.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa

from twoface.scan.hashes import MIN_QUALITY, HashList, pdq, vpdq

Check = Literal["provenance", "detect", "inspect"]
CHECKS: tuple[Check, ...] = ("provenance", "detect", "inspect")

SCHEMA = pa.schema([
    ("key", pa.string()),  # sha256, or "path-<sha256 of the path>" when unreadable
    ("path", pa.string()),
    ("sha256", pa.string()),
    ("size", pa.int64()),
    ("kind", pa.string()),
    ("duration", pa.float64()),
    ("pdq", pa.string()),  # images: PDQ hex
    ("pdq_quality", pa.int32()),
    ("vpdq", pa.list_(pa.string())),  # videos: vPDQ lines "frame,quality,hash,timestamp"
    ("match", pa.string()),  # label of the hash-list entry this file matched
    ("match_distance", pa.int32()),
    ("provenance", pa.string()),  # verify status: none, twoface, watermark, foreign, ...
    ("verdict", pa.string()),  # fake, real, uncertain, no-face
    ("probability_fake", pa.float64()),
    ("certain", pa.bool_()),
    ("faces", pa.int32()),
    ("findings", pa.string()),  # shallowfake findings as JSON, most confident first
    ("findings_max", pa.float64()),
    ("report", pa.string()),  # per-file detect report, relative to the results folder
    ("error", pa.string()),
    ("seconds_hash", pa.float64()),
    ("seconds_provenance", pa.float64()),
    ("seconds_detect", pa.float64()),
    ("seconds_inspect", pa.float64()),
    ("seconds_total", pa.float64()),
    ("worker", pa.string()),
    ("rss_mb", pa.float64()),
])
RUN_FIELDS = ("seconds_hash", "seconds_provenance", "seconds_detect", "seconds_inspect",
              "seconds_total", "worker", "rss_mb")


@dataclass(frozen=True)
class Item:
    """A file to check: where it is and, when it could be read, its content hash."""

    path: str
    key: str
    sha256: str | None
    size: int | None
    seconds_hash: float = 0.0
    error: str | None = None  # why it could not even be hashed


@dataclass(frozen=True)
class ScanConfig:
    """What every worker needs; plain data, so it crosses process and Ray boundaries."""

    results: str
    checks: tuple[Check, ...] = CHECKS
    detector: str | None = None  # folder; None: the detector twoface ships
    frames: int = 32
    extra: int = 16
    explain: int = 4
    device: str = "cpu"
    threads: int = 1  # torch threads per worker: workers x threads should fit the cores
    match_list: str | None = None
    index: str | None = None  # near-duplicate index: inspect measures each video against
    #                           the source it finds there (twoface index)
    reports: bool = True
    detect_fields: dict[str, Any] = field(default_factory=dict)


def empty_row(item: Item) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(SCHEMA.names)
    row.update(key=item.key, path=item.path, sha256=item.sha256, size=item.size,
               seconds_hash=item.seconds_hash, error=item.error)
    return row


class Checker:
    """The models of one worker and the per-file check."""

    def __init__(self, config: ScanConfig, detector: Any = None) -> None:
        """``detector``: one to use instead of loading ``config.detector`` (Ray's
        :class:`~twoface.scan.ray_detector.RemoteDetector`)."""
        self.config = config
        self.scanner: Any = None
        if "detect" in config.checks:
            import torch

            from twoface.forensics.detect import DetectOptions, Scanner
            from twoface.models.detectors import DEFAULT_DIR

            torch.set_num_threads(max(1, config.threads))
            opts = DetectOptions(frames=config.frames, extra=config.extra,
                                 explain=config.explain if config.reports else 0,
                                 provenance="provenance" in config.checks,
                                 **config.detect_fields)
            if detector is not None:
                self.scanner = Scanner(detector, opts,
                                       detector_path=config.detector or DEFAULT_DIR)
            else:
                self.scanner = Scanner.from_pretrained(config.detector, opts,
                                                       device=config.device)
        self.hash_list = (HashList.read(config.match_list) if config.match_list is not None
                          else None)

    def check(self, item: Item) -> dict[str, Any]:
        """The row for ``item``; never raises for a problem with the file."""
        t0 = time.perf_counter()
        row = empty_row(item)
        row["worker"] = f"{os.uname().nodename}:{os.getpid()}"
        if item.error is None:
            try:
                self._check(Path(item.path), row)
            except Exception as exc:  # one bad file is a row, never the end of the scan
                row["error"] = _describe(exc)
        row["seconds_total"] = round(time.perf_counter() - t0 + item.seconds_hash, 3)
        row["rss_mb"] = rss_mb()
        return row

    def _check(self, path: Path, row: dict[str, Any]) -> None:
        from twoface.media import check_media, probe, read_image

        checks = self.config.checks
        kind = check_media(path)
        row["kind"] = kind
        t = time.perf_counter()
        if kind == "image":
            row["duration"] = 0.0
            row["pdq"], row["pdq_quality"] = pdq(read_image(path))
            hashes = [row["pdq"]] if row["pdq_quality"] >= MIN_QUALITY else []
        else:
            row["duration"] = round(probe(path).duration, 3)
            features = vpdq(path)
            row["vpdq"] = [f.line() for f in features]
            hashes = [f.hash for f in features if f.quality >= MIN_QUALITY]
        if self.hash_list is not None:
            found = self.hash_list.best(hashes)
            if found is not None:
                row["match"], row["match_distance"] = found
        row["seconds_hash"] = round(row["seconds_hash"] + time.perf_counter() - t, 3)
        if "detect" in checks:
            t = time.perf_counter()
            report = self.scanner.scan(path)
            row["seconds_detect"] = round(time.perf_counter() - t, 3)
            if report.get("provenance") is not None:
                row["provenance"] = report["provenance"]["status"]
            row.update(verdict=report["verdict"], probability_fake=report["probability_fake"],
                       certain=bool(report["certain"]), faces=int(report["faces"]))
            if self.config.reports:
                from twoface.forensics.detect_report import write_report

                rel = Path("reports") / str(row["key"])[:16]
                write_report(report, Path(self.config.results) / rel)
                row["report"] = (rel / "report.html").as_posix()
        elif "provenance" in checks:
            from twoface.provenance import verify_file

            t = time.perf_counter()
            row["provenance"] = verify_file(path)["status"]
            row["seconds_provenance"] = round(time.perf_counter() - t, 3)
        if "inspect" in checks and kind == "video":
            from twoface.forensics.shallow import inspect_video

            t = time.perf_counter()
            findings = inspect_video(path, index=self.config.index).findings
            row["seconds_inspect"] = round(time.perf_counter() - t, 3)
            row["findings"] = json.dumps([f.to_dict() for f in findings])
            # Edits only: the source's traits and the source match are context.
            row["findings_max"] = max((round(f.confidence, 3) for f in findings
                                       if not f.is_context), default=0.0)


def _describe(exc: Exception) -> str:
    from twoface.errors import TwofaceError

    if isinstance(exc, TwofaceError):
        return exc.problem
    return f"{type(exc).__name__}: {exc}"[:500]


def rss_mb() -> float | None:
    """This process's resident memory now (Linux), in MiB."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return round(pages * os.sysconf("SC_PAGE_SIZE") / 2**20, 1)
