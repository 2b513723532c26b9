"""Rich progress bars for a fit: epochs and batches, with loss, dev metric and ETA.

The bars are redrawn at most every ``refresh_seconds`` (a clock read per batch, nothing
else), and the running loss is read from the device only at those moments, so the bars
cost a hand-written loop's speed nothing measurable (see benchmarks/train_throughput.py).
One line per epoch is printed above the bars, as Keras does, so the history stays on screen.
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


class ProgressBar(Callback):
    """Two bars (epochs, batches of the current epoch) and a line per finished epoch."""

    order = 950

    def __init__(self, console: Console | None = None, refresh_seconds: float = 0.25,
                 epoch_lines: bool = True) -> None:
        self.console = console or Console(stderr=False, highlight=False)
        self.refresh_seconds, self.epoch_lines = refresh_seconds, epoch_lines
        self._progress: Progress | None = None
        self._next = 0.0

    def before_fit(self, loop: TrainingLoop) -> None:
        self._progress = Progress(
            TextColumn("{task.description:>6}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"), TimeElapsedColumn(), TextColumn("eta"),
            TimeRemainingColumn(), console=self.console, auto_refresh=False, transient=True,
        )
        self._progress.start()
        self._epochs = self._progress.add_task("epoch", total=loop.epochs,
                                               completed=loop.epoch, info="")
        self._batches = self._progress.add_task("batch", total=loop.steps_per_epoch, info="")

    def before_epoch(self, loop: TrainingLoop) -> None:
        if self._progress is not None:
            self._progress.reset(self._batches, total=loop.steps_per_epoch, info="")
            self._next = time.monotonic() + self.refresh_seconds

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
        if self.epoch_lines:
            mark = " *" if logs.get("best") else ""
            self._progress.console.print(
                f"epoch {loop.epoch}/{loop.epochs}  {info}  lr {_fmt(logs.get('lr'))}  "
                f"{logs.get('seconds', 0.0):.1f}s{mark}", soft_wrap=True
            )
        self._progress.refresh()

    def after_fit(self, loop: TrainingLoop) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
