"""The seeds' first tabular network: architecture rule, initialization, dropout, batch norm."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from fullcycle.errors import FullcycleError
from fullcycle.models.init import init_for_activation, init_std, initialize
from fullcycle.models.mlp import (
    TabularMLP,
    embedding_size,
    init_output_bias,
    initial_architecture,
    prior_bias,
)


def test_initial_architecture_is_one_midpoint_layer_with_the_rule_beside_it():
    arch = initial_architecture(n_inputs=20, n_outputs=2, n_samples=4400)
    assert arch.hidden == (11,)
    assert sorted(arch.rule_of_thumb) == list(range(2, 11))
    assert arch.rule_of_thumb[2] == pytest.approx(4400 / (2 * 22))
    assert arch.rule_of_thumb[10] == pytest.approx(20.0)
    assert "midpoint" in arch.to_dict()["reason"]


def test_default_hidden_layer_lies_between_input_and_output_sizes():
    net = TabularMLP(30, 4)
    (linear,) = [m for m in net.body if isinstance(m, nn.Linear)]
    assert 4 <= linear.out_features <= 30 and linear.out_features == 17


def test_init_is_chosen_from_the_activation():
    assert init_for_activation("relu") == "he" and init_for_activation("tanh") == "xavier"
    torch.manual_seed(0)
    relu = TabularMLP(400, 1, hidden=[400])
    tanh = TabularMLP(400, 1, hidden=[400], activation="tanh")
    assert relu.body[0].weight.std().item() == pytest.approx(math.sqrt(2 / 400), rel=0.02)
    assert tanh.body[0].weight.std().item() == pytest.approx(math.sqrt(1 / 400), rel=0.02)
    assert torch.all(relu.body[0].bias == 0)


def test_small_and_explicit_init_and_zeros_warns_about_symmetry():
    assert init_std("small", 100) == 0.01
    net = TabularMLP(50, 1, hidden=[300], init="small")
    assert net.body[0].weight.std().item() == pytest.approx(0.01, rel=0.05)
    with pytest.warns(UserWarning, match="symmetry"):
        zero = TabularMLP(5, 1, hidden=[4], init="zeros")
    assert torch.all(zero.body[0].weight == 0)
    with pytest.warns(UserWarning, match="symmetry"):
        initialize(nn.Linear(3, 3), "zeros")


def test_he_keeps_activation_scale_through_a_deep_relu_stack():
    torch.manual_seed(0)
    net = TabularMLP(256, 1, hidden=[256] * 8)
    x = torch.randn(512, 256)
    h = net.body(x)
    assert 0.3 < h.pow(2).mean().item() < 3.0  # neither vanished nor exploded


def test_inverted_dropout_keeps_the_expected_activation_and_is_off_in_eval():
    torch.manual_seed(0)
    net = TabularMLP(8, 1, hidden=[2000], dropout=0.5)
    x = torch.randn(64, 8)
    net.eval()
    full = net.body(x)
    net.train()
    dropped = torch.stack([net.body(x) for _ in range(200)]).mean(0)
    assert (dropped.mean() / full.mean()).item() == pytest.approx(1.0, abs=0.02)
    net.eval()
    assert torch.equal(net.body(x), full)


def test_dropout_per_layer_and_validation():
    net = TabularMLP(8, 1, hidden=[6, 4], dropout=[0.0, 0.25])
    drops = [m.p for m in net.body if isinstance(m, nn.Dropout)]
    assert drops == [0.25]
    with pytest.raises(FullcycleError, match="one per hidden layer"):
        TabularMLP(8, 1, hidden=[6, 4], dropout=[0.1])


def test_batch_norm_drops_the_redundant_bias():
    net = TabularMLP(8, 1, hidden=[6], batch_norm=True)
    assert net.body[0].bias is None and isinstance(net.body[1], nn.BatchNorm1d)


def test_categorical_columns_are_embedded_and_numeric_pass_through():
    assert embedding_size(10) == round(1.6 * 10**0.56)
    net = TabularMLP(3, 2, hidden=[5], categorical=[(1, 10)])
    assert net.embeddings[0].embedding_dim == embedding_size(10)
    assert net.body[0].in_features == 2 + embedding_size(10)
    x = torch.tensor([[0.5, 3.0, -1.0], [0.1, 42.0, 2.0]])  # 42: unseen code, clamped
    assert net(x).shape == (2, 2)


def test_config_round_trip_rebuilds_the_same_network():
    net = TabularMLP(4, 3, hidden=[6, 5], activation="tanh", dropout=0.1, batch_norm=True,
                     categorical=[(0, 7)])
    twin = TabularMLP.from_config(net.config)
    twin.load_state_dict(net.state_dict())
    x = torch.tensor([[1.0, 0.2, 0.3, 0.4], [3.0, 1.0, 1.0, 1.0]])
    net.eval()
    twin.eval()
    assert torch.equal(net(x), twin(x))
    import json
    json.dumps(net.config)


def test_output_bias_starts_at_the_prior():
    y = np.array([1] * 10 + [0] * 90, dtype=np.float32)
    net = TabularMLP(3, 1)
    init_output_bias(net, "binary", y)
    assert net.output.bias.item() == pytest.approx(math.log(0.1 / 0.9), rel=1e-5)
    probs = prior_bias("multiclass", np.array([0, 0, 1, 2]), 3)
    assert torch.softmax(torch.tensor(probs), 0).tolist() == pytest.approx([0.5, 0.25, 0.25])
    assert prior_bias("regression", np.array([1.0, 3.0]), 1) == [2.0]
    ml = prior_bias("multilabel", np.array([[1.0, np.nan], [0.0, 1.0]]), 2)
    assert ml[0] == pytest.approx(0.0, abs=1e-9) and ml[1] > 5


def test_bad_arguments_name_the_fix():
    with pytest.raises(FullcycleError, match="unknown activation"):
        TabularMLP(3, 1, activation="gelu2")
    with pytest.raises(FullcycleError, match="unknown init"):
        TabularMLP(3, 1, init="orthogonal")
    with pytest.raises(FullcycleError, match="outside the 3 input columns"):
        TabularMLP(3, 1, categorical=[(5, 2)])
