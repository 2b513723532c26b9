"""Weight penalties added to the cost: L2, L1 and elastic net.

Seed 000 writes the regularized cost of an L-layer network as

    J = (1/m) Σ L(ŷ, y) + λ/(2m) Σ_l ‖W^[l]‖²_F

so the gradient of the penalty adds ``(λ/m) · W`` to ``dW`` ("weight decay"). Only weight
matrices are penalized: biases, and the scale/shift (γ, β) of normalization layers, are left
out, as in the seed's formula which sums over ``W^[l]`` alone. ``m`` is the number of
training examples, so that a mini-batch's penalized loss is an unbiased estimate of the
seed's full-batch J and λ means the same thing at every batch size. L1 adds ``λ/m Σ|W|``
(seed 002 writes it ``λ Σ|W_j|`` beside the L2 term); elastic net is the sum of both, as in
seed 004's ``λ[(1 − α)‖θ‖₁ + α‖θ‖²₂]`` with the two weights given separately.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

_NORM_LAYERS = (
    nn.modules.batchnorm._NormBase,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.LocalResponseNorm,
)


def penalized_parameters(model: nn.Module) -> list[Tensor]:
    """The weight tensors the penalty applies to: no biases, nothing inside a norm layer."""
    chosen: list[Tensor] = []
    seen: set[int] = set()
    for module in model.modules():
        if isinstance(module, _NORM_LAYERS):
            for p in module.parameters(recurse=False):
                seen.add(id(p))
            continue
        for name, p in module.named_parameters(recurse=False):
            if id(p) in seen or not p.requires_grad:
                continue
            seen.add(id(p))
            if "bias" not in name:
                chosen.append(p)
    return chosen


def l2_penalty(params: list[Tensor], lam: float, m: int) -> Tensor:
    """``λ/(2m) Σ ‖W‖²_F`` (seed 000); its gradient is ``λ/m · W``."""
    total = torch.stack([p.pow(2).sum() for p in params]).sum()
    return total * (lam / (2.0 * m))


def l1_penalty(params: list[Tensor], lam: float, m: int) -> Tensor:
    """``λ/m Σ |W|``; drives small weights to exactly zero (seed 002: sparsity)."""
    total = torch.stack([p.abs().sum() for p in params]).sum()
    return total * (lam / m)


class Penalty:
    """The cost's regularization term for one model: L2, L1, or both (elastic net).

    Built once per fit so that the list of penalized tensors is found once, not per batch.
    """

    def __init__(self, model: nn.Module, m: int, l2: float = 0.0, l1: float = 0.0) -> None:
        if m < 1:
            raise ValueError("the penalty needs the number of training examples m >= 1")
        self.l2, self.l1, self.m = float(l2), float(l1), int(m)
        self.params = penalized_parameters(model) if (l2 or l1) else []

    @property
    def active(self) -> bool:
        return bool(self.params) and (self.l2 > 0 or self.l1 > 0)

    def __call__(self) -> Tensor:
        """The penalty's current value, a differentiable scalar."""
        terms = []
        if self.l2 > 0:
            terms.append(l2_penalty(self.params, self.l2, self.m))
        if self.l1 > 0:
            terms.append(l1_penalty(self.params, self.l1, self.m))
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]
