"""The gradient check (seeds 002/003): two-sided differences against backprop."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import fullcycle as fc
from fullcycle.checks.gradcheck import relative_difference, verdict_for
from fullcycle.errors import FullcycleError

from .conftest import mlp


class _Scale(torch.autograd.Function):
    """y = x * w with a backward that is right, or doubles dL/dw when ``wrong``."""

    @staticmethod
    def forward(ctx, x, w, wrong):
        ctx.save_for_backward(x, w)
        ctx.wrong = wrong
        return x * w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        grad_w = (grad * x).sum(0)
        return grad * w, (2 * grad_w if ctx.wrong else grad_w), None


class ScaleLayer(nn.Module):
    def __init__(self, width: int, wrong: bool) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.linspace(0.5, 1.5, width))
        self.wrong = wrong

    def forward(self, x):
        return _Scale.apply(x, self.gain, self.wrong)


def custom_net(wrong: bool) -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.Tanh(), ScaleLayer(16, wrong), nn.Linear(16, 3))


@pytest.mark.parametrize("mode", ["per_element", "random_directions"])
def test_gradcheck_finds_wrong_backward_in_custom_layer_and_names_it(classification, mode):
    result = fc.gradcheck(custom_net(wrong=True), classification, "cross_entropy", mode=mode)
    assert result.verdict == "bug"
    assert result.suspects == ["2.gain"]
    assert result.by_parameter["2.gain"] > 1e-3
    others = {k: v for k, v in result.by_parameter.items() if k != "2.gain"}
    assert max(others.values()) < 1e-7
    check = result.to_check()
    assert check.status == "fail" and "2.gain" in check.message


@pytest.mark.parametrize("mode", ["per_element", "random_directions"])
def test_gradcheck_passes_the_correct_custom_backward(classification, mode):
    result = fc.gradcheck(custom_net(wrong=False), classification, "cross_entropy", mode=mode)
    assert result.verdict == "correct", result.by_parameter
    assert result.relative_difference < 1e-7
    assert set(result.by_parameter) == {"0.weight", "0.bias", "2.gain", "3.weight", "3.bias"}


def test_regularization_is_part_of_the_cost_and_dropout_is_off(regression):
    model = mlp(n_out=1, dropout=0.5)
    plain = fc.gradcheck(model, regression, "mse")
    penalized = fc.gradcheck(model, regression, "mse", l2=10.0, l1=1.0, m=64)
    assert penalized.loss > plain.loss  # λ/2m Σ‖W‖² and λ/m Σ|W| were added to J
    assert penalized.verdict == plain.verdict == "correct"


def test_a_wrong_hand_written_penalty_gradient_is_caught(regression):
    class _WrongSquare(torch.autograd.Function):
        @staticmethod
        def forward(ctx, w):
            ctx.save_for_backward(w)
            return (w * w).sum()

        @staticmethod
        def backward(ctx, grad):
            (w,) = ctx.saved_tensors
            return grad * w  # should be 2w

    model = mlp(n_out=1)
    result = fc.gradcheck(model, regression, "mse",
                          penalty=lambda m: 0.5 * _WrongSquare.apply(m[0].weight))
    assert result.verdict == "bug" and "0.weight" in result.suspects


def test_the_users_model_is_left_untouched(classification):
    model = mlp()
    before = [p.detach().clone() for p in model.parameters()]
    fc.gradcheck(model, classification, "cross_entropy", train_steps=5)
    assert all(torch.equal(a, b) for a, b in zip(before, model.parameters(), strict=True))
    assert all(p.grad is None for p in model.parameters())
    assert next(model.parameters()).dtype == torch.float32


def test_after_some_training_the_gradient_is_still_checked(classification):
    result = fc.gradcheck(mlp(), classification, "cross_entropy", train_steps=20)
    assert result.verdict == "correct"


def test_sampled_per_element_mode_checks_a_subset_of_each_tensor(classification):
    result = fc.gradcheck(mlp(), classification, "cross_entropy", mode="per_element",
                          max_elements=10)
    sizes = {p.name: p.numel for p in result.parameters}
    assert sizes["0.weight"] == 10 and sizes["0.bias"] == 10 and sizes["2.bias"] == 3


def test_seed_thresholds_read_correct_inspect_bug():
    assert verdict_for(1e-9) == "correct"
    assert verdict_for(1e-5) == "inspect"
    assert verdict_for(2e-3) == "bug"
    assert verdict_for(float("nan")) == "bug"


def test_relative_difference_is_the_seeds_normalized_distance():
    g = torch.tensor([3.0, 4.0])
    assert relative_difference(g, g) == 0.0
    assert relative_difference(g, -g) == pytest.approx(1.0)
    assert relative_difference(g, 2 * g) == pytest.approx(5 / 15)
    assert relative_difference(torch.zeros(2), torch.zeros(2)) == 0.0


def test_bad_arguments_name_the_fix(classification):
    with pytest.raises(FullcycleError, match="eps"):
        fc.gradcheck(mlp(), classification, "cross_entropy", eps=0)
    with pytest.raises(FullcycleError, match="mode"):
        fc.gradcheck(mlp(), classification, "cross_entropy", mode="sideways")
    with pytest.raises(FullcycleError, match="unknown loss"):
        fc.gradcheck(mlp(), classification, "hinge-ish")


def test_auto_mode_falls_back_to_random_directions_when_per_element_is_too_slow(
        classification):
    model = mlp()
    cheap = fc.gradcheck(model, classification, "cross_entropy", auto_seconds=60.0)
    costly = fc.gradcheck(model, classification, "cross_entropy", auto_seconds=0.0)
    assert (cheap.mode, costly.mode) == ("per_element", "random_directions")
    assert cheap.verdict == costly.verdict == "correct"
