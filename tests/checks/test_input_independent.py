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
