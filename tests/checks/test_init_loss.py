"""Loss at initialization against the best constant prediction (ln C, ln 2, variance)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from fullcycle.checks.init_loss import constant_losses, init_loss


class Constant(nn.Module):
    """Outputs the same logits for every row (a probe with a known initial loss)."""

    def __init__(self, logits: list[float]) -> None:
        super().__init__()
        self.logits = nn.Parameter(torch.tensor(logits))

    def forward(self, x):
        return self.logits.expand(len(x), -1)


def test_balanced_classes_expect_ln_c():
    y = torch.arange(400) % 4
    best, uninformed = constant_losses(y, torch.zeros(400, 4), "multiclass")
    assert best == pytest.approx(math.log(4)) and uninformed == pytest.approx(math.log(4))


def test_zero_logits_on_balanced_classes_pass_at_ln_c():
    x, y = torch.randn(400, 5), torch.arange(400) % 4
    result = init_loss(Constant([0.0] * 4), (x, y), "cross_entropy", "multiclass")
    assert result.status == "pass"
    assert result.value == pytest.approx(math.log(4), rel=1e-5)


def test_imbalanced_binary_with_zero_logit_warns_to_set_the_prior_bias():
    x = torch.randn(400, 3)
    y = (torch.arange(400) < 40).float()  # 10% positives: best constant 0.325 nats
    result = init_loss(Constant([0.0]), (x, y), "bce", "binary")
    assert result.status == "warn" and "log-odds" in result.message
    assert result.details["expected"] == pytest.approx(0.3251, abs=1e-3)
    prior = Constant([math.log(0.1 / 0.9)])
    assert init_loss(prior, (x, y), "bce", "binary").status == "pass"


def test_huge_logits_fail_as_a_wrong_output_scale():
    x, y = torch.randn(200, 3), torch.arange(200) % 3
    result = init_loss(Constant([40.0, -40.0, 0.0]), (x, y), "cross_entropy", "multiclass")
    assert result.status == "fail" and "scale" in result.message


def test_unscaled_regression_target_fails_against_its_variance():
    x = torch.randn(200, 3)
    y = 1000.0 + torch.randn(200)
    result = init_loss(nn.Linear(3, 1), (x, y), "mse", "regression")
    assert result.status == "fail"
    assert result.details["expected"] == pytest.approx(float(y.var(unbiased=False)), rel=1e-4)


def test_a_loss_below_every_constant_before_training_warns_of_a_leak():
    x = torch.randn(300, 2)
    y = x[:, 0].clone()

    class Leaky(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(1))

        def forward(self, inputs):
            return inputs[:, :1] * self.w  # the target is an input column

    result = init_loss(Leaky(), (x, y), "mse", "regression")
    assert result.status == "warn" and "leak" in result.message


def test_multilabel_ignores_missing_labels_in_the_expected_value():
    y = torch.tensor([[1.0, float("nan")], [0.0, 1.0], [1.0, 0.0], [0.0, float("nan")]])
    best, _ = constant_losses(y, torch.zeros(4, 2), "multilabel")
    assert best == pytest.approx(math.log(2))


def test_class_codes_beyond_the_outputs_name_the_fix():
    from fullcycle.errors import FullcycleError

    with pytest.raises(FullcycleError, match="one output per class"):
        init_loss(Constant([0.0, 0.0]), (torch.randn(6, 2), torch.arange(6)), "cross_entropy",
                  "multiclass")
