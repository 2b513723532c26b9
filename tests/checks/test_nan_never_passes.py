"""A check never passes on a NaN, and its result prints in a line or two."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import fullcycle as fc
from fullcycle.checks._common import CheckResult


class Detached(nn.Module):
    """A graph cut by mistake: the first layers never receive a gradient."""

    def __init__(self) -> None:
        super().__init__()
        self.first, self.second = nn.Linear(4, 8), nn.Linear(8, 8)
        self.out = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.second(torch.relu(self.first(x))))
        return self.out(hidden.detach())


def _data(n: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 4, generator=g)
    return X, (X[:, 0] > 0).float()


@pytest.fixture(scope="module")
def detached_results():
    torch.manual_seed(0)
    return fc.run_checks(Detached(), _data(), "bce", "binary", lr_finder=False)


def test_signal_propagation_fails_when_hidden_layers_get_no_gradient(detached_results):
    signal = {r.name: r for r in detached_results}["signal_propagation"]
    assert signal.status != "pass"
    assert "nan" not in signal.message.lower()
    assert "first" in signal.message and "no gradient" in signal.message


def test_no_check_passes_with_a_nan_value(detached_results):
    for result in detached_results:
        if result.value is not None and result.value != result.value:
            assert result.status != "pass", result


def test_check_result_repr_is_short():
    details = {"layers": [{"name": f"l{i}", "activation_std": 0.1 * i} for i in range(300)]}
    result = CheckResult("signal_propagation", "pass", 1.0, "healthy signal", details)
    text = repr(result)
    assert len(text) < 200 and "signal_propagation" in text and "pass" in text
    assert "details" in text  # says there is more, without printing it
