"""An example's output must not depend on the other examples of the batch."""

from __future__ import annotations

import torch
from torch import nn

from fullcycle.checks.batch_independence import batch_independence

from .conftest import mlp


class BatchMean(nn.Module):
    """Subtracts the mean over the batch dimension: a classic silent mixing bug."""

    def __init__(self) -> None:
        super().__init__()
        self.net = mlp()

    def forward(self, x):
        return self.net(x - x.mean(dim=0, keepdim=True))


class WrongView(nn.Module):
    """Flattens with view(-1, n) and transposes back wrongly, interleaving examples."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(8, 3)

    def forward(self, x):
        n = x.shape[0]
        return self.linear(x.reshape(8, n).t())


def test_mean_over_the_batch_dimension_fails(classification):
    result = batch_independence(BatchMean(), classification)
    assert result.status == "fail" and result.value > 1e-3
    assert "batch dimension" in result.message


def test_reshape_that_interleaves_examples_fails(classification):
    assert batch_independence(WrongView(), classification).status == "fail"


def test_independent_mlp_passes(classification):
    result = batch_independence(mlp(dropout=0.3), classification)
    assert result.status == "pass" and result.value == 0.0


def test_batch_norm_in_training_mode_is_the_stated_exception(classification):
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    result = batch_independence(model, classification)
    assert result.status == "pass" and "batch norm" in result.message
    assert model[1].training  # the user's model keeps its mode


class TokenModel(nn.Module):
    """Token ids -> embedding -> mean over the sequence -> logits; optionally mixes rows."""

    def __init__(self, mix: bool) -> None:
        super().__init__()
        self.embedding = nn.Embedding(20, 4)
        self.head = nn.Linear(4, 2)
        self.mix = mix

    def forward(self, tokens):
        h = self.embedding(tokens).mean(dim=1)
        return self.head(h - h.mean(0) if self.mix else h)


def test_integer_inputs_are_probed_through_the_first_embedding():
    tokens, y = torch.randint(0, 20, (16, 5)), torch.randint(0, 2, (16,))
    assert batch_independence(TokenModel(mix=False), (tokens, y)).status == "pass"
    assert batch_independence(TokenModel(mix=True), (tokens, y)).status == "fail"


def test_large_own_gradients_with_exact_zeros_elsewhere_pass_without_rounding_errors() -> None:
    """Summing all rows and subtracting one can round below zero (seen on a CNN)."""
    for seed in range(5):
        torch.manual_seed(seed)
        model = torch.nn.Linear(1000, 3)
        with torch.no_grad():
            model.weight.mul_(1000)
        result = batch_independence(model, (torch.randn(16, 1000), torch.zeros(16)))
        assert result.status == "pass" and result.value == 0.0
