"""The guards the recipe trains with: clipping, the NaN/divergence guard, early stopping,
checkpoints. Each is a `Callback`; `fit` adds them from its keyword arguments.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from fullcycle.engine.checkpoint import save_checkpoint
from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError
from fullcycle.ewma import EWMA

if TYPE_CHECKING:
    from fullcycle.engine.loop import TrainingLoop


class TrainingDiverged(RuntimeError):  # noqa: N818 - reads as what happened
    """Training kept producing NaN/inf or an exploding loss after every rate reduction.

    Not a user input error: the data and flags were valid, the optimization failed. The
    message says what was tried and what to try next.
    """


# Batch losses are floored here before their logarithm: a batch can reach an exact 0 (a
# memorized batch in float32), and ln 0 would pin the average at −∞.
_TINY_LOSS = 1e-30


class GradientClipping(Callback):
    """Clip gradients by global norm and/or by value after backward (seed 001: "a blunt but
    effective way of dealing with exploding gradients")."""

    order = 10

    def __init__(self, max_norm: float | None = None, max_value: float | None = None, *,
                 reason: str | None = None) -> None:
        if max_norm is None and max_value is None:
            raise FullcycleError("gradient clipping needs clip_norm or clip_value")
        for label, v in (("clip_norm", max_norm), ("clip_value", max_value)):
            if v is not None and not v > 0:
                raise FullcycleError(f"{label} must be positive, got {v}")
        self.max_norm, self.max_value = max_norm, max_value
        self.reason = reason  # set when clipping was turned on by default: then it is said
        self._params: list[torch.Tensor] = []

    def before_fit(self, loop: TrainingLoop) -> None:
        self._params = [p for p in loop.model.parameters() if p.requires_grad]
        if self.reason and not any(d["kind"] == "gradient_clipping" for d in loop.decisions):
            loop.record_decision("gradient_clipping", "recurrent network",
                                 f"clip gradients at global norm {self.max_norm:g}",
                                 self.reason, max_norm=self.max_norm)

    def after_backward(self, loop: TrainingLoop) -> None:
        if self.max_value is not None:
            torch.nn.utils.clip_grad_value_(self._params, self.max_value)
        if self.max_norm is not None:
            torch.nn.utils.clip_grad_norm_(self._params, self.max_norm)


class NanGuard(Callback):
    """Catch NaN/inf or a diverging loss, go back to the epoch's start, lower the rate.

    Every ``check_every`` batches (and at each epoch's last batch) the batch losses since the
    last check are read in one host sync, so a NaN/inf fails at once and the cost stays one
    sync per ``check_every`` batches.

    Divergence is judged on a *smoothed* loss, so one outlier batch cannot end a healthy fit:
    the batch losses enter a bias-corrected exponentially weighted average (`fullcycle.ewma`,
    β = ``smoothing``; 0.98 remembers ~50 batches, the LR finder's smoothing) of their
    *logarithm* — a running geometric mean. An arithmetic average still moves by 2% of any
    one batch: the single batch at ~300× the loss that a 50σ row gives (issue 11, "loss rose
    to 19.97, over 10× its best") would still trip it; in log space that batch moves the
    average by 0.02·ln 300 ≈ 12%, while a real explosion, where every batch is far above,
    crosses the threshold within ~15 batches. The fit diverges when the smoothed loss
    exceeds ``divergence_ratio`` × the lowest of the first batch's loss (the loss at
    initialization) and the smoothed loss at the end of each epoch (fastai's LR finder stops
    at 4× the minimum of a smoothed loss; 10× leaves room for the noise of a shuffled epoch),
    and is above that initial loss too. That ratio rule needs a positive cost (every built-in
    loss); a custom cost that starts ≤ 0 is only guarded against NaN/inf.

    On failure: restore the state saved at the start of the epoch (weights, optimizer,
    schedule, the smoothed loss), multiply the learning rate by ``factor`` (0.1: one order of
    magnitude, the step of the log-scale rate search of seed 000), record the decision and
    redo the epoch. After ``max_retries`` consecutive failures, raise `TrainingDiverged`.

    Its cost is one snapshot per epoch (~0.1 ms for a small MLP with Adam) and a counter
    per batch: about 2% of `fit`'s CPU time for a 10-16-1 net on 16-batch epochs, where it
    weighs most, and nothing measurable on larger ones (benchmarks/train_throughput.py).
    A first `fit` in a process is slower with or without it: torch imports its compiler
    stack when the first optimizer is built (seconds, once).
    """

    order = 20

    def __init__(self, factor: float = 0.1, max_retries: int = 3, check_every: int = 16,
                 divergence_ratio: float = 10.0, smoothing: float = 0.98) -> None:
        self.factor, self.max_retries = factor, max_retries
        self.check_every, self.divergence_ratio = max(1, check_every), divergence_ratio
        self.failures = 0
        self.reference: float | None = None
        self.initial: float | None = None
        self.log_loss = EWMA(smoothing)  # of ln(batch loss)
        self._snapshot: dict[str, Any] | None = None
        self._at_epoch_start = (0.0, 0)
        self._losses: list[torch.Tensor] = []  # this chunk's batch losses, on the device

    def before_epoch(self, loop: TrainingLoop) -> None:
        self._snapshot = loop.snapshot()
        self._at_epoch_start = (self.log_loss.raw, self.log_loss.steps)
        self._losses = []

    def after_batch(self, loop: TrainingLoop) -> None:
        self._losses.append(loop.loss.detach())
        last = loop.batch_index + 1 == loop.steps_per_epoch
        if not last and len(self._losses) < self.check_every and self.reference is not None:
            return
        losses = torch.stack(self._losses).double().tolist()  # the one host sync
        self._losses = []
        bad = next((v for v in losses if not math.isfinite(v)), None)
        if bad is not None:
            self._fail(loop, f"the training loss became {bad}")
            return
        if self.initial is None:
            self.initial = self.reference = losses[0]
        if self.initial <= 0:
            return  # a cost that can be ≤ 0: no "times its best" to judge
        for value in losses:
            self.log_loss.update(math.log(max(value, _TINY_LOSS)))
        smoothed = self.smoothed
        if smoothed > self.divergence_ratio * self.reference and smoothed > self.initial:
            # A loss still below its value at initialization is noise around a memorized
            # training set (1e-5 → 2e-4), not an explosion.
            self._fail(loop, f"the smoothed training loss rose to {smoothed:.4g}, over "
                             f"{self.divergence_ratio:g}x its best {self.reference:.4g}")

    @property
    def smoothed(self) -> float:
        """The running geometric mean of the batch losses (NaN before the first)."""
        return math.exp(self.log_loss.value) if self.log_loss.steps else math.nan

    def after_epoch(self, loop: TrainingLoop) -> None:
        self.failures = 0
        if self.log_loss.steps and self.reference is not None:
            self.reference = min(self.reference, self.smoothed)

    def _fail(self, loop: TrainingLoop, what: str) -> None:
        self.failures += 1
        where = f"epoch {loop.epoch}, batch {loop.batch_index + 1}"
        if self.failures > self.max_retries or self._snapshot is None:
            lr = loop.optimizer.param_groups[0]["lr"]
            loop.record_decision(
                "nan_guard", f"{what} at {where}", "gave up",
                f"{self.failures - 1} restarts with a lower learning rate did not help")
            raise TrainingDiverged(
                f"training diverged: {what} at {where}, still after lowering the learning "
                f"rate {self.max_retries} times to {lr:.3g}; check the data for extreme values, "
                f"standardize the inputs, clip gradients (clip_norm=1.0) or start from a rate "
                f"found with the LR finder"
            )
        loop.restore(self._snapshot)
        self.log_loss.raw, self.log_loss.steps = self._at_epoch_start
        self._losses = []
        old, new = loop.scale_lr(self.factor)
        loop.restart_epoch = True
        loop.record_decision(
            "nan_guard", f"{what} at {where}",
            f"restored the state from the start of epoch {loop.epoch} and lowered the "
            f"learning rate from {old:.3g} to {new:.3g}",
            "a loss that turns NaN/inf or explodes means steps too large for the surface "
            "(exploding gradients, seed 001); a smaller rate from the last good state recovers",
            lr_before=old, lr_after=new, attempt=self.failures)

    def state_dict(self) -> dict[str, Any]:
        return {"failures": self.failures, "reference": self.reference,
                "initial": self.initial,
                "log_loss": [self.log_loss.raw, self.log_loss.steps]}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.failures, self.reference = state["failures"], state["reference"]
        self.initial = state.get("initial", self.reference)  # checkpoints before smoothing
        self.log_loss.raw, self.log_loss.steps = state.get("log_loss", (0.0, 0))


class EarlyStopping(Callback):
    """Stop when the dev error has not improved for ``patience`` epochs (seed 002).

    The best epoch's weights are restored at the end of every fit with dev data, whether or
    not training stopped early; ``monitor`` and ``min_delta`` define "improved" for that too.
    """

    order = 30

    def __init__(self, patience: int = 5, min_delta: float = 0.0,
                 monitor: str = "dev_error") -> None:
        if patience < 1:
            raise FullcycleError(f"early stopping patience must be at least 1, got {patience}")
        if monitor not in ("dev_error", "dev_loss", "train_loss"):
            raise FullcycleError(
                f"early stopping can monitor dev_error, dev_loss or train_loss, not {monitor!r}"
            )
        self.patience, self.min_delta, self.monitor = patience, min_delta, monitor
        self.stopped_epoch: int | None = None

    def after_epoch(self, loop: TrainingLoop) -> None:
        if loop.best_epoch is None or loop.epoch - loop.best_epoch < self.patience:
            return
        loop.stop_training = True
        self.stopped_epoch = loop.epoch
        loop.logs["stopped_early"] = True
        loop.record_decision(
            "early_stopping",
            f"{self.monitor} has not improved for {self.patience} epochs "
            f"(best {loop.best_value:.4g} at epoch {loop.best_epoch})",
            f"stopped after epoch {loop.epoch} and restored the weights of epoch "
            f"{loop.best_epoch}",
            "training longer only fits the training set more closely (seed 002)")

    def state_dict(self) -> dict[str, Any]:
        return {"stopped_epoch": self.stopped_epoch}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.stopped_epoch = state["stopped_epoch"]


class Checkpoint(Callback):
    """Save the complete training state atomically after every epoch (see `checkpoint`).

    Runs after every other callback, so what it saves includes their end-of-epoch state
    and the journal already holds the epoch being saved. `every_seconds`: save at the end
    of the first epoch that ends that long after the last save instead (the autopilot's
    many short fits would spend more time checkpointing than training; a fit that ends is
    then recorded by its caller, not by a last checkpoint). Passed to `fit` in
    ``callbacks``, it replaces the every-epoch one ``checkpoint_dir`` would add.
    """

    order = 1000
    rank_zero_only = True

    def __init__(self, directory: str | Path, every: int = 1,
                 every_seconds: float | None = None) -> None:
        self.directory, self.every = Path(directory), max(1, every)
        self.every_seconds = every_seconds
        self._last_save = time.monotonic()

    def before_fit(self, loop: TrainingLoop) -> None:
        self._last_save = time.monotonic()

    def after_epoch(self, loop: TrainingLoop) -> None:
        if self.every_seconds is not None:
            if time.monotonic() - self._last_save >= self.every_seconds:
                save_checkpoint(self.directory, loop)
                self._last_save = time.monotonic()
        elif loop.epoch % self.every == 0 or loop.stop_training or loop.epoch == loop.epochs:
            save_checkpoint(self.directory, loop)
