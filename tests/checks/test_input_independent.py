"""Input-independent baseline: real inputs must beat zeroed ones."""

from __future__ import annotations

import torch

from fullcycle.checks.input_independent import input_independent

from .conftest import mlp


def test_inputs_with_signal_beat_zeroed_inputs(regression):
    result = input_independent(mlp(n_out=1), regression, "mse")
    assert result.status == "pass"
    assert result.value < 0.95
    assert result.details["real_loss"] < result.details["zeroed_loss"]


def test_inputs_without_signal_warn(regression):
    x, _ = regression
    noise = torch.randn(len(x), generator=torch.Generator().manual_seed(5))
    result = input_independent(mlp(n_out=1), (x, noise), "mse")
    assert result.status == "warn" and "no signal" in result.message


def test_too_few_rows_say_how_many_are_needed():
    x, y = torch.randn(10, 8), torch.randn(10)
    result = input_independent(mlp(n_out=1), (x, y), "mse")
    assert result.status == "warn" and "16" in result.message


def test_a_small_gain_that_holds_row_by_row_passes():
    """A weak signal cuts the mean loss by under MIN_GAIN (ratio 0.96), but over 5,000 held-out
    rows the paired differences make the cut significant: the inputs are used."""
    from torch import nn

    from fullcycle.models.mlp import init_output_bias

    g = torch.Generator().manual_seed(0)
    x = torch.randn(20000, 1, generator=g)
    y = 0.2 * x[:, 0] + torch.randn(20000, generator=g)
    model = nn.Linear(1, 1)
    nn.init.zeros_(model.weight)
    init_output_bias(model, "regression", y)
    result = input_independent(model, (x, y), "mse", steps=300, lr=1e-2, max_examples=20000)
    assert 0.95 <= result.value < 1.0
    assert result.status == "pass" and "paired t-test" in result.message
    assert result.details["p_value"] < 0.01


def test_pure_noise_is_not_rescued_by_the_paired_test(classification):
    x, y = classification
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(2))]
    result = input_independent(mlp(), (x, shuffled), "cross_entropy")
    assert result.status == "warn" and result.details["p_value"] >= 0.01
