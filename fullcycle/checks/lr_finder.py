"""The learning-rate finder (seed 001, step 3; Smith 2017, fastai).

"The most important hyperparameter in fitting the training set is the learning rate. I don't
bother with trial-and-error and instead use a learning rate finder ... I choose a learning
rate where the loss is still clearly decreasing. I tend to pick a point that is a little bit
to the right of the steepest point in the plot, i.e., where the loss is still strongly
decreasing and has not yet been minimized." (seed 001)

The sweep: one mini-batch step per rate, the rate growing exponentially from ``start_lr``
to ``end_lr`` (1e-7 to 10 over 100 steps by default). The loss is smoothed with the
bias-corrected exponentially weighted average of `fullcycle.ewma` (seeds 000/003) twice:

* during the sweep, a causal average with ``stop_beta = 0.98`` (fastai's and Lightning's
  value) stops it once the smoothed loss exceeds 4× its minimum; a non-finite loss is cut
  off, never recorded;
* afterwards, the curve that is returned, plotted and read is the same average run forward
  then backward over the recorded losses (``beta = 0.8``). A causal average lags its input
  by about ``β / (1 − β)`` steps — 49 steps, four decades of rate, at β = 0.98 — which moves
  every feature of the curve to the right; the backward pass cancels that lag (zero phase),
  so the steepest point sits at the rate that caused it. Before that, each loss is capped
  at the divergence level (4× the running minimum), so that a blow-up at the end of the
  sweep cannot leak backwards into the descent.

Afterwards the model's parameters and buffers, the optimizer's state and hyperparameters,
every ``.grad``, each module's train/eval mode and the random number generator are restored
exactly, so running the finder changes nothing (state left behind by LR finders is a
long-standing complaint in fastai and Lightning).

The suggestion rule, exactly:

1. ``L`` is the smoothed curve and ``x = log10(lr)``; slopes ``dL/dx`` are central
   differences over ±k points, ``k = max(1, round(num_steps / 50))`` (±0.16 decades at the
   defaults). Slopes are taken against log(lr), not lr: against raw lr the slope at tiny
   rates is noise divided by a tiny step.
2. Only the part of the curve before the minimum of ``L`` counts (the loss "has not yet
   been minimized").
3. The steepest descent is the most negative slope there, at index ``s``.
4. Walk right from ``s`` while the slope is still at least half the steepest (the loss is
   "still strongly decreasing"); the suggestion is the last rate of that walk, never at or
   beyond the minimum. This is the seed's "a little bit to the right of the steepest point".

When the loss never decreases there is no suggestion (``suggested_lr`` is None).

Measured against a grid of 100-step Adam trainings (tests/checks/test_lr_finder.py): on a
3-class teacher problem the suggestion lies within 0.9–1.6× of the grid's best rate (six
seeds); on a smooth, nearly linear regression it is more cautious, 0.13–0.46× — there the
sweep's loss bottoms out below the best fixed rate, so no point left of its minimum can
reach it.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from fullcycle.checks._common import (
    CheckResult,
    as_tensor,
    device_of,
    forward,
    minibatches,
    resolve_loss,
    take,
)
from fullcycle.engine.losses import LossFn
from fullcycle.engine.optimizers import OptimizerSpec, make_optimizer, set_lr
from fullcycle.errors import FullcycleError
from fullcycle.ewma import EWMA, ewma

# A suggestion this low comes from a flat or noisy sweep (tiny data, a loss already near its
# floor, batch losses that swing with a rare class), not from a surface that needs tiny
# steps: the check warns and the autopilot starts from Adam's default instead.
IMPLAUSIBLE_LR = 1e-5


@dataclass
class LRFinderResult:
    """The sweep (``lrs`` and smoothed ``losses``, plain lists) and the suggested rate."""

    lrs: list[float]
    losses: list[float]
    raw_losses: list[float]
    suggested_lr: float | None
    steepest_lr: float | None = None
    min_loss_lr: float | None = None
    stop_reason: str = "end"  # "end" | "diverged" | "non_finite"
    slopes: list[float] = field(default_factory=list, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """``{"suggested_lr", "lrs", "losses", ...}`` as plain JSON-ready values."""
        return {"suggested_lr": self.suggested_lr, "lrs": list(self.lrs),
                "losses": list(self.losses), "raw_losses": list(self.raw_losses),
                "steepest_lr": self.steepest_lr, "min_loss_lr": self.min_loss_lr,
                "stop_reason": self.stop_reason}

    def to_check(self) -> CheckResult:
        """This sweep as the suite's ``lr_finder`` line."""
        details = {"lrs": list(self.lrs), "losses": list(self.losses),
                   "suggested_lr": self.suggested_lr, "steepest_lr": self.steepest_lr,
                   "min_loss_lr": self.min_loss_lr, "stop_reason": self.stop_reason}
        if self.suggested_lr is None:
            return CheckResult("lr_finder", "warn", None, "the loss never clearly decreased "
                               f"over {len(self.lrs)} rates; widen the range (start_lr, end_lr)"
                               ", check the data and loss, or use the default 1e-3", details)
        if self.suggested_lr < IMPLAUSIBLE_LR:
            return CheckResult(
                "lr_finder", "warn", self.suggested_lr,
                f"suggested learning rate {self.suggested_lr:.2g} is implausibly low: the "
                "sweep's loss is flat or noisy there (no network learns at such a rate in one "
                "step each); use the default 1e-3, or rerun with a larger batch", details)
        return CheckResult("lr_finder", "pass", self.suggested_lr,
                           f"suggested learning rate {self.suggested_lr:.2g}, a little right "
                           f"of the steepest descent at {self.steepest_lr:.2g} (loss lowest "
                           f"at {self.min_loss_lr:.2g})", details)

    def plot(self, path: str | Path) -> Path:
        """Save the loss-against-rate curve (log x axis) with the suggestion marked, as PNG."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.raw_losses, color="0.8", linewidth=1, label="loss")
        ax.plot(self.lrs, self.losses, color="C0", linewidth=2, label="smoothed loss")
        if self.steepest_lr is not None:
            ax.axvline(self.steepest_lr, color="C1", linestyle=":", label="steepest descent")
        if self.suggested_lr is not None:
            ax.axvline(self.suggested_lr, color="C3", linestyle="--",
                       label=f"suggested {self.suggested_lr:.2g}")
        ax.set_xscale("log")
        finite = [v for v in self.losses if math.isfinite(v)]
        if finite:  # keep the divergence from flattening the interesting part
            low, high = min(finite), min(max(finite), 4 * min(finite) if min(finite) > 0
                                         else max(finite))
            ax.set_ylim(low - 0.05 * (high - low + 1e-12), high + 0.05 * (high - low + 1e-12))
        ax.set_xlabel("learning rate (log scale)")
        ax.set_ylabel("training loss")
        ax.set_title("Learning-rate finder")
        ax.legend(loc="best")
        fig.tight_layout()
        fig.savefig(path, format="png", dpi=100)
        plt.close(fig)
        return path


def zero_phase(values: list[float], beta: float) -> list[float]:
    """The bias-corrected EWMA run forward, then backward over its output: no lag."""
    return ewma(ewma(values, beta)[::-1], beta)[::-1]


def suggest(lrs: list[float], losses: list[float], num_steps: int | None = None,
            ) -> tuple[float | None, float | None, float | None, list[float]]:
    """(suggested, steepest, min-loss) rates and the slopes, by the rule in the module doc."""
    n = len(losses)
    if n < 3:
        return None, None, None, []
    x = np.log10(np.asarray(lrs, dtype=np.float64))
    y = np.asarray(losses, dtype=np.float64)
    k = max(1, round((num_steps or n) / 50))
    lo = np.clip(np.arange(n) - k, 0, n - 1)
    hi = np.clip(np.arange(n) + k, 0, n - 1)
    slopes = (y[hi] - y[lo]) / (x[hi] - x[lo])
    i_min = int(np.argmin(y))
    if i_min == 0:
        return None, None, float(lrs[0]), slopes.tolist()
    before = slopes[:i_min]
    s = int(np.argmin(before))
    if before[s] >= 0:
        return None, None, float(lrs[i_min]), slopes.tolist()
    i = s
    while i + 1 < i_min and slopes[i + 1] <= 0.5 * before[s]:
        i += 1
    return float(lrs[i]), float(lrs[s]), float(lrs[i_min]), slopes.tolist()


def _batches(data: Any, batch_size: int, seed: int, device: torch.device):
    """Endless mini-batches ``(inputs, y)`` from (x, y) / (*inputs, y) or a DataLoader."""
    if isinstance(data, torch.utils.data.DataLoader):
        while True:
            empty = True
            for batch in data:
                empty = False
                tensors = [as_tensor(t).to(device) for t in batch]
                yield tuple(tensors[:-1]), tensors[-1]
            if empty:
                raise FullcycleError("the DataLoader yielded no batch; give lr_find some data")
    if not isinstance(data, tuple | list) or len(data) < 2:
        raise FullcycleError("lr_find needs (x, y), (*inputs, y) or a DataLoader")
    tensors = [as_tensor(t).to(device) for t in data]
    if len(tensors[-1]) == 0:
        raise FullcycleError("lr_find got no rows; give it the training split")
    inputs, y = tuple(tensors[:-1]), tensors[-1]
    for index in minibatches(len(y), batch_size, torch.Generator().manual_seed(seed)):
        yield take(inputs, y, index.to(device))


class _Snapshot:
    """Everything the sweep touches, saved to be put back bit for bit."""

    def __init__(self, model: nn.Module, optimizer: torch.optim.Optimizer) -> None:
        self.model, self.optimizer = model, optimizer
        self.state = copy.deepcopy(model.state_dict())
        self.optimizer_state = copy.deepcopy(optimizer.state_dict())
        self.grads = [(p, None if p.grad is None else p.grad.detach().clone())
                      for p in model.parameters()]
        self.modes = [(m, m.training) for m in model.modules()]

    def restore(self) -> None:
        self.model.load_state_dict(self.state)
        self.optimizer.load_state_dict(self.optimizer_state)
        for p, grad in self.grads:
            p.grad = grad
        for module, training in self.modes:
            module.training = training


def lr_find(model: nn.Module, data: Any, loss: str | LossFn, *,
            optimizer: OptimizerSpec = "adam", start_lr: float = 1e-7, end_lr: float = 10.0,
            num_steps: int = 100, batch_size: int = 64, beta: float = 0.8,
            stop_beta: float = 0.98, diverge_factor: float = 4.0,
            seed: int = 0) -> LRFinderResult:
    """Sweep the learning rate exponentially and suggest one (rule in the module doc).

    ``optimizer`` is a name (``"adam"``, ``"sgd"``, ``"momentum"``, ...), an optimizer
    already built on the model (its state and rates are restored afterwards) or a factory
    ``f(params, lr=...)``. ``data`` is ``(x, y)``, ``(*inputs, y)`` or a DataLoader.

    Example::

        result = fc.lr_find(model, (x_train, y_train), "mse")
        result.suggested_lr, result.plot("lr_finder.png")
    """
    if not 0 < start_lr < end_lr:
        raise FullcycleError(f"need 0 < start_lr < end_lr, got {start_lr} and {end_lr}")
    if num_steps < 5:
        raise FullcycleError(f"num_steps={num_steps} is too few for a sweep; use about 100")
    if not (0 <= beta < 1 and 0 <= stop_beta < 1):
        raise FullcycleError(f"beta and stop_beta must lie in [0, 1), got {beta}, {stop_beta}")
    if diverge_factor <= 1:
        raise FullcycleError("diverge_factor must exceed 1; the finder uses 4")
    loss_fn = resolve_loss(loss)
    opt = make_optimizer(optimizer, model, start_lr)
    device = device_of(model)
    snapshot = _Snapshot(model, opt)
    rng_devices = [device.index or 0] if device.type == "cuda" else []
    lrs: list[float] = []
    raw: list[float] = []
    ceilings: list[float] = []
    stop_reason = "end"
    try:
        with torch.random.fork_rng(devices=rng_devices):
            torch.manual_seed(seed)
            model.train()
            average, best = EWMA(stop_beta), math.inf
            batches = _batches(data, batch_size, seed, device)
            ratio = end_lr / start_lr
            for step in range(num_steps):
                lr = start_lr * ratio ** (step / (num_steps - 1))
                set_lr(opt, lr)
                inputs, y = next(batches)
                opt.zero_grad(set_to_none=True)
                value = loss_fn(forward(model, inputs), y)
                number = float(value.detach())
                if not math.isfinite(number):
                    stop_reason = "non_finite"
                    break
                current = average.update(number)
                lrs.append(lr)
                raw.append(number)
                best = min(best, current)
                ceilings.append(diverge_factor * best if best > 0 else math.inf)
                if step > 0 and best > 0 and current > diverge_factor * best:
                    stop_reason = "diverged"
                    break
                value.backward()
                opt.step()
    finally:
        snapshot.restore()
    # a blow-up must not leak backwards into the descent through the backward pass
    smoothed = zero_phase([min(v, c) for v, c in zip(raw, ceilings, strict=True)], beta)
    suggested, steepest, at_min, slopes = suggest(lrs, smoothed, num_steps)
    return LRFinderResult(lrs, smoothed, raw, suggested, steepest, at_min, stop_reason, slopes)
