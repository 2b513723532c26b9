"""Signal propagation at initialization: vanishing and exploding activations and gradients.

Seed 002: "if each matrix is slightly smaller than the identity, the activations decrease
exponentially ... similarly, the derivatives or gradients can increase or decrease
exponentially with the number of layers", which "makes training difficult"; the cure is the
initialization (He for ReLU, Xavier for tanh), then batch norm, clipping (seed 001).

One forward and one backward pass on a batch record, for every leaf layer:

* ``activation_std`` — the spread of each unit across the batch, averaged over units: the
  part of the signal that carries information about the example;
* ``gradient_std`` — the root-mean-square gradient of the loss with respect to the layer's
  output, per example (multiplied by the batch size to undo the loss's mean);
* ``dead_fraction`` (ReLU) — units that output 0 for every example of the batch;
* ``saturated_fraction`` (sigmoid / tanh) — outputs within 1% of the asymptotes
  (``|tanh| > 0.99``, i.e. sigmoid outside [0.005, 0.995]), where the derivative vanishes.

Vanishing or exploding is judged across the hidden layers that carry weights (the output
layer is set by the loss and left out): the gradient's ratio from the last hidden layer to
the first, and the activations' from the first to the last, must stay within a factor of
100 (two orders of magnitude); beyond that the signal is vanishing or exploding.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor, nn

from fullcycle.checks._common import (
    CheckResult,
    batch_for,
    clone_model,
    dropout_off,
    forward,
    resolve_loss,
    trainable,
)
from fullcycle.engine.losses import LossFn

RATIO_LIMIT = 100.0
DEAD_LIMIT = 0.5
SATURATED_LIMIT = 0.5
SATURATION = 0.99  # |tanh| threshold; sigmoid uses the same point, (1 ± 0.99) / 2
_SKIP = (nn.Identity, nn.Flatten, nn.Unflatten, nn.modules.dropout._DropoutNd)
_RELU = (nn.ReLU, nn.ReLU6)


@dataclass
class LayerStats:
    """What one layer's output looked like at initialization."""

    name: str
    kind: str
    has_weights: bool
    activation_std: float
    gradient_std: float = math.nan
    dead_fraction: float | None = None
    saturated_fraction: float | None = None
    gradient_reached: bool = True  # False: needs a gradient, got none (detach / no_grad)


def layer_statistics(model: nn.Module, data: Any, loss: str | LossFn, *,
                     max_examples: int = 256, seed: int = 0) -> list[LayerStats]:
    """Per-layer activation and gradient statistics of a copy of ``model`` on one batch."""
    loss_fn = resolve_loss(loss)
    inputs, y = batch_for(model, data, max_examples, seed)
    n = len(y)
    copy = dropout_off(clone_model(model).train())
    stats: dict[str, LayerStats] = {}
    handles = []
    expecting: set[str] = set()  # layers whose output needs a gradient (not frozen)

    def record(name: str, module: nn.Module):
        def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
            if not isinstance(output, Tensor) or output.ndim < 1 or output.shape[0] != n:
                return
            flat = output.detach().reshape(n, -1).double()
            layer = LayerStats(name, type(module).__name__,
                               any(True for _ in module.parameters(recurse=False)),
                               float(flat.std(dim=0).mean()) if n > 1 else math.nan)
            if isinstance(module, _RELU):
                layer.dead_fraction = float((flat <= 0).all(dim=0).double().mean())
            elif isinstance(module, nn.Tanh):
                layer.saturated_fraction = float((flat.abs() > SATURATION).double().mean())
            elif isinstance(module, nn.Sigmoid):
                low, high = (1 - SATURATION) / 2, (1 + SATURATION) / 2
                layer.saturated_fraction = float(((flat < low) | (flat > high)).double().mean())
            stats[name] = layer
            if output.requires_grad:
                expecting.add(name)

                def grad_hook(grad: Tensor) -> None:
                    g = grad.detach().double() * n
                    layer.gradient_std = float(g.pow(2).mean().sqrt())
                output.register_hook(grad_hook)
        return hook

    for name, module in copy.named_modules():
        if name and not any(True for _ in module.children()) and not isinstance(module, _SKIP):
            handles.append(module.register_forward_hook(record(name, module)))
    try:
        value = loss_fn(forward(copy, inputs), y)
        params = [p for _, p in trainable(copy)]
        if value.requires_grad and params:
            torch.autograd.grad(value, params, allow_unused=True)
    finally:
        for handle in handles:
            handle.remove()
    for name in expecting:  # a gradient that never arrived: the graph is cut before it
        if math.isnan(stats[name].gradient_std):
            stats[name].gradient_reached = False
    return list(stats.values())


