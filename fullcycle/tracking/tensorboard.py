"""TensorBoard scalars: a live callback for fits, and a run directory's epochs per experiment.

Written with PyTorch's own `torch.utils.tensorboard.SummaryWriter` (it needs the
``tensorboard`` package: ``pip install 'fullcycle[tensorboard]'``); ``tensorboard --logdir
DIR`` shows them. One scalar per epoch metric (``train_loss``, ``dev_loss``, ``dev_error``,
``lr``...) at ``step=epoch``; the decisions as text.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError
from fullcycle.tracking import numeric_items, require

if TYPE_CHECKING:
    from torch.utils.tensorboard import SummaryWriter

    from fullcycle.engine.loop import TrainingLoop


def writer(log_dir: str | Path) -> SummaryWriter:
    require("tensorboard", "--tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    return SummaryWriter(log_dir=str(log_dir))


def _write_epoch(out: SummaryWriter, row: dict[str, Any], epoch: int) -> None:
    for key, value in numeric_items(row).items():
        if key != "epoch":
            out.add_scalar(key, value, epoch)


class TensorBoardCallback(Callback):
    """Per-epoch scalars of one fit in ``log_dir``; the decisions as text at the end."""

    order = 960
    rank_zero_only = True

    def __init__(self, log_dir: str | Path) -> None:
        require("tensorboard", "--tensorboard")
        self.log_dir = Path(log_dir)
        self._writer: SummaryWriter | None = None

    def before_fit(self, loop: TrainingLoop) -> None:
        self._writer = writer(self.log_dir)
        for row in loop.history:  # a resumed fit's earlier epochs
            _write_epoch(self._writer, row, row["epoch"])

    def after_epoch(self, loop: TrainingLoop) -> None:
        assert self._writer is not None
        _write_epoch(self._writer, loop.logs, loop.epoch)
        self._writer.flush()

    def after_fit(self, loop: TrainingLoop) -> None:
        if self._writer is None:
            return
        for i, d in enumerate(loop.decisions, 1):
            self._writer.add_text("decisions", f"{d['kind']}: {d['action']} — {d['reason']}", i)
        self._writer.close()
        self._writer = None


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:60] or "experiment"


def log_run_directory(run_dir: str | Path, log_dir: str | Path) -> Path:
    """Scalars of every experiment of a run directory's latest run, one sub-folder each."""
    from fullcycle.rundir import RunDir

    rundir = RunDir(run_dir)
    journal = rundir.journal
    runs = journal.runs()
    if not runs:
        raise FullcycleError(f"{rundir.path} holds no journaled run to log; run it first")
    run = runs[-1]
    root = Path(log_dir) / rundir.path.name
    for i, exp in enumerate(journal.experiments(run["id"]), 1):
        out = writer(root / f"{i:03d}-{_slug(exp['name'])}")
        for row in journal.epochs(exp["id"]):
            _write_epoch(out, row, row["epoch"])
        out.add_text("reason", exp.get("reason") or "", 0)
        out.close()
    decisions = writer(root)
    for i, d in enumerate(journal.decisions(run["id"]), 1):
        decisions.add_text("decisions", f"{d['kind']}: {d['action']} — {d['reason']}", i)
    decisions.close()
    return root
