"""Overfit one small batch (seed 004: "Overfitting small batch").

"A mini-batch is passed inside the network to see if it can overfit on it. If it cannot, it
means that the model is either too complex or not complex enough to even overfit on a small
batch, let alone a normal-sized training set." A healthy network memorizes 32 examples in a
few hundred steps; one that cannot has a bug between the data and the loss (labels not
aligned with inputs, a loss on the wrong tensor, frozen or detached layers) or a learning
rate or capacity problem, and every hour of full training would be wasted on it.

The check trains a copy (dropout off, no regularization) with Adam on the same batch until
its training error reaches ~0:

* classification: every example of the batch predicted right (logit > 0, or probability >
  0.5 when the outputs lie in [0, 1]; argmax for softmax) *and* the loss below 10% of the
  best constant prediction's, so that a batch of one class is not "memorized" at step 0;
* regression: the loss below 2% of the batch's target variance (R² ≥ 0.98).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from fullcycle.checks._common import (
    CheckResult,
    batch_for,
    clone_model,
    dropout_off,
    forward,
    infer_task,
    resolve_loss,
    trainable,
)
from fullcycle.checks.init_loss import constant_losses
from fullcycle.engine.losses import LossFn

REGRESSION_FRACTION = 0.02  # of the target variance: R² ≥ 0.98
CLASSIFICATION_FRACTION = 0.1  # of the best constant loss, with zero errors
_LOGIT_LOSSES = {"bce", "multilabel_bce", "cross_entropy"}


def batch_error(out: Tensor, y: Tensor, task: str, logits: bool | None = None) -> float | None:
    """Fraction of wrong predictions in the batch; None when the shapes do not tell."""
    out, y = out.detach(), y.detach()
    if task == "multiclass":
        if out.ndim != 2 or out.shape[0] != len(y):
            return None
        return float((out.argmax(1) != y.reshape(-1).long()).double().mean())
    if task in ("binary", "multilabel"):
        if out.numel() != y.numel():
            return None
        if logits is None:  # a user's loss: outputs in [0, 1] are probabilities
            logits = not bool(((out >= 0) & (out <= 1)).all())
        predicted = out.reshape(y.shape) > (0.0 if logits else 0.5)
        present = ~torch.isnan(y) if y.is_floating_point() else torch.ones_like(y, dtype=bool)
        wrong = (predicted != (y > 0.5)) & present
        return float(wrong.sum()) / max(int(present.sum()), 1)
    return None


def overfit_batch(model: nn.Module, data: Any, loss: str | LossFn, task: str | None = None, *,
                  batch_size: int = 32, max_steps: int = 500, lr: float = 1e-2,
                  seed: int = 0) -> CheckResult:
    """Train a copy on one batch of ``batch_size`` rows until its training error is ~0.

    ``value`` is the number of steps needed (None when the budget ran out); ``details``
    hold the criterion, the final loss and error, and the loss curve.
    """
    loss_fn = resolve_loss(loss)
    inputs, y = batch_for(model, data, batch_size, seed)
    copy = dropout_off(clone_model(model).train())
    optimizer = torch.optim.Adam([p for _, p in trainable(copy)], lr=lr)
    logits = (loss in _LOGIT_LOSSES) if isinstance(loss, str) else None
    history: list[float] = []
    error: float | None = None
    reached_at: int | None = None
    for step in range(max_steps + 1):
        out = forward(copy, inputs)
        value = loss_fn(out, y)
        history.append(float(value.detach()))
        if step == 0:
            task = task or infer_task(y, out)
            best, _ = constant_losses(y, out, task)
            reference = best if best > 1e-6 else history[0]
            fraction = REGRESSION_FRACTION if task == "regression" else CLASSIFICATION_FRACTION
            threshold = fraction * reference
        if not math.isfinite(history[-1]):
            break
        error = batch_error(out, y, task, logits)
        if history[-1] <= threshold and (error is None or error == 0.0):
            reached_at = step
            break
        if step < max_steps:
            optimizer.zero_grad(set_to_none=True)
            value.backward()
            optimizer.step()
    final = history[-1]
    details = {"rows": len(y), "threshold": threshold, "final_loss": final,
               "final_error": error, "initial_loss": history[0], "lr": lr,
               "losses": history[:: max(1, len(history) // 100)]}
    if reached_at is not None:
        wrong = "" if error is None else ", every example right"
        return CheckResult("overfit_batch", "pass", float(reached_at),
                           f"memorized {len(y)} examples in {reached_at} steps (loss "
                           f"{final:.2g} <= {threshold:.2g}{wrong})", details)
    if not math.isfinite(final):
        cause = (f"the loss became {final} after {len(history) - 1} steps: lower the learning "
                 "rate, check inputs for NaN/inf, or clip gradients")
    else:
        missed = "" if error is None else f", {error:.0%} of them still wrong"
        cause = (f"loss still {final:.3g} after {max_steps} steps (target {threshold:.2g}"
                 f"{missed}): check that labels line up with inputs and the loss gets the "
                 "model's outputs, that no layer is frozen or detached, and try another "
                 "learning rate or a bigger model")
    return CheckResult("overfit_batch", "fail", None, f"could not overfit {len(y)} examples: "
                       f"{cause}", details)
