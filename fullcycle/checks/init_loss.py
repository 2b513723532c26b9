"""Loss at initialization against the value it should start from.

Before any step, a network should be about as good as the best constant prediction: softmax
over C balanced classes gives ``ln C``, one logit of 0 gives ``ln 2``, and an MSE model
predicting the target mean gives the target variance (1 on a standardized target). Imbalanced
classes lower the best constant to the entropy of the class prior, ``−Σ p_c ln p_c``: a model
whose output bias holds the prior's log-odds starts there, one with zero logits starts at
``ln C`` and wastes its first steps learning the bias (the "hockey stick" loss curve). A loss
far above both means the output scale is wrong (logits too large, an unscaled target), and a
loss *below* every constant prediction before training means the targets leak into the
inputs or the loss is paired with the wrong labels.
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
)
from fullcycle.engine.losses import LossFn
from fullcycle.errors import FullcycleError

# Thresholds on init_loss / best-constant loss; random output weights alone add some loss
# (e.g. logits of std 1 add ≈ 0.2 nats to ln 2), hence the margin before a warning.
PASS_RATIO = 1.5
LOW_RATIO = 0.8
FAR_OFF = 3.0  # times the zero-output loss: beyond this the output scale is wrong
# A regression target whose mean is over 3 standard deviations from 0 (mean² > 9·var) starts
# 10× above its variance; Adam at 1e-3 needs ~mean/1e-3 steps just to move the bias there.
UNSCALED_RATIO = 10.0


def _entropy(p: Tensor) -> float:
    p = p[p > 0]
    return float(-(p * p.log()).sum())


def _binary_entropy(p: Tensor) -> Tensor:
    p = p.clamp(1e-12, 1 - 1e-12)
    return -(p * p.log() + (1 - p) * (1 - p).log())


def constant_losses(y: Tensor, out: Tensor, task: str) -> tuple[float, float]:
    """(best constant prediction's loss, zero-output loss) for the targets ``y``.

    The best constant is the class prior (its entropy) or the target mean (its variance);
    the zero output is uniform softmax (``ln C``), a logit of 0 (``ln 2``) or a prediction
    of 0 (``mean(y²)``).
    """
    y = y.detach().double()
    if task == "multiclass":
        n_classes = out.shape[-1] if out.ndim > 1 else int(y.max()) + 1
        codes = y.reshape(-1).long()
        if int(codes.min()) < 0 or int(codes.max()) >= n_classes:
            raise FullcycleError(f"the target holds class codes outside 0..{n_classes - 1} "
                                 f"but the model outputs {n_classes} scores; give the last "
                                 "layer one output per class")
        prior = torch.bincount(codes, minlength=n_classes).double() / len(codes)
        return _entropy(prior), math.log(n_classes)
    if task in ("binary", "multilabel"):
        y2 = y.reshape(len(y), -1)
        present = ~torch.isnan(y2)
        counts = present.sum(0).double()
        p = torch.where(present, y2, torch.zeros_like(y2)).sum(0) / counts.clamp(min=1)
        best = float((_binary_entropy(p) * counts).sum() / counts.sum().clamp(min=1))
        return best, math.log(2.0)
    if task == "regression":
        flat = y.reshape(len(y), -1)
        return float(flat.var(dim=0, unbiased=False).mean()), float(flat.pow(2).mean())
    raise FullcycleError(f"unknown task {task!r}; use regression, binary, multiclass or "
                         "multilabel")


def init_loss(model: nn.Module, data: Any, loss: str | LossFn, task: str | None = None, *,
              max_examples: int = 512, seed: int = 0) -> CheckResult:
    """Compare the loss before training with the best constant prediction's loss.

    ``value`` is the initial loss; ``details`` hold ``expected`` (best constant),
    ``uninformed`` (zero output) and their ratio. Pass within 1.5× of the expected value,
    warn when it starts near the uninformed value instead (set the output bias to the prior
    log-odds or target mean), fail when far above both (output scale) and warn when below
    the best constant (a leak or a label bug).
    """
    loss_fn = resolve_loss(loss)
    inputs, y = batch_for(model, data, max_examples, seed)
    copy = dropout_off(clone_model(model).train())
    with torch.no_grad():
        out = forward(copy, inputs)
        task = task or infer_task(y, out)
        expected, uninformed = constant_losses(y, out, task)  # validates class codes first
        value = float(loss_fn(out, y))
    ratio = value / expected if expected > 0 else math.inf
    details = {"task": task, "expected": expected, "uninformed": uninformed, "ratio": ratio}
    shown = f"loss at init {value:.4g}, expected {expected:.4g} ({_expected_name(task)})"
    if not math.isfinite(value):
        return CheckResult("init_loss", "fail", value, f"loss at init is {value}: the model "
                           "outputs non-finite values; check the inputs for NaN and the "
                           "initialization scale", details)
    if expected <= 1e-12:
        return CheckResult("init_loss", "warn", value, f"{shown}: the target is constant in "
                           "these rows, so there is nothing to learn; check the target column",
                           details)
    if ratio < LOW_RATIO:
        return CheckResult("init_loss", "warn", value, f"{shown}: lower than any constant "
                           "prediction before training; the target may leak into the inputs "
                           "or the loss may be paired with the wrong labels", details)
    if ratio <= PASS_RATIO:
        return CheckResult("init_loss", "pass", value, shown, details)
    if task == "regression" and value > UNSCALED_RATIO * expected and \
            uninformed > UNSCALED_RATIO * expected:
        return CheckResult("init_loss", "fail", value, f"{shown}, {ratio:.3g}x too high: the "
                           "target sits far from zero for its spread; standardize it (fc.prepare "
                           "does) or set the output bias to the target mean", details)
    if value <= FAR_OFF * uninformed:
        fix = ("set the output bias to the class prior's log-odds (or the target mean) and "
               "shrink the last layer's initial weights" if uninformed > PASS_RATIO * expected
               else "shrink the last layer's initial weights (He/Xavier scale) so outputs "
               "start near zero")
        return CheckResult("init_loss", "warn", value, f"{shown}, {ratio:.2g}x too high: "
                           f"{fix}", details)
    return CheckResult("init_loss", "fail", value, f"{shown}, {ratio:.3g}x too high: the output "
                       "scale is wrong; standardize the target, scale down the initial weights "
                       "or check that the loss receives logits, not probabilities", details)


def _expected_name(task: str) -> str:
    return {"multiclass": "entropy of the class prior; ln C when balanced",
            "binary": "entropy of the class prior; ln 2 when balanced",
            "multilabel": "mean entropy of the label priors",
            "regression": "target variance"}[task]
