"""Batch independence: an example's output must not depend on the other examples.

A ``view``/``reshape`` that swaps the batch and feature axes, a ``mean``/``softmax`` over
dimension 0, a transpose forgotten before a matmul — each mixes examples across the batch
and still trains, a classic silent bug. The check backpropagates one example's output to
the inputs of the whole batch: the gradient on every other row must be exactly zero.

Batch norm in training mode mixes examples on purpose (it normalizes with batch statistics),
so it is the stated exception: norm layers are switched to their running statistics here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from fullcycle.checks._common import (
    CheckResult,
    batch_for,
    batch_norm_frozen,
    clone_model,
    dropout_off,
    forward,
)

# Autograd usually gives exact zeros for rows that do not contribute, but blocked float32
# kernels can leave rounding-level values (~1e-8 seen on CPU); a real mixing bug moves a share
# of order 1/n (a mean over the batch) or more, many orders of magnitude above this.
TOLERANCE = 1e-5


def batch_independence(model: nn.Module, data: Any, *, max_examples: int = 16,
                       seed: int = 0) -> CheckResult:
    """Check that d output[i] / d input[j] = 0 for j ≠ i, for a few probe examples i.

    ``value`` is the largest share of the gradient that lands on other examples' inputs
    (0 for an independent model).
    """
    inputs, _ = batch_for(model, data, max_examples, seed)
    n = len(inputs[0])
    if n < 2:
        return CheckResult("batch_independence", "warn", None, "needs at least 2 examples to "
                           "compare; pass a larger batch")
    copy = batch_norm_frozen(dropout_off(clone_model(model).train()))
    leaves = tuple(t.detach().clone().requires_grad_(t.is_floating_point()) for t in inputs)
    differentiable = [t for t in leaves if t.requires_grad]
    # Token ids and category codes carry no gradient: the first embedding's output is probed
    # too (for a text model, its token embedding), so a mixing bug behind an embedding, e.g.
    # in how padded sequences are pooled, is seen as well.
    handle = _probe_first_embedding(copy, differentiable)
    try:
        out = forward(copy, leaves)
    finally:
        if handle is not None:
            handle.remove()
    differentiable = [t for t in differentiable if t.shape[:1] == (n,)]
    if out.ndim == 0 or out.shape[0] != n:
        return _cannot_check("the output has no batch dimension of the inputs' size")
    if not differentiable or not out.requires_grad:
        return _cannot_check("no floating input or embedding output with the batch first "
                             "reaches the output through autograd")
    worst, reached = 0.0, False
    for i in sorted({0, n // 2, n - 1}):
        grads = torch.autograd.grad(out[i].sum(), differentiable, retain_graph=True,
                                    allow_unused=True)
        own, other = 0.0, 0.0
        for g in grads:
            if g is None:
                continue
            rows = g.reshape(n, -1).double().pow(2).sum(dim=1)
            own += float(rows[i])
            # summed over the other rows, not total − own: that difference can round below
            # zero (seen on a 4-member ensemble), and its square root is then complex
            other += float(torch.cat([rows[:i], rows[i + 1:]]).sum())
        if own + other > 0:
            reached = True
            worst = max(worst, (other / (own + other)) ** 0.5)
    if not reached:
        return _cannot_check("the outputs do not depend on the floating inputs")
    details = {"rows": n, "probes": sorted({0, n // 2, n - 1})}
    if worst > TOLERANCE:
        return CheckResult("batch_independence", "fail", worst, f"an example's output depends "
                           f"on other examples' inputs ({worst:.2g} of its gradient): a "
                           "reshape/view or a reduction over the batch dimension mixes "
                           "examples; check view(n, -1) vs view(-1, n) and dim= of "
                           "mean/sum/softmax", details)
    has_norm = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    note = " (batch norm, which mixes on purpose, used its running statistics)" if has_norm else ""
    return CheckResult("batch_independence", "pass", worst, "each example's output depends "
                       f"on its own inputs only{note}", details)


def _probe_first_embedding(model: nn.Module, probes: list[torch.Tensor]
                           ) -> torch.utils.hooks.RemovableHandle | None:
    """Make the first embedding's output a leaf to differentiate against (integer inputs)."""
    for module in model.modules():
        if isinstance(module, nn.Embedding | nn.EmbeddingBag):
            def hook(_module: nn.Module, _inputs: Any, output: torch.Tensor) -> torch.Tensor:
                leaf = output.detach().requires_grad_(True)
                probes.append(leaf)
                return leaf
            return module.register_forward_hook(hook)
    return None


def _cannot_check(why: str) -> CheckResult:
    return CheckResult("batch_independence", "warn", None, f"could not check: {why}; give "
                       "the model floating inputs or a batch-first embedding to probe")
