"""L2 / L1 / elastic net, with biases and norm parameters left out (seed 000)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from fullcycle.engine.penalties import Penalty, penalized_parameters


def _net() -> nn.Module:
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))


def test_only_weight_matrices_are_penalized():
    net = _net()
    chosen = {id(p) for p in penalized_parameters(net)}
    assert chosen == {id(net[0].weight), id(net[3].weight)}


def test_l2_value_is_lambda_over_2m_times_squared_frobenius_norms():
    net, lam, m = _net(), 0.7, 50
    expected = lam / (2 * m) * (net[0].weight.pow(2).sum() + net[3].weight.pow(2).sum())
    assert Penalty(net, m, l2=lam)().item() == pytest.approx(expected.item())


def test_l2_gradient_adds_lambda_over_m_times_w():
    net, lam, m = _net(), 0.3, 20
    Penalty(net, m, l2=lam)().backward()
    assert torch.allclose(net[0].weight.grad, lam / m * net[0].weight)
    assert net[0].bias.grad is None and net[1].weight.grad is None  # bias, BN γ untouched


def test_l1_and_elastic_net_add_up():
    net, m = _net(), 10
    l1 = Penalty(net, m, l1=0.2)().item()
    l2 = Penalty(net, m, l2=0.5)().item()
    both = Penalty(net, m, l1=0.2, l2=0.5)().item()
    w = sum(p.abs().sum().item() for p in penalized_parameters(net))
    assert l1 == pytest.approx(0.2 / m * w)
    assert both == pytest.approx(l1 + l2)


def test_inactive_without_lambda():
    assert not Penalty(_net(), 10).active
