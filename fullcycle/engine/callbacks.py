"""The guards the recipe trains with: clipping, the NaN/divergence guard, early stopping,
checkpoints. Each is a `Callback`; `fit` adds them from its keyword arguments.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from fullcycle.engine.checkpoint import save_checkpoint
from fullcycle.engine.events import Callback
from fullcycle.errors import FullcycleError

if TYPE_CHECKING:
    from fullcycle.engine.loop import TrainingLoop


class TrainingDiverged(RuntimeError):  # noqa: N818 - reads as what happened
    """Training kept producing NaN/inf or an exploding loss after every rate reduction.

    Not a user input error: the data and flags were valid, the optimization failed. The
    message says what was tried and what to try next.
    """


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

    Every ``check_every`` batches (and at each epoch's last batch) the epoch's running loss is
    read once: it turns NaN/inf as soon as one batch did, so no batch escapes the check
    even though only a few are synced. It diverges when the running mean exceeds
    ``divergence_ratio`` × the lowest of the first batch's loss (the loss at initialization)
    and the best epoch's training loss (fastai's LR finder stops at 4× the minimum of a
    smoothed loss; an epoch's running mean is noisier early on, so a wider 10× is used).

    On failure: restore the state saved at the start of the epoch (weights, optimizer,
    schedule), multiply the learning rate by ``factor`` (0.1: one order of magnitude, the
    step of the log-scale rate search of seed 000), record the decision and redo the epoch.
    After ``max_retries`` consecutive failures, raise `TrainingDiverged`.
    """

    order = 20

    def __init__(self, factor: float = 0.1, max_retries: int = 3, check_every: int = 16,
                 divergence_ratio: float = 10.0) -> None:
        self.factor, self.max_retries = factor, max_retries
        self.check_every, self.divergence_ratio = max(1, check_every), divergence_ratio
        self.failures = 0
        self.reference: float | None = None
        self.initial: float | None = None
        self._snapshot: dict[str, Any] | None = None
        self._last = 0

    def before_epoch(self, loop: TrainingLoop) -> None:
        self._snapshot = loop.snapshot()

    def after_batch(self, loop: TrainingLoop) -> None:
        last = loop.batch_index + 1 == loop.steps_per_epoch
        if not last and (loop.batch_index + 1) % self.check_every and self.reference is not None:
            return
        mean = loop.mean_loss()
        if not math.isfinite(mean):
            self._fail(loop, f"the training loss became {mean}")
        elif self.reference is None:
            self.reference = self.initial = mean
        elif (self.reference > 0 and mean > self.divergence_ratio * self.reference
              and mean > (self.initial or 0.0)):
            # A loss still below its value at initialization is noise around a memorized
            # training set (1e-5 → 2e-4), not an explosion.
            self._fail(loop, f"the training loss rose to {mean:.4g}, over "
                             f"{self.divergence_ratio:g}x its best {self.reference:.4g}")

    def after_epoch(self, loop: TrainingLoop) -> None:
        self.failures = 0
        loss = loop.logs.get("train_loss")
        if loss is not None and math.isfinite(loss):
            self.reference = loss if self.reference is None else min(self.reference, loss)

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
        return {"failures": self.failures, "reference": self.reference}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.failures, self.reference = state["failures"], state["reference"]


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
    and the journal already holds the epoch being saved.
    """

    order = 1000

    def __init__(self, directory: str | Path, every: int = 1) -> None:
        self.directory, self.every = Path(directory), max(1, every)

    def after_epoch(self, loop: TrainingLoop) -> None:
        if loop.epoch % self.every == 0 or loop.stop_training or loop.epoch == loop.epochs:
            save_checkpoint(self.directory, loop)
