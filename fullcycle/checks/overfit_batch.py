"""Overfit one small batch (seed 004: "Overfitting small batch").

"A mini-batch is passed inside the network to see if it can overfit on it. If it cannot, it
means that the model is either too complex or not complex enough to even overfit on a small
batch, let alone a normal-sized training set." A healthy network memorizes 32 examples in a
few hundred steps; one that cannot has a bug between the data and the loss (labels not
aligned with inputs, a loss on the wrong tensor, frozen or detached layers) or a learning
rate or capacity problem, and every hour of full training would be wasted on it.

The check trains a copy (dropout off, no regularization) with Adam on the same batch until
its loss falls below 2% of the best constant prediction's loss — for cross-entropy that
means every example predicted correctly with high confidence, for MSE an R² of 0.98.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from fullcycle.checks._common import (
    CheckResult,
    batch_for,
    clone_model,
    dropout_off,
    forward,
    infer_task,
    resolve_loss,
    short_training,
)
from fullcycle.checks.init_loss import constant_losses
from fullcycle.engine.losses import LossFn

TARGET_FRACTION = 0.02


def overfit_batch(model: nn.Module, data: Any, loss: str | LossFn, task: str | None = None, *,
                  batch_size: int = 32, max_steps: int = 500, lr: float = 1e-2,
                  seed: int = 0) -> CheckResult:
    """Train a copy on one batch of ``batch_size`` rows until its loss is ~0.

    ``value`` is the number of steps needed (None when the budget ran out); ``details``
    hold the threshold, the final loss and the loss curve.
    """
    loss_fn = resolve_loss(loss)
    inputs, y = batch_for(model, data, batch_size, seed)
    copy = dropout_off(clone_model(model).train())
    with torch.no_grad():
        out = forward(copy, inputs)
    best, _ = constant_losses(y, out, task or infer_task(y, out))
    initial = float(loss_fn(out, y))
    reference = best if best > 1e-6 else initial
    threshold = TARGET_FRACTION * reference
    history = short_training(
        copy, inputs, y, loss_fn, steps=max_steps, lr=lr, batch_size=len(y),
        seed=seed, stop=lambda _step, value: value <= threshold)
    final = history[-1] if history else math.nan
    details = {"rows": len(y), "threshold": threshold, "final_loss": final,
               "initial_loss": initial, "lr": lr, "losses": history[:: max(1, len(history) // 100)]}
    if math.isfinite(final) and final <= threshold:
        steps = len(history) - 1
        return CheckResult("overfit_batch", "pass", float(steps),
                           f"memorized {len(y)} examples in {steps} steps (loss {final:.2g} "
                           f"<= {threshold:.2g})", details)
    if not math.isfinite(final):
        cause = (f"the loss became {final} after {len(history)} steps: lower the learning "
                 "rate, check inputs for NaN/inf, or clip gradients")
    else:
        cause = (f"loss still {final:.3g} after {max_steps} steps (target {threshold:.2g}): "
                 "check that labels line up with inputs and the loss gets the model's "
                 "outputs, that no layer is frozen or detached, and try another learning "
                 "rate or a bigger model")
    return CheckResult("overfit_batch", "fail", None, f"could not overfit {len(y)} examples: "
                       f"{cause}", details)
