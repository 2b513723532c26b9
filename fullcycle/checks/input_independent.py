"""Input-independent baseline: does the model do better with its inputs than without?

Train the same network from the same initialization twice, briefly: once on the real inputs
and once on inputs set to zero, then compare the two on rows neither saw. The zeroed model
can only learn the output bias (the class prior, the target mean); if the real inputs do no
better, the features carry no signal the model can use yet — or the pipeline drops them
(wrong columns, a scaler that zeroes everything, inputs never passed to ``forward``).
Seed 001, step 3: "the training inputs simply may not have the right information to predict
the output".

The comparison is paired, row by row: a one-sided paired t-test (SciPy) on the held-out
rows' loss differences. On an imbalanced table the prior alone already earns most of the
loss a model can save, so real signal can cut the mean loss by less than `MIN_GAIN`; a cut
that the rows' differences make significant (p < `MAX_P`) still shows the inputs are used.
The test is on the mean, not a rank test: the majority class's rows would outvote the rest
in a signed-rank test, and the claim is about the mean loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from fullcycle.checks._common import (
    CheckResult,
    batch_for,
    clone_model,
    dropout_off,
    resolve_loss,
    row_losses,
    short_training,
    take,
)
from fullcycle.engine.losses import LossFn

# The real inputs must cut the held-out loss by at least this fraction to count as signal,
# or by less but consistently across rows (the paired test below this p-value).
MIN_GAIN = 0.05
MAX_P = 0.01
# Held-out loss this much worse with the inputs than without: the model memorized noise.
OVERFIT_RATIO = 1.5


def paired_p(gains: np.ndarray) -> float:
    """One-sided p-value that the mean of the per-row `gains` is positive (a one-sample
    t-test on the paired differences; 1.0 when they do not vary)."""
    from scipy.stats import ttest_1samp

    if len(gains) < 2 or not np.std(gains) > 0:
        return 1.0
    return float(ttest_1samp(gains, 0.0, alternative="greater").pvalue)


def input_independent(model: nn.Module, data: Any, loss: str | LossFn, *,
                      max_examples: int = 1024, steps: int = 150, lr: float = 3e-3,
                      batch_size: int = 64, seed: int = 0) -> CheckResult:
    """Compare held-out loss after brief training on real versus zeroed inputs.

    A quarter of the rows (at least 8) is held out. ``value`` is the ratio of held-out
    losses, real / zeroed: below 0.95 passes, and so does a smaller gain that the paired test
    finds consistent (module docstring); otherwise a warning.
    """
    loss_fn = resolve_loss(loss)
    inputs, y = batch_for(model, data, max_examples, seed)
    n = len(y)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    n_held = max(8, n // 4)
    if n - n_held < 8:
        return CheckResult("input_independent", "warn", None, f"only {n} rows: give at "
                           "least 16 to compare real inputs with zeroed ones")
    (x_fit, y_fit), (x_held, y_held) = take(inputs, y, order[n_held:]), take(
        inputs, y, order[:n_held])
    zero_fit = tuple(torch.zeros_like(t) for t in x_fit)
    zero_held = tuple(torch.zeros_like(t) for t in x_held)
    rows: dict[str, np.ndarray] = {}
    for kind, fit_x, held_x in (("real", x_fit, x_held), ("zeroed", zero_fit, zero_held)):
        copy = dropout_off(clone_model(model).train())
        short_training(copy, fit_x, y_fit, loss_fn, steps=steps, lr=lr,
                       batch_size=min(batch_size, len(y_fit)), seed=seed)
        rows[kind] = row_losses(copy, held_x, y_held, loss_fn)
    known = np.isfinite(rows["real"]) & np.isfinite(rows["zeroed"])  # a row with no label
    rows = {kind: values[known] for kind, values in rows.items()}
    real, zeroed = float(rows["real"].mean()), float(rows["zeroed"].mean())
    ratio = real / zeroed if zeroed > 0 else (0.0 if real == 0 else float("inf"))
    p_value = paired_p(rows["zeroed"] - rows["real"])
    details = {"real_loss": real, "zeroed_loss": zeroed, "held_out_rows": n_held,
               "steps": steps, "p_value": p_value}
    shown = f"held-out loss {real:.4g} with the inputs, {zeroed:.4g} with zeros"
    if ratio < 1.0 - MIN_GAIN:
        return CheckResult("input_independent", "pass", ratio, f"{shown}: the model uses its "
                           "inputs", details)
    if ratio < 1.0 and p_value < MAX_P:
        return CheckResult("input_independent", "pass", ratio, f"{shown}, lower on the rows "
                           f"taken pair by pair (paired t-test p = {p_value:.2g}): the model uses "
                           "its inputs", details)
    overfit = (f"; with its inputs the model overfits the {len(y_fit)} rows it trained on, "
               "so give it more rows" if ratio > OVERFIT_RATIO else "")
    return CheckResult("input_independent", "warn", ratio, f"{shown}: the real inputs do no "
                       "better than zeros; they may carry no signal, or the pipeline drops them "
                       "(check the feature columns, their scaling and that forward uses them)"
                       f"{overfit}", details)
