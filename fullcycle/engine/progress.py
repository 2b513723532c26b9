"""Rich progress bars for a fit: epochs and batches, with loss, dev metric and ETA.

The bars are redrawn at most every ``refresh_seconds`` (0.5 s: one redraw costs about a
millisecond of Rich rendering; between redraws a batch costs one clock read), and the running
loss is read from the device only at those moments, so the bars cost a hand-written loop's
speed nothing measurable (see benchmarks/train_throughput.py).
A line per epoch is printed above the bars, as Keras does, so the history stays on screen
(at most one a second when epochs are faster than that; always the last one). Outside a
terminal (a log file, CI) there are no bars to watch, so every epoch gets its line, as
Keras' ``verbose=2`` does; each line ends with the epoch's time at its own scale (12ms,
3.46s, 1m15s).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from fullcycle.engine.events import Callback

if TYPE_CHECKING:
    from fullcycle.engine.loop import TrainingLoop


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


def format_seconds(seconds: float) -> str:
    """A duration people read at a glance: ``12ms``, ``0.4ms``, ``3.46s``, ``1m15s``."""
    if seconds < 0.001:
        return f"{seconds * 1000:.1f}ms"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes}m{rest:02d}s"


class ProgressBar(Callback):
    """Two bars (epochs, batches of the current epoch) and a line per finished epoch."""

    order = 950
    rank_zero_only = True

    def __init__(self, console: Console | None = None, refresh_seconds: float = 0.5,
                 epoch_lines: bool = True, line_seconds: float = 1.0) -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.refresh_seconds, self.epoch_lines = refresh_seconds, epoch_lines
        self.line_seconds = line_seconds
        self._next_line = 0.0
        self._progress: Progress | None = None
        self._next = 0.0

    def before_fit(self, loop: TrainingLoop) -> None:
        self._progress = Progress(
            TextColumn("{task.description:>6}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn(), console=self.console, auto_refresh=False, transient=True,
        )
        # tasks first, then start: each add_task on a started display redraws it
        self._epochs = self._progress.add_task("epoch", total=loop.epochs,
                                               completed=loop.epoch, info="")
        self._batches = self._progress.add_task("batch", total=loop.steps_per_epoch, info="")
        self._progress.start()
        self._next = time.monotonic() + self.refresh_seconds

    def before_epoch(self, loop: TrainingLoop) -> None:
        if self._progress is not None:  # update, not reset: reset redraws at once
            self._progress.update(self._batches, total=loop.steps_per_epoch, completed=0,
                                  info="")

    def after_batch(self, loop: TrainingLoop) -> None:
        now = time.monotonic()
        if now < self._next or self._progress is None:
            return
        self._next = now + self.refresh_seconds
        self._progress.update(self._batches, completed=loop.batch_index + 1,
                              info=f"loss {_fmt(loop.mean_loss())}")
        self._progress.refresh()

    def after_epoch(self, loop: TrainingLoop) -> None:
        if self._progress is None:
            return
        logs = loop.logs
        parts = [f"train_loss {_fmt(logs.get('train_loss'))}"]
        if "dev_loss" in logs:
            parts.append(f"dev_loss {_fmt(logs.get('dev_loss'))}")
        if logs.get("dev_metric") is not None and isinstance(loop.metric, str):
            parts.append(f"dev_{loop.metric} {_fmt(logs.get('dev_metric'))}")
        info = "  ".join(parts)
        self._progress.update(self._epochs, completed=loop.epoch, info=info)
        self._progress.update(self._batches, completed=loop.steps_per_epoch)
        now = time.monotonic()
        every = not self.console.is_terminal  # a log keeps every line, a screen scrolls
        if self.epoch_lines and (every or now >= self._next_line or loop.epoch == loop.epochs
                                 or loop.stop_training):
            # at most one line a second (and always the last): epochs of a fraction of a
            # second would scroll the history away and spend their time rendering.
            # Printing above a live display redraws it, so no refresh is needed then.
            self._next_line = now + self.line_seconds
            mark = " *" if logs.get("best") else ""
            self._progress.console.print(
                f"epoch {loop.epoch}/{loop.epochs}  {info}  lr {_fmt(logs.get('lr'))}  "
                f"{format_seconds(logs.get('seconds', 0.0))}{mark}", soft_wrap=True
            )
        elif now >= self._next:  # redraws stay within refresh_seconds, epochs or batches
            self._progress.refresh()
        if now >= self._next:
            self._next = now + self.refresh_seconds

    def after_fit(self, loop: TrainingLoop) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
