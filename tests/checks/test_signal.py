"""Signal propagation at initialization: vanishing, exploding, dead, saturated."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fullcycle.checks.signal import layer_statistics, signal_propagation


def deep(activation: type[nn.Module], init: str, std: float = 0.0, depth: int = 10) -> nn.Module:
    layers: list[nn.Module] = []
    width_in = 16
    for _ in range(depth):
        linear = nn.Linear(width_in, 64)
        if init == "he":
            nn.init.kaiming_normal_(linear.weight, nonlinearity="relu")
        else:
            nn.init.normal_(linear.weight, std=std)
        nn.init.zeros_(linear.bias)
        layers += [linear, activation()]
        width_in = 64
    layers.append(nn.Linear(64, 3))
    return nn.Sequential(*layers)


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    return torch.randn(128, 16, generator=g), torch.randint(0, 3, (128,), generator=g)


def test_ten_layer_sigmoid_net_with_small_init_is_flagged_vanishing(batch):
    result = signal_propagation(deep(nn.Sigmoid, "normal", std=0.01), batch, "cross_entropy")
    assert result.status == "fail" and "vanishing" in result.message
    assert result.value < 1e-2


def test_ten_layer_sigmoid_net_with_large_init_is_flagged_exploding(batch):
    result = signal_propagation(deep(nn.Sigmoid, "normal", std=5.0), batch, "cross_entropy")
    assert result.status == "fail" and "exploding" in result.message
    assert result.value > 1e2
    assert "saturated" in result.message  # and the sigmoids sit at 0 or 1


def test_ten_layer_he_initialized_relu_net_passes(batch):
    result = signal_propagation(deep(nn.ReLU, "he"), batch, "cross_entropy")
    assert result.status == "pass", result.message
    assert 0.1 < result.value < 10


def test_dead_relus_are_reported(batch):
    model = deep(nn.ReLU, "he", depth=3)
    with torch.no_grad():
        model[2].bias.fill_(-50.0)
    result = signal_propagation(model, batch, "cross_entropy")
    assert result.status in ("warn", "fail") and "dead ReLUs" in result.message


def test_layer_statistics_cover_each_leaf_layer(batch):
    layers = layer_statistics(deep(nn.Tanh, "normal", std=0.1, depth=2), batch,
                              "cross_entropy")
    assert [layer.kind for layer in layers] == ["Linear", "Tanh", "Linear", "Tanh", "Linear"]
    assert all(layer.gradient_std > 0 for layer in layers)
    assert layers[1].saturated_fraction is not None and layers[0].dead_fraction is None
