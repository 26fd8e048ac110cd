"""What every demo stage shares: the run context and two HTML helpers."""

from __future__ import annotations

import base64
import html
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DemoContext:
    root: Path
    seconds: float
    progress: bool
    videos: dict[str, Path] = field(default_factory=dict)
    facesets: dict[str, Path] = field(default_factory=dict)
    generated: list[Path] = field(default_factory=list)  # media the demo made (all marked)
    fakes: dict[str, Path] = field(default_factory=dict)  # method → a fake it made
    sections: list[str] = field(default_factory=list)  # HTML fragments for the report
    timings: dict[str, float] = field(default_factory=dict)


Stage = Callable[[DemoContext], None]

# Two synthetic people; seeds chosen once so the demo is the same on every machine.
IDENTITIES = {"alice": 11, "bob": 23}


def img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.name)}" src="data:image/png;base64,{data}">'


def link(ctx: DemoContext, path: Path) -> str:
    rel = path.relative_to(ctx.root).as_posix()
    return f'<a href="{html.escape(rel)}">{html.escape(rel)}</a>'
