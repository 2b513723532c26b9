"""The LR finder: exponential sweep, smoothed loss, exact restore, seed 001's suggestion."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from torch import nn

import fullcycle as fc
from fullcycle.checks._common import evaluate_loss, short_training
from fullcycle.checks.lr_finder import suggest
from fullcycle.engine.losses import cross_entropy
from fullcycle.errors import FullcycleError

from .conftest import mlp


def teacher_problem(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """512 rows, 3 classes from a random linear teacher in 8 dimensions."""
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 8, generator=g)
    w = torch.randn(8, 3, generator=g)
    return x, (x @ w).argmax(1)


def student(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return mlp(8, 32, 3)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_suggestion_is_within_a_factor_of_3_of_the_best_rate_of_a_grid_of_short_trainings(seed):
    x, y = teacher_problem(seed)
    result = fc.lr_find(student(seed), (x, y), "cross_entropy", batch_size=64, seed=seed)
    grid = [10 ** e for e in np.arange(-3.0, -0.49, 0.125)]  # 1e-3 .. 0.3, ×1.33 apart
    final = {}
    for lr in grid:  # the same optimizer (Adam), batch size and start, 100 steps each
        model = student(seed).train()
        history = short_training(model, (x,), y, cross_entropy, steps=100, lr=lr,
                                 batch_size=64, seed=seed)
        final[lr] = evaluate_loss(model, (x,), y, cross_entropy) if math.isfinite(
            history[-1]) else math.inf
    best = min(final, key=final.get)
    assert best / 3 <= result.suggested_lr <= best * 3, (result.suggested_lr, best)
    assert result.steepest_lr < result.suggested_lr < result.min_loss_lr


def test_parameters_buffers_optimizer_state_grads_modes_and_rng_are_restored_bit_for_bit():
    x, y = teacher_problem()
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.1),
                          nn.Linear(16, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-4)
    for _ in range(3):  # some optimizer state (Adam moments, step counts) to preserve
        optimizer.zero_grad()
        cross_entropy(model(x[:64]), y[:64]).backward()
        optimizer.step()
    model[3].eval()  # a module in a mode the finder must not change
    state = {k: v.clone() for k, v in model.state_dict().items()}
    opt_state = optimizer.state_dict()
    moments = {k: {n: t.clone() if torch.is_tensor(t) else t for n, t in s.items()}
               for k, s in opt_state["state"].items()}
    grads = [p.grad.clone() for p in model.parameters()]
    rng = torch.get_rng_state()

    result = fc.lr_find(model, (x, y), "cross_entropy", optimizer=optimizer)

    assert len(result.lrs) > 10
    for key, value in model.state_dict().items():
        assert torch.equal(value, state[key]), key  # weights and BN running statistics
    after = optimizer.state_dict()
    assert after["param_groups"][0]["lr"] == 3e-4
    for k, saved in moments.items():
        for name, value in saved.items():
            now = after["state"][k][name]
            assert torch.equal(now, value) if torch.is_tensor(value) else now == value
    assert all(torch.equal(p.grad, g) for p, g in zip(model.parameters(), grads, strict=True))
    assert model.training and not model[3].training
    assert torch.equal(torch.get_rng_state(), rng)


def test_a_fresh_optimizer_by_name_leaves_the_model_exactly_as_it_was():
    x, y = teacher_problem()
    model = student()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    fc.lr_find(model, (x, y), "cross_entropy", optimizer="momentum")
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_the_sweep_is_exponential_and_stops_once_the_loss_exceeds_4x_its_minimum():
    x, y = teacher_problem()
    result = fc.lr_find(student(), (x, y), "cross_entropy", end_lr=1e3, num_steps=100)
    assert result.stop_reason == "diverged" and len(result.lrs) < 100
    ratios = np.diff(np.log(result.lrs))
    assert np.allclose(ratios, ratios[0])
    assert result.lrs[0] == pytest.approx(1e-7)


def test_non_finite_losses_are_cut_off_not_recorded():
    x, y = teacher_problem()

    def explodes_at_high_rates(outputs, targets):
        value = cross_entropy(outputs, targets)
        return value * math.inf if outputs.abs().max() > 20 else value

    result = fc.lr_find(student(), (x, y), explodes_at_high_rates, end_lr=1e4,
                        stop_beta=0.999, diverge_factor=1e9)
    assert result.stop_reason == "non_finite"
    assert all(math.isfinite(v) for v in result.raw_losses + result.losses)


def test_suggest_reads_slopes_against_log_lr_and_picks_a_little_right_of_the_steepest():
    lrs = list(np.logspace(-7, 1, 100))
    x = np.log10(lrs)
    # descent centred at 1e-3, minimum near 1e-1, divergence after it
    losses = list(1.0 - 0.9 / (1 + np.exp(-3 * (x + 3))) + 0.5 * np.clip(x + 1, 0, None) ** 2)
    suggested, steepest, at_min, slopes = suggest(lrs, losses, 100)
    assert steepest == pytest.approx(1e-3, rel=0.25)
    assert steepest < suggested < at_min
    i = lrs.index(suggested)
    assert slopes[i] <= 0.5 * min(slopes) and slopes[i + 1] > 0.5 * min(slopes)


def test_no_suggestion_when_the_loss_never_decreases():
    lrs = list(np.logspace(-7, 1, 50))
    assert suggest(lrs, [1.0 + 0.01 * i for i in range(50)], 50)[0] is None


def test_plot_is_saved_as_png_and_the_result_is_plain_json(tmp_path, classification):
    result = fc.lr_find(mlp(), classification, "cross_entropy")
    path = result.plot(tmp_path / "figures" / "lr.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    document = json.loads(json.dumps(result.to_dict()))
    assert {"suggested_lr", "lrs", "losses"} <= set(document)
    assert len(document["lrs"]) == len(document["losses"])


def test_a_dataloader_works_like_tensors(classification):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*classification),
                                         batch_size=32, shuffle=True)
    result = fc.lr_find(mlp(), loader, "cross_entropy", num_steps=30)
    assert len(result.lrs) > 5


def test_bad_ranges_name_the_fix(classification):
    with pytest.raises(FullcycleError, match="start_lr < end_lr"):
        fc.lr_find(mlp(), classification, "cross_entropy", start_lr=1.0, end_lr=1e-3)
    with pytest.raises(FullcycleError, match="num_steps"):
        fc.lr_find(mlp(), classification, "cross_entropy", num_steps=2)


def test_a_last_batch_of_one_row_does_not_break_batch_norm():
    x, y = teacher_problem()
    model = nn.Sequential(nn.Linear(8, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 3))
    result = fc.lr_find(model, (x[:65], y[:65]), "cross_entropy", batch_size=64, num_steps=20)
    assert len(result.lrs) == 20


def test_the_model_is_restored_even_when_the_sweep_raises():
    x, y = teacher_problem()
    model = student()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    calls = []

    def breaks_at_step_10(outputs, targets):
        calls.append(1)
        if len(calls) == 10:
            raise RuntimeError("boom")
        return cross_entropy(outputs, targets)

    with pytest.raises(RuntimeError, match="boom"):
        fc.lr_find(model, (x, y), breaks_at_step_10)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())


def test_an_implausibly_low_suggestion_is_a_warning_not_a_pass():
    from fullcycle.checks.lr_finder import IMPLAUSIBLE_LR, LRFinderResult

    noisy = LRFinderResult(lrs=[1e-7, 1e-6, 1e-5], losses=[0.26, 0.22, 0.23],
                           raw_losses=[0.26, 0.22, 0.23], suggested_lr=6.4e-7,
                           steepest_lr=3.1e-7, min_loss_lr=1e-6)
    check = noisy.to_check()
    assert check.status == "warn" and "implausibly low" in check.message
    fine = LRFinderResult(lrs=[1e-4, 1e-3, 1e-2], losses=[1.0, 0.5, 0.4],
                          raw_losses=[1.0, 0.5, 0.4], suggested_lr=2e-3, steepest_lr=1e-3,
                          min_loss_lr=1e-2)
    assert fine.to_check().status == "pass" and IMPLAUSIBLE_LR < 2e-3
