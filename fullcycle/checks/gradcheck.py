"""Gradient check: backpropagation against two-sided finite differences (seeds 002, 003).

The seeds' recipe, made automatic for any ``nn.Module``:

* numerical derivative ``dθ_approx = (J(θ + ε) − J(θ − ε)) / 2ε`` with ε = 1e-7;
* relative difference ``‖dθ_approx − dθ‖₂ / (‖dθ_approx‖₂ + ‖dθ‖₂)``;
* verdict: below 1e-7 the gradient is correct, around 1e-5 inspect it, above 1e-3 there is
  probably a bug (seed 002, "Implement Gradient check");
* "if algorithm fails grad check, look at components to try to identify bug": the
  difference is broken down per parameter tensor, so the broken layer is named;
* "remember regularization" (the penalty is part of J), "doesn't work with dropout"
  (dropout is switched off), "run at random initialization; perhaps again after some
  training" (``train_steps``).

It runs on a float64 copy of the model: in float32, rounding alone (≈1e-7 relative) would
swamp the 1e-7 threshold. ``mode="per_element"`` perturbs every scalar (2 forward passes per
parameter); ``mode="random_directions"`` checks directional derivatives along ``directions``
random unit vectors per tensor, ``(J(θ + εu) − J(θ − εu)) / 2ε`` against ``∇J · u``, which
costs ``2 · directions`` passes per tensor whatever its size — the mode for big models.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import torch
from torch import Tensor, nn

from fullcycle.checks._common import (
    CheckResult,
    Inputs,
    batch_for,
    clone_model,
    device_of,
    dropout_off,
    forward,
    resolve_loss,
    short_training,
    to_float64,
    trainable,
)
from fullcycle.engine.losses import LossFn
from fullcycle.engine.penalties import Penalty
from fullcycle.errors import FullcycleError

Verdict = Literal["correct", "inspect", "bug"]
Mode = Literal["auto", "per_element", "random_directions"]

# Seed 002: "much smaller than 10-7 ... accuracy; in the range of 10-5 ... careful
# inspection; significantly larger than 10-3 ... potential bugs".
CORRECT_BELOW = 1e-7
BUG_ABOVE = 1e-3
# Per-element checks up to this many parameters under mode="auto" (and within auto_seconds).
AUTO_PER_ELEMENT_LIMIT = 4096
_STATUS = {"correct": "pass", "inspect": "warn", "bug": "fail"}


def verdict_for(relative_difference: float) -> Verdict:
    """The seeds' reading of a relative difference: correct / inspect / bug."""
    if not math.isfinite(relative_difference) or relative_difference > BUG_ABOVE:
        return "bug"
    return "correct" if relative_difference < CORRECT_BELOW else "inspect"


def relative_difference(analytic: Tensor, numeric: Tensor) -> float:
    """``‖g − g̃‖₂ / (‖g‖₂ + ‖g̃‖₂)``; 0 when both are exactly zero (they agree)."""
    num = float(torch.linalg.vector_norm(analytic - numeric))
    den = float(torch.linalg.vector_norm(analytic) + torch.linalg.vector_norm(numeric))
    return 0.0 if den == 0.0 and num == 0.0 else num / den


@dataclass
class ParameterCheck:
    """The comparison for one parameter tensor."""

    name: str
    numel: int
    relative_difference: float
    analytic_norm: float
    numeric_norm: float
    verdict: Verdict


@dataclass
class GradcheckResult:
    """What the gradient check found.

    ``relative_difference`` and ``verdict`` cover all parameters together; ``by_parameter``
    maps each parameter tensor's name to its own relative difference, and ``suspects``
    lists the tensors whose verdict is "bug" — the place to look first.
    """

    relative_difference: float
    verdict: Verdict
    mode: str
    eps: float
    loss: float
    parameters: list[ParameterCheck] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def by_parameter(self) -> dict[str, float]:
        return {p.name: p.relative_difference for p in self.parameters}

    @property
    def suspects(self) -> list[str]:
        return [p.name for p in self.parameters if p.verdict == "bug"]

    def to_dict(self) -> dict[str, Any]:
        return {"relative_difference": self.relative_difference, "verdict": self.verdict,
                "mode": self.mode, "eps": self.eps, "by_parameter": self.by_parameter,
                "suspects": self.suspects, "seconds": self.seconds}

    def to_check(self) -> CheckResult:
        """This result as the suite's ``gradient_check`` line."""
        diff = f"{self.relative_difference:.1e}"
        if self.verdict == "correct":
            message = (f"backprop matches two-sided differences ({self.mode}): relative "
                       f"difference {diff} < {CORRECT_BELOW:g}")
        elif self.verdict == "inspect":
            worst = max(self.parameters, key=lambda p: p.relative_difference)
            message = (f"relative difference {diff} lies between {CORRECT_BELOW:g} and "
                       f"{BUG_ABOVE:g}: inspect {worst.name} "
                       f"({worst.relative_difference:.1e}); a kink (ReLU at 0, max, abs) "
                       "crossed by ±eps also does this, so rerun with another seed")
        else:
            where = ", ".join(self.suspects[:5]) or "the whole model"
            message = (f"backprop disagrees with finite differences (relative difference "
                       f"{diff} > {BUG_ABOVE:g}) in {where}: fix the backward of the custom "
                       "autograd function or hand-written gradient there")
        return CheckResult("gradient_check", _STATUS[self.verdict], self.relative_difference,
                           message, details=self.to_dict())


