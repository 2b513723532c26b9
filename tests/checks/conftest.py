"""Small problems and models shared by the sanity-check tests."""

from __future__ import annotations

import pytest
import torch
from torch import nn


def mlp(n_in: int = 8, hidden: int = 16, n_out: int = 3, dropout: float = 0.0) -> nn.Module:
    layers: list[nn.Module] = [nn.Linear(n_in, hidden), nn.ReLU()]
    if dropout:
        layers.append(nn.Dropout(dropout))
    layers.append(nn.Linear(hidden, n_out))
    return nn.Sequential(*layers)


@pytest.fixture
def classification() -> tuple[torch.Tensor, torch.Tensor]:
    """256 rows, 8 features, 3 classes that a small MLP can learn."""
    g = torch.Generator().manual_seed(0)
    x = torch.randn(256, 8, generator=g)
    y = (x[:, :3] @ torch.tensor([[1.0, -1.0, 0.5], [0.5, 1.0, -1.0], [-1.0, 0.2, 1.0]])
         ).argmax(1)
    return x, y


@pytest.fixture
def regression() -> tuple[torch.Tensor, torch.Tensor]:
    """256 rows, 8 features, a standardized smooth target."""
    g = torch.Generator().manual_seed(1)
    x = torch.randn(256, 8, generator=g)
    y = x[:, 0] * 2 + torch.sin(x[:, 1]) + 0.1 * torch.randn(256, generator=g)
    return x, (y - y.mean()) / y.std()