def signal_propagation(model: nn.Module, data: Any, loss: str | LossFn, *,
                       max_examples: int = 256, seed: int = 0) -> CheckResult:
    """Flag vanishing / exploding signals, dead ReLUs and saturated sigmoid/tanh units.

    ``value`` is the gradient ratio first / last hidden weighted layer (1 when healthy,
    ≪ 1 vanishing, ≫ 1 exploding); ``details["layers"]`` holds every layer's statistics.
    """
    layers = layer_statistics(model, data, loss, max_examples=max_examples, seed=seed)
    details: dict[str, Any] = {"layers": [asdict(layer) for layer in layers]}
    cut = [layer.name for layer in layers if not layer.gradient_reached and layer.has_weights]
    if cut:
        return CheckResult("signal_propagation", "fail", math.nan,
                           f"no gradient reaches {', '.join(cut)}: something cuts the graph "
                           "after them (a .detach(), torch.no_grad(), .item() or a NumPy round "
                           "trip in forward); those weights would never train", details)
    weighted = [layer for layer in layers if layer.has_weights]
    # frozen layers (no gradient asked for) carry no gradient ratio
    hidden = [layer for layer in weighted[:-1] if math.isfinite(layer.gradient_std)]
    numbers = [v for layer in layers for v in (layer.activation_std, layer.gradient_std)]
    overflow = any(math.isinf(v) for v in numbers) or any(
        math.isnan(layer.activation_std) for layer in layers)
    if overflow:
        return CheckResult("signal_propagation", "fail", math.inf, "activations or gradients "
                           "overflow at initialization (exploding): scale the initial weights "
                           "down (He for ReLU, Xavier for tanh)", details)
    problems, status = [], "pass"
    grad_ratio = act_ratio = 1.0
    if len(hidden) >= 2:
        first, last = hidden[0], hidden[-1]
        grad_ratio = _ratio(first.gradient_std, last.gradient_std)
        act_ratio = _ratio(last.activation_std, first.activation_std)
        details.update(gradient_ratio=grad_ratio, activation_ratio=act_ratio,
                       hidden_layers=len(hidden))
        if grad_ratio < 1 / RATIO_LIMIT or act_ratio < 1 / RATIO_LIMIT:
            status = "fail"
            problems.append(f"vanishing signal across {len(hidden)} hidden layers (gradient "
                            f"x{grad_ratio:.2g} back to the first, activations x{act_ratio:.2g} "
                            "forward to the last): use He init for ReLU or Xavier for tanh, "
                            "ReLU instead of sigmoid, batch norm or residual connections")
        elif grad_ratio > RATIO_LIMIT or act_ratio > RATIO_LIMIT:
            status = "fail"
            problems.append(f"exploding signal across {len(hidden)} hidden layers (gradient "
                            f"x{grad_ratio:.2g} back to the first, activations x{act_ratio:.2g} "
                            "forward to the last): scale the initial weights down (He/Xavier), "
                            "add batch norm, clip gradients")
    dead = [(layer.name, layer.dead_fraction) for layer in layers
            if layer.dead_fraction is not None and layer.dead_fraction > DEAD_LIMIT]
    saturated = [(layer.name, layer.saturated_fraction) for layer in layers
                 if layer.saturated_fraction is not None
                 and layer.saturated_fraction > SATURATED_LIMIT]
    if dead:
        status = "fail" if status == "fail" else "warn"
        problems.append("dead ReLUs: " + ", ".join(f"{n} {f:.0%}" for n, f in dead)
                        + " of units never fire; use He init, zero or small positive biases, "
                        "or leaky ReLU")
    if saturated:
        status = "fail" if status == "fail" else "warn"
        problems.append("saturated units: " + ", ".join(f"{n} {f:.0%}" for n, f in saturated)
                        + " sit where the derivative is ~0; scale the initial weights down "
                        "(Xavier) or normalize the inputs")
    if not problems:
        span = (f"gradient x{grad_ratio:.2g} across {len(hidden)} hidden layers"
                if len(hidden) >= 2 else f"{len(layers)} layers, no vanishing or exploding")
        return CheckResult("signal_propagation", "pass", grad_ratio,
                           f"healthy signal at init ({span})", details)
    return CheckResult("signal_propagation", status, grad_ratio, "; ".join(problems), details)


def _ratio(numerator: float, denominator: float) -> float:
    if not (math.isfinite(numerator) and math.isfinite(denominator)):
        return math.nan
    if denominator == 0:
        return math.inf if numerator > 0 else 1.0
    return numerator / denominator