class _Objective:
    """J(θ) = loss(model(x), y) + penalty, evaluated deterministically (fixed RNG seed)."""

    def __init__(self, model: nn.Module, inputs: Inputs, y: Tensor, loss_fn: LossFn,
                 penalty: Callable[[], Tensor] | None, seed: int) -> None:
        self.model, self.inputs, self.y = model, inputs, y
        self.loss_fn, self.penalty, self.seed = loss_fn, penalty, seed

    def __call__(self) -> Tensor:
        torch.manual_seed(self.seed)  # models that draw noise see the same draw every time
        value = self.loss_fn(forward(self.model, self.inputs), self.y)
        if self.penalty is not None:
            value = value + self.penalty()
        return value


def _noise_floor(loss: float, eps: float) -> float:
    """Per-element absolute error that float64 rounding of J alone can cause.

    A two-sided difference of two J values each carrying a rounding error of a few ulps of
    |J| has an error of about ``ulp(|J|) / ε``; a factor of 100 covers the sums inside J.
    Differences below this floor are rounding, not a wrong gradient.
    """
    return 100.0 * torch.finfo(torch.float64).eps * max(abs(loss), 1e-12) / eps


def _per_element(objective: _Objective, params: list[tuple[str, nn.Parameter]], eps: float,
                 max_elements: int | None, generator: torch.Generator,
                 ) -> list[tuple[str, Tensor, Tensor]]:
    """(name, analytic, numeric) over every (or a random subset of each tensor's) element."""
    out = []
    analytic = _analytic(objective, params)
    with torch.no_grad():
        for (name, p), grad in zip(params, analytic, strict=True):
            flat = p.data.view(-1)
            index = torch.arange(flat.numel())
            if max_elements is not None and flat.numel() > max_elements:
                index = torch.randperm(flat.numel(), generator=generator)[:max_elements]
            numeric = torch.empty(len(index), dtype=torch.float64)
            for k, i in enumerate(index.tolist()):
                original = flat[i].item()
                flat[i] = original + eps
                plus = float(objective())
                flat[i] = original - eps
                minus = float(objective())
                flat[i] = original
                numeric[k] = (plus - minus) / (2.0 * eps)
            out.append((name, grad.reshape(-1)[index].cpu(), numeric))
    return out


def _random_directions(objective: _Objective, params: list[tuple[str, nn.Parameter]],
                       eps: float, directions: int, generator: torch.Generator,
                       ) -> list[tuple[str, Tensor, Tensor]]:
    """(name, ∇J·u, finite-difference slope along u) for random unit vectors u per tensor."""
    out = []
    analytic = _analytic(objective, params)
    with torch.no_grad():
        for (name, p), grad in zip(params, analytic, strict=True):
            original = p.data.clone()
            exact = torch.empty(directions, dtype=torch.float64)
            numeric = torch.empty(directions, dtype=torch.float64)
            for k in range(directions):
                u = torch.randn(p.shape, generator=generator, dtype=torch.float64)
                u = (u / torch.linalg.vector_norm(u)).to(p.device)
                exact[k] = float((grad * u).sum())
                p.data.copy_(original + eps * u)
                plus = float(objective())
                p.data.copy_(original - eps * u)
                minus = float(objective())
                numeric[k] = (plus - minus) / (2.0 * eps)
            p.data.copy_(original)
            out.append((name, exact, numeric))
    return out


def _analytic(objective: _Objective, params: list[tuple[str, nn.Parameter]]) -> list[Tensor]:
    """Backprop's gradient of J for each parameter (zeros where J does not depend on it)."""
    tensors = [p for _, p in params]
    grads = torch.autograd.grad(objective(), tensors, allow_unused=True)
    return [torch.zeros_like(p) if g is None else g.detach() for p, g in zip(tensors, grads,
                                                                              strict=True)]


