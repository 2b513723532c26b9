"""Parameters that receive no gradient are named."""

from __future__ import annotations

import torch
from torch import nn

from fullcycle.checks.dead_parameters import dead_parameters

from .conftest import mlp


class DetachedBranch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.trunk = nn.Linear(8, 8)
        self.side = nn.Linear(8, 8)
        self.head = nn.Linear(16, 3)

    def forward(self, x):
        return self.head(torch.cat([self.trunk(x), self.side(x).detach()], dim=1))


def test_detached_branch_is_caught_and_named(classification):
    result = dead_parameters(DetachedBranch(), classification, "cross_entropy")
    assert result.status == "fail"
    assert result.details["no_gradient"] == ["side.weight", "side.bias"]
    assert "side.weight" in result.message


def test_zero_gradient_everywhere_is_a_warning(classification):
    model = mlp()
    with torch.no_grad():
        model[0].bias.fill_(-100.0)  # every ReLU dead: the first layer never moves
    result = dead_parameters(model, classification, "cross_entropy")
    assert result.status == "warn"
    assert {"0.weight", "0.bias"} <= set(result.details["zero_gradient"])


def test_healthy_model_passes_and_frozen_layers_are_only_listed(classification):
    model = mlp()
    model[0].weight.requires_grad_(False)
    result = dead_parameters(model, classification, "cross_entropy")
    assert result.status == "pass" and result.value == 0
    assert result.details["frozen"] == ["0.weight"]
    assert all(p.grad is None for p in model.parameters())
