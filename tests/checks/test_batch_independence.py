"""An example's output must not depend on the other examples of the batch."""

from __future__ import annotations

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
