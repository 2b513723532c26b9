"""A transferred network's new head fitted as a linear probe before its first gradient step.

Seed 003 replaces the last layer with "a fresh new layer" and trains it. Started at random,
that head sends large, noisy gradients into whatever layers are unfrozen. Kumar et al. 2022
("Fine-tuning can distort pretrained features", LP-FT) measure the fix: fit the head as a
linear probe first, then fine-tune. Kornblith et al. 2019 ("Do better ImageNet models
transfer better?") fit that probe as an L2-regularized logistic regression with the strength
chosen on held-out data.

This module does the same with scikit-learn. The features are the output layer's inputs,
read with the network in inference mode and standardized. The strength comes from a
log-scale ladder (seed 000: search on a log scale), scored by stratified k-fold log loss on
the training rows only, so dev stays untouched. The coefficients are folded back through the
standardization and written into the output layer. Multilabel targets get one probe per
label, fitted on the rows where that label is known; regression gets a ridge.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import log_loss
from sklearn.model_selection import KFold, StratifiedKFold
from torch import nn

from fullcycle.models.mlp import output_layer

C_LADDER = tuple(float(c) for c in np.logspace(-3, 1, 9))  # inverse L2 strength, ×√10 apart
ALPHA_LADDER = tuple(float(a) for a in np.logspace(-1, 3, 9))  # ridge
FOLDS = 5
MAX_ITER = 2000


@dataclass(frozen=True)
class Probe:
    """The output layer's fitted weights (outputs × features), biases, and how they were
    chosen (the strength per output and its cross-validated loss)."""

    weight: np.ndarray
    bias: np.ndarray
    strengths: tuple[float, ...]
    cv_losses: tuple[float, ...]
    rows: int

    def describe(self) -> str:
        values = ", ".join(f"{s:.3g}" for s in self.strengths)
        return (f"a linear probe on {self.rows} training rows × {self.weight.shape[1]} "
                f"features (strength {values}, chosen by {FOLDS}-fold cross-validation "
                "on the training rows)")


@torch.no_grad()
def head_inputs(model: nn.Module, batches: Iterable[torch.Tensor]) -> np.ndarray:
    """What the output layer reads for each input, with the network in inference mode."""
    layer = output_layer(model)
    seen: list[torch.Tensor] = []
    hook = layer.register_forward_pre_hook(lambda _m, args: seen.append(args[0].detach()))
    was_training = model.training
    model.eval()
    try:
        for x in batches:
            model(x)
    finally:
        hook.remove()
        model.train(was_training)
    return torch.cat(seen).double().numpy() if seen else np.zeros((0, layer.in_features))


def fit_probe(features: np.ndarray, y: np.ndarray, task: str, n_outputs: int,
              seed: int = 0) -> Probe | None:
    """The probe for `task` (binary / multiclass / multilabel / regression), or None when
    the rows cannot support one (a single class, or too few rows for the folds)."""
    if task not in ("binary", "multiclass", "multilabel", "regression"):
        return None  # several heads side by side: each would need its own probe
    X = np.asarray(features, dtype=np.float64)
    mean = X.mean(axis=0)
    scale = X.std(axis=0)
    scale[scale < 1e-8] = 1.0  # a feature that never changes carries nothing
    Z = (X - mean) / scale
    y = np.asarray(y)
    if task == "multilabel":
        columns = [_one(Z, y[:, j], "binary", 1, seed) for j in range(y.shape[1])]
        if any(c is None for c in columns):
            return None
        fitted = [c for c in columns if c is not None]
        weight = np.vstack([w for w, _, _, _ in fitted])
        bias = np.concatenate([b for _, b, _, _ in fitted])
        strengths = tuple(s for _, _, s, _ in fitted)
        losses = tuple(loss for _, _, _, loss in fitted)
    else:
        one = _one(Z, y, task, n_outputs, seed)
        if one is None:
            return None
        weight, bias, strength, loss = one
        strengths, losses = (strength,), (loss,)
    weight = weight / scale  # undo the standardization: w·(x − μ)/σ + b
    bias = bias - weight @ mean
    return Probe(weight, bias, strengths, losses, len(X))


def _one(Z: np.ndarray, y: np.ndarray, task: str, n_outputs: int, seed: int
         ) -> tuple[np.ndarray, np.ndarray, float, float] | None:
    known = ~np.isnan(y.astype(np.float64)) if task != "multiclass" else slice(None)
    Z, y = Z[known], y[known]
    if task == "regression":
        y = y.astype(np.float64).reshape(len(y), -1)
        if len(y) < FOLDS:
            return None
        folds = list(KFold(FOLDS, shuffle=True, random_state=seed).split(Z))
        def squared(m: Any, Zv: np.ndarray, yv: np.ndarray) -> float:
            return float(np.mean((m.predict(Zv).reshape(yv.shape) - yv) ** 2))

        strength, loss = _best(ALPHA_LADDER, folds, lambda a: Ridge(alpha=a), squared, Z, y)
        model = Ridge(alpha=strength).fit(Z, y)
        return (np.atleast_2d(model.coef_), np.atleast_1d(model.intercept_), strength, loss)
    y = y.astype(np.int64)
    counts = np.bincount(y)
    present = counts[counts > 0]
    if len(present) < 2 or present.min() < 2:
        return None
    n_folds = int(min(FOLDS, present.min()))
    folds = list(StratifiedKFold(n_folds, shuffle=True, random_state=seed).split(Z, y))
    labels = np.unique(y)

    def build(c: float) -> LogisticRegression:
        return LogisticRegression(C=c, max_iter=MAX_ITER)

    def score(m: Any, Zv: np.ndarray, yv: np.ndarray) -> float:
        return float(log_loss(yv, m.predict_proba(Zv), labels=labels))

    strength, loss = _best(C_LADDER, folds, build, score, Z, y)
    model = build(strength).fit(Z, y)
    if task == "binary":
        return model.coef_.reshape(1, -1), model.intercept_.reshape(1), strength, loss
    # multiclass: one row of logits per class; a class absent from these rows gets a
    # large negative bias (it was never seen, so it should not be predicted)
    weight = np.zeros((n_outputs, Z.shape[1]))
    bias = np.full(n_outputs, -10.0)
    coef, intercept = model.coef_, model.intercept_
    if len(model.classes_) == 2:  # scikit-learn keeps one row for two classes: split it
        coef, intercept = np.vstack([-coef / 2, coef / 2]), np.concatenate([-intercept / 2,
                                                                            intercept / 2])
    weight[model.classes_] = coef
    bias[model.classes_] = intercept
    return weight, bias, strength, loss


def _best(ladder: tuple[float, ...], folds: list, build: Any, score: Any, Z: np.ndarray,
          y: np.ndarray) -> tuple[float, float]:
    """The strength with the lowest mean validation loss over `folds`."""
    losses = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for strength in ladder:
            losses[strength] = float(np.mean([
                score(build(strength).fit(Z[fit], y[fit]), Z[val], y[val])
                for fit, val in folds]))
    best = min(ladder, key=lambda s: losses[s])
    return best, losses[best]


@torch.no_grad()
def set_head(model: nn.Module, probe: Probe) -> None:
    """Write the probe into the output layer (its shape must match)."""
    layer = output_layer(model)
    weight = torch.as_tensor(probe.weight, dtype=layer.weight.dtype)
    if tuple(weight.shape) != tuple(layer.weight.shape):
        raise ValueError(f"probe of shape {tuple(weight.shape)} for an output layer of "
                         f"{tuple(layer.weight.shape)}")
    layer.weight.copy_(weight)
    if layer.bias is not None:
        layer.bias.copy_(torch.as_tensor(probe.bias, dtype=layer.bias.dtype))
