"""Rich progress bars, one recipe for every long job."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text


class RateColumn(ProgressColumn):
    """Items per second, with the unit named by the task's ``unit`` field."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        unit = task.fields.get("unit", "it")
        return Text(f"{speed:6.1f} {unit}/s" if speed else f"   ... {unit}/s", style="cyan")


class _Progress(Progress):
    def stop(self) -> None:
        if self.tasks or self.disable:
            super().stop()
            return
        # Stopped before any task was added (an input refused up front, say): off a terminal
        # Rich would end the empty display with a newline, a blank line before the error.
        self.live.transient = True
        self.live.stop()


def progress_bar(*, enabled: bool = True, console: Console | None = None) -> Progress:
    """A progress display with count, rate and time left; ``enabled=False`` shows nothing."""
    return _Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    RateColumn(), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console or Console(stderr=True), disable=not enabled,
                    transient=False)
