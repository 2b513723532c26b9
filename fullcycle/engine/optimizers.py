"""Optimizers the seeds name, built on `torch.optim` with the seeds' hyperparameters.

==============  ===============================================================  =========
``sgd``         ``W = W − α dW``                                                  seed 003
``momentum``    ``v = β v + (1 − β) dW;  W = W − α v``, β = 0.9, v starts at 0   seed 003
``rmsprop``     ``s = β s + (1 − β) dW²;  W = W − α dW / (√s + ε)``, β = 0.999   seed 003
``adam``        bias-corrected momentum + RMSprop, β1 0.9, β2 0.999, ε 1e-8       seed 000
``adamw``       Adam with decoupled weight decay (Loshchilov & Hutter, 2019)
==============  ===============================================================  =========

Torch's SGD momentum is ``v = μ v + (1 − dampening) dW``: with ``μ = dampening = β`` it is
the seeds' exponentially weighted average, except that torch starts the buffer at ``dW``
rather than at 0 ("dampening is applied starting at the second step"). `SeedMomentum`
starts every buffer at zero, so the first step is ``α (1 − β) dW`` exactly as the seed's
``V_dW`` initialized to 0.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
from torch import nn

from fullcycle.errors import FullcycleError

OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam", "adamw")

OptimizerSpec = str | torch.optim.Optimizer | Callable[..., torch.optim.Optimizer]


class SeedMomentum(torch.optim.SGD):
    """Gradient descent with momentum in the seeds' form, ``v = βv + (1 − β)dW`` from v = 0."""

    def __init__(self, params: Iterable[Any], lr: float = 1e-2, beta: float = 0.9,
                 weight_decay: float = 0.0) -> None:
        super().__init__(params, lr=lr, momentum=beta, dampening=beta,
                         weight_decay=weight_decay)
        for group in self.param_groups:
            for p in group["params"]:
                self.state[p]["momentum_buffer"] = torch.zeros_like(
                    p, memory_format=torch.preserve_format
                )


def make_optimizer(spec: OptimizerSpec, model: nn.Module, lr: float,
                   **options: Any) -> torch.optim.Optimizer:
    """An optimizer for ``model``'s trainable parameters.

    ``spec`` is a name from `OPTIMIZERS`, an optimizer already built on the model's
    parameters (used as is), or a factory ``f(params, lr=...)`` such as
    ``functools.partial(torch.optim.SGD, nesterov=True, momentum=0.9)``. ``options``
    override the seeds' defaults (``beta`` for momentum/RMSprop, ``betas``, ``eps``,
    ``weight_decay``).
    """
    if isinstance(spec, torch.optim.Optimizer):
        return spec
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise FullcycleError("the model has no trainable parameters; unfreeze at least one layer")
    if callable(spec):
        return spec(params, lr=lr, **options)
    name = str(spec).lower()
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, **options)
    if name == "momentum":
        return SeedMomentum(params, lr=lr, **options)
    if name == "rmsprop":
        # seed 003: "β is typically 0.999 and ε very small (e.g. 1e-8)"; torch calls β alpha.
        beta = options.pop("beta", 0.999)
        return torch.optim.RMSprop(params, lr=lr, alpha=beta, eps=options.pop("eps", 1e-8),
                                   **options)
    if name in ("adam", "adamw"):
        # seed 000: β1 = 0.9, β2 = 0.999, ε = 1e-8 (also torch's defaults, stated on purpose)
        kind = torch.optim.Adam if name == "adam" else torch.optim.AdamW
        return kind(params, lr=lr, betas=options.pop("betas", (0.9, 0.999)),
                    eps=options.pop("eps", 1e-8), **options)
    raise FullcycleError(f"unknown optimizer {spec!r}; use one of: {', '.join(OPTIMIZERS)}")


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every parameter group's learning rate (used by the LR finder and the NaN guard)."""
    for group in optimizer.param_groups:
        group["lr"] = lr
