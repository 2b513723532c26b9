"""Parameters that receive no gradient.

A trainable tensor whose gradient is ``None`` never reaches the loss: a branch cut by
``.detach()``, ``.data`` or a NumPy round-trip, a layer built but not called in ``forward``,
a wrong module registered. One whose gradient is exactly zero everywhere reaches the loss
but cannot move: a layer behind dead ReLUs, a gate stuck at zero, a multiplication by a zero
initialized weight. Both train silently forever, so they are named here before any compute
is spent. Frozen tensors (``requires_grad=False``) are intentional and only listed.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

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


def dead_parameters(model: nn.Module, data: Any, loss: str | LossFn, *,
                    max_examples: int = 256, seed: int = 0) -> CheckResult:
    """Name the trainable tensors whose gradient is None (fail) or all zero (warn).

    ``value`` is how many tensors are affected; ``details`` list them by kind.
    """
    loss_fn = resolve_loss(loss)
    inputs, y = batch_for(model, data, max_examples, seed)
    copy = dropout_off(clone_model(model).train())
    params = trainable(copy)
    frozen = [name for name, p in copy.named_parameters() if not p.requires_grad]
    if not params:
        return CheckResult("dead_parameters", "fail", 0.0, "the model has no trainable "
                           "parameter: unfreeze at least one layer (requires_grad=True)",
                           {"no_gradient": [], "zero_gradient": [], "frozen": frozen})
    value = loss_fn(forward(copy, inputs), y)
    if not value.requires_grad:
        names = [name for name, _ in params]
        return CheckResult("dead_parameters", "fail", float(len(names)), "the loss does not "
                           "depend on any parameter: the whole output is detached (.detach(), "
                           ".data, .numpy() or torch.no_grad in forward); keep it in the graph",
                           {"no_gradient": names, "zero_gradient": [], "frozen": frozen})
    grads = torch.autograd.grad(value, [p for _, p in params], allow_unused=True)
    no_grad = [name for (name, _), g in zip(params, grads, strict=True) if g is None]
    zero = [name for (name, _), g in zip(params, grads, strict=True)
            if g is not None and not bool(g.ne(0).any())]
    details = {"no_gradient": no_grad, "zero_gradient": zero, "frozen": frozen,
               "checked": len(params)}
    if no_grad:
        return CheckResult("dead_parameters", "fail", float(len(no_grad) + len(zero)),
                           f"no gradient reaches {_names(no_grad)}: the branch is detached "
                           "(.detach(), .data, a NumPy round-trip) or the layer is never "
                           "called in forward; reconnect it or remove it", details)
    if zero:
        return CheckResult("dead_parameters", "warn", float(len(zero)),
                           f"the gradient of {_names(zero)} is exactly zero: dead ReLUs in "
                           "front of it, a zero-initialized multiplier or a saturated gate; "
                           "check the initialization and the activations", details)
    return CheckResult("dead_parameters", "pass", 0.0,
                       f"all {len(params)} trainable tensors receive a gradient", details)


def _names(names: list[str], limit: int = 5) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")