def gradcheck(model: nn.Module, batch: Any, loss: str | LossFn, *, eps: float = 1e-7,
              mode: Mode = "auto", directions: int = 8, max_examples: int = 64,
              max_elements: int | None = None, l2: float = 0.0, l1: float = 0.0,
              m: int | None = None, penalty: Callable[[nn.Module], Tensor] | None = None,
              train_steps: int = 0, lr: float = 1e-3, seed: int = 0,
              auto_seconds: float = 1.0) -> GradcheckResult:
    """Compare backprop's gradient with two-sided finite differences, per parameter tensor.

    ``batch`` is ``(x, y)`` / ``(*inputs, y)`` or a DataLoader; at most ``max_examples``
    rows are used. The check runs on a float64 copy with dropout off; the user's model is
    not touched. The regularization term is part of J: ``l2``/``l1`` as in `fc.fit`
    (``λ/2m Σ‖W‖²``, biases excluded, ``m`` defaulting to the rows checked) and any
    ``penalty(model) -> scalar`` of the user's own. ``train_steps > 0`` first trains the
    copy that many Adam steps (seed 002: "perhaps again after some training").
    ``mode="auto"`` is per-element up to 4096 parameters when the ``2 · n`` evaluations of
    J fit in ``auto_seconds`` (timed on one evaluation), random directions otherwise;
    ``max_elements`` checks a random subset of each tensor's elements in per-element mode.

    Example::

        result = fc.gradcheck(model, (x, y), "cross_entropy")
        result.verdict, result.suspects   # ("bug", ["block.gain"])
    """
    if eps <= 0:
        raise FullcycleError(f"eps must be positive, got {eps}; the seeds use 1e-7")
    if directions < 1:
        raise FullcycleError("directions must be at least 1; 8 is a good default")
    if mode not in ("auto", "per_element", "random_directions"):
        raise FullcycleError(f"unknown gradcheck mode {mode!r}; use auto, per_element or "
                             "random_directions")
    started = time.perf_counter()
    loss_fn = resolve_loss(loss)
    inputs, y = batch_for(model, batch, max_examples, seed)
    copy = clone_model(model).train()
    if train_steps > 0:
        short_training(copy, inputs, y, loss_fn, steps=train_steps, lr=lr,
                       batch_size=len(y), seed=seed)
    copy = dropout_off(copy.double().train())
    device = device_of(copy)
    inputs, y = to_float64(inputs, y)
    params = trainable(copy)
    for _, p in params:  # per-element mode perturbs a flat view of each tensor
        if not p.data.is_contiguous():
            p.data = p.data.contiguous()
    if not params:
        raise FullcycleError("the model has no trainable parameter to check; unfreeze one")
    total_penalty = _build_penalty(copy, penalty, l2, l1, m or len(y))
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[device.index or 0] if device.type == "cuda" else []):
        objective = _Objective(copy, inputs, y, loss_fn, total_penalty, seed)
        with torch.no_grad():
            objective()  # warm-up, then time one evaluation of J for the auto mode
            tick = time.perf_counter()
            loss_value = float(objective())
            per_evaluation = time.perf_counter() - tick
        if mode == "auto":
            n_params = sum(p.numel() for _, p in params)
            affordable = 2 * n_params * per_evaluation <= auto_seconds
            mode = ("per_element" if n_params <= AUTO_PER_ELEMENT_LIMIT and affordable
                    else "random_directions")
        if mode == "per_element":
            pairs = _per_element(objective, params, eps, max_elements, generator)
        else:
            pairs = _random_directions(objective, params, eps, directions, generator)
    return _summarize(pairs, mode, eps, loss_value, time.perf_counter() - started)


def _build_penalty(model: nn.Module, penalty: Callable[[nn.Module], Tensor] | None,
                   l2: float, l1: float, m: int) -> Callable[[], Tensor] | None:
    """The regularization term of J ("remember regularization", seed 002)."""
    built = Penalty(model, m, l2=l2, l1=l1) if (l2 or l1) else None
    terms: list[Callable[[], Tensor]] = []
    if built is not None and built.active:
        terms.append(built)
    if penalty is not None:
        terms.append(lambda: penalty(model))
    if not terms:
        return None
    return lambda: sum((term() for term in terms[1:]), terms[0]())


def _summarize(pairs: list[tuple[str, Tensor, Tensor]], mode: str, eps: float, loss: float,
               seconds: float) -> GradcheckResult:
    floor = _noise_floor(loss, eps)
    checks = []
    for name, analytic, numeric in pairs:
        diff = relative_difference(analytic, numeric)
        rms_error = float(torch.linalg.vector_norm(analytic - numeric)) / math.sqrt(
            max(analytic.numel(), 1))
        verdict = "correct" if rms_error <= floor else verdict_for(diff)
        checks.append(ParameterCheck(name, analytic.numel(), diff,
                                     float(torch.linalg.vector_norm(analytic)),
                                     float(torch.linalg.vector_norm(numeric)), verdict))
    all_analytic = torch.cat([a for _, a, _ in pairs])
    all_numeric = torch.cat([n for _, _, n in pairs])
    overall = relative_difference(all_analytic, all_numeric)
    rms_error = float(torch.linalg.vector_norm(all_analytic - all_numeric)) / math.sqrt(
        max(all_analytic.numel(), 1))
    verdict = "correct" if rms_error <= floor else verdict_for(overall)
    if any(c.verdict == "bug" for c in checks):
        verdict = "bug"  # one broken small tensor can hide inside a large correct total
    return GradcheckResult(overall, verdict, mode, eps, loss, checks, seconds)
