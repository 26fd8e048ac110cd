"""Write a benchmark's numbers into BENCHMARKS.md, replacing that benchmark's own section."""

from __future__ import annotations

import datetime as dt
import platform
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data" / "faces"


def machine() -> str:
    import os

    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch.__version__}, {dt.date.today().isoformat()}")


def write_section(title: str, body: str, path: Path = ROOT / "BENCHMARKS.md") -> None:
    """Replace (or append) the ``## title`` section of BENCHMARKS.md with ``body``."""
    text = path.read_text("utf-8") if path.exists() else "# Benchmarks\n\n"
    section = f"## {title}\n\n{body.strip()}\n\n"
    pattern = re.compile(rf"^## {re.escape(title)}\n.*?(?=^## |\Z)", re.S | re.M)
    text = pattern.sub(lambda _: section, text) if pattern.search(text) else text + section
    path.write_text(text, "utf-8")
