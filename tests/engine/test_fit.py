"""fc.fit on users' own modules and losses, events, guards and early stopping."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from fullcycle.engine.callbacks import TrainingDiverged
from fullcycle.engine.events import EVENTS, Callback
from fullcycle.engine.fit import fit
from fullcycle.engine.journaling import JournalCallback
from fullcycle.errors import FullcycleError
from fullcycle.models.mlp import TabularMLP


def _blobs(n: int = 240, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    y = (X[:, 0] - 0.5 * X[:, 1] > 0).astype(np.float32)
    return X, y


def _linear_regression(n: int = 200) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    X = torch.randn(n, 3, generator=g)
    return X, X @ torch.tensor([1.0, -2.0, 0.5]) + 0.1 * torch.randn(n, generator=g)


class TwoTower(nn.Module):
    """A user's module with two inputs, as in `(*inputs, y)` batches."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(2, 8), nn.Linear(2, 8)
        self.head = nn.Linear(8, 1)

    def forward(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.a(left) + self.b(right)))


def test_user_module_and_user_loss_train_through_fit():
    X, y = _blobs()
    def hinge(outputs, targets):  # the user's own loss, on ±1 targets
        return torch.clamp(1 - outputs.squeeze(1) * (2 * targets - 1), min=0).mean()
    result = fit(TwoTower(), (X[:, :2], X[:, 2:], y), loss=hinge, lr=0.01, epochs=15,
                 batch_size=32, progress=False)
    losses = [h["train_loss"] for h in result.history]
    assert losses[-1] < 0.6 * losses[0]
    assert result.best_epoch == 15 and "dev_loss" not in result.history[0]


def test_builtin_mlp_learns_an_easy_problem_and_reports_dev_error():
    X, y = _blobs(400)
    result = fit(TabularMLP(4, 1, hidden=[16]), (X[:300], y[:300]), (X[300:], y[300:]),
                 loss="bce", lr=0.01, epochs=20, progress=False)
    assert result.metric == "accuracy"
    assert result.best["dev_error"] < 0.1
    assert result.history[0]["dev_error"] == pytest.approx(1 - result.history[0]["dev_metric"])


class Recorder(Callback):
    def __init__(self) -> None:
        self.calls: list[str] = []

    def __getattribute__(self, name: str):
        if name in EVENTS:
            return lambda loop: self.calls.append(name)
        return super().__getattribute__(name)


class Listener(Callback):
    order = 5

    def __init__(self) -> None:
        self.calls: list[str] = []

    def before_fit(self, loop): self.calls.append("before_fit")
    def before_epoch(self, loop): self.calls.append("before_epoch")
    def before_batch(self, loop): self.calls.append("before_batch")
    def after_loss(self, loop): self.calls.append("after_loss")
    def after_backward(self, loop): self.calls.append("after_backward")
    def after_step(self, loop): self.calls.append("after_step")
    def after_batch(self, loop): self.calls.append("after_batch")
    def after_epoch(self, loop): self.calls.append("after_epoch")
    def after_fit(self, loop): self.calls.append("after_fit")


def test_events_fire_in_loop_order():
    X, y = _blobs(8)
    cb = Listener()
    fit(nn.Linear(4, 1), (X, y), loss="bce", epochs=2, batch_size=4, callbacks=[cb],
        progress=False)
    batch = ["before_batch", "after_loss", "after_backward", "after_step", "after_batch"]
    epoch = ["before_epoch", *batch, *batch, "after_epoch"]
    assert cb.calls == ["before_fit", *epoch, *epoch, "after_fit"]


class Scripted:
    """A metric callable that reports a scripted dev error per epoch."""

    def __init__(self, errors: list[float]) -> None:
        self.errors, self.i = errors, 0

    def __call__(self, outputs, targets) -> float:
        self.i += 1
        return self.errors[self.i - 1]


class WeightLog(Callback):
    def __init__(self) -> None:
        self.weights: dict[int, torch.Tensor] = {}

    def after_epoch(self, loop):
        self.weights[loop.epoch] = loop.model.weight.detach().clone()


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    X, y = _blobs(64)
    log = WeightLog()
    result = fit(nn.Linear(4, 1), (X, y), (X, y), loss="bce", lr=0.05, epochs=10,
                 metric=Scripted([0.5, 0.3, 0.4, 0.45, 0.5, 0.2]), early_stopping=2,
                 callbacks=[log], progress=False)
    assert result.stopped_early and result.epochs_run == 4 and result.best_epoch == 2
    assert torch.equal(result.model.weight, log.weights[2])
    assert result.decisions[-1]["kind"] == "early_stopping"


def test_best_epoch_is_restored_also_without_stopping_early():
    X, y = _blobs(64)
    log = WeightLog()
    result = fit(nn.Linear(4, 1), (X, y), (X, y), loss="bce", lr=0.05, epochs=4,
                 metric=Scripted([0.5, 0.3, 0.4, 0.45]), callbacks=[log], progress=False)
    assert not result.stopped_early and result.best_epoch == 2
    assert torch.equal(result.model.weight, log.weights[2])


def test_nan_guard_fires_with_a_huge_learning_rate_and_recovers():
    X, y = _linear_regression()
    result = fit(nn.Linear(3, 1), (X, y), loss="mse", optimizer="sgd", lr=50.0, epochs=6,
                 batch_size=32, progress=False)
    guards = [d for d in result.decisions if d["kind"] == "nan_guard"]
    assert 1 <= len(guards) <= 3
    assert guards[0]["lr_before"] == 50.0 and guards[0]["lr_after"] == pytest.approx(5.0)
    assert "lowered the learning rate" in guards[0]["action"]
    assert result.epochs_run == 6 and math.isfinite(result.history[-1]["train_loss"])
    assert result.history[-1]["train_loss"] < 0.05


def test_nan_guard_gives_up_with_a_clear_message():
    X, y = _linear_regression(64)
    def broken(outputs, targets):
        return (outputs.squeeze(1) - targets).pow(2).mean() * float("nan")
    with pytest.raises(TrainingDiverged, match="still after lowering the learning rate 3"):
        fit(nn.Linear(3, 1), (X, y), loss=broken, epochs=2, progress=False)


class ScaledLoss(Callback):
    """Multiplies the reported loss of chosen batches (gradients unchanged): an outlier batch
    whose rows sit far out, as on a heavy-tailed table, seen by the guard."""

    order = 5

    def __init__(self, factor: float, batches: set[int] | None = None,
                 from_epoch: int = 1) -> None:
        self.factor, self.batches, self.from_epoch = factor, batches, from_epoch

    def after_loss(self, loop):
        if loop.epoch >= self.from_epoch and (self.batches is None
                                              or loop.batch_index in self.batches):
            loop.loss = loop.loss + (self.factor - 1.0) * loop.loss.detach()


def test_one_outlier_batch_an_epoch_does_not_end_a_healthy_fit():
    X, y = _linear_regression(512)
    # batch 8 of 16 reports 1000x its loss in every epoch, retries included: the running mean
    # of the epoch trips a 10x rule on it; the smoothed (geometric) loss moves by ~15%
    result = fit(nn.Linear(3, 1), (X, y), loss="mse", lr=0.05, epochs=5, batch_size=32,
                 callbacks=[ScaledLoss(1000.0, {7})], progress=False, seed=0)
    assert [d for d in result.decisions if d["kind"] == "nan_guard"] == []
    assert result.epochs_run == 5


def test_a_sustained_explosion_with_finite_losses_still_raises():
    X, y = _linear_regression(512)
    with pytest.raises(TrainingDiverged, match="smoothed training loss rose to"):
        fit(nn.Linear(3, 1), (X, y), loss="mse", lr=0.05, epochs=4, batch_size=32,
            callbacks=[ScaledLoss(1e4, from_epoch=2)], progress=False, seed=0)


def test_a_truly_diverging_sgd_fit_raises_training_diverged():
    X, y = _linear_regression()
    with pytest.raises(TrainingDiverged, match="still after lowering the learning rate 3"):
        fit(nn.Linear(3, 1), (X, y), loss="mse", optimizer="sgd", lr=1e9, epochs=3,
            batch_size=32, progress=False, seed=0)


class GradNorm(Callback):
    order = 15  # after clipping (10)

    def __init__(self) -> None:
        self.norms: list[float] = []

    def after_backward(self, loop):
        grads = [p.grad.norm() for p in loop.model.parameters()]
        self.norms.append(torch.stack(grads).norm().item())


def test_gradient_clipping_by_norm_bounds_the_gradient():
    X, y = _linear_regression(64)
    probe = GradNorm()
    fit(nn.Linear(3, 1), (X, 100 * y), loss="mse", optimizer="sgd", lr=1e-4, epochs=1,
        clip_norm=0.5, callbacks=[probe], progress=False)
    assert max(probe.norms) <= 0.5 + 1e-5


def test_reported_cost_includes_the_l2_penalty():
    X, y = _linear_regression(64)
    plain = fit(nn.Linear(3, 1), (X, y), loss="mse", epochs=1, progress=False, lr=1e-9)
    torch.manual_seed(0)
    reg = fit(nn.Linear(3, 1), (X, y), loss="mse", epochs=1, progress=False, lr=1e-9, l2=64.0)
    row = reg.history[0]
    assert row["penalty"] > 0
    assert row["train_loss"] > plain.history[0]["train_loss"]


def test_dataloader_and_numpy_inputs_work():
    X, y = _blobs(64)
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=16)
    result = fit(nn.Linear(4, 1), loader, (X, y), loss="bce", epochs=2, progress=False)
    assert result.epochs_run == 2 and result.history[0]["dev_error"] is not None


def test_bf16_autocast_trains_on_cpu():
    X, y = _blobs(64)
    result = fit(TabularMLP(4, 1, hidden=[8]), (X, y), (X, y), loss="bce", epochs=2,
                 precision="bf16", progress=False)
    assert math.isfinite(result.history[-1]["train_loss"])


def test_progress_bar_prints_one_line_per_epoch(capsys):
    X, y = _blobs(64)
    fit(nn.Linear(4, 1), (X, y), (X, y), loss="bce", epochs=2, progress=True)
    out = capsys.readouterr().out
    assert "epoch 1/2" in out and "epoch 2/2" in out and "dev_accuracy" in out


@pytest.mark.parametrize("kwargs, message", [
    ({"epochs": 0}, "epochs must be a positive integer"),
    ({"lr": -1.0}, "lr must be a positive number"),
    ({"early_stopping": 3}, "pass dev="),
    ({"metric": "rmse"}, "does not fit a binary task"),
    ({"precision": "fp8"}, "unknown precision"),
    ({"resume": True}, "needs checkpoint_dir"),
])
def test_bad_arguments_raise_one_line_errors(kwargs, message):
    X, y = _blobs(16)
    with pytest.raises(FullcycleError, match=message):
        fit(nn.Linear(4, 1), (X, y), loss="bce", progress=False, **kwargs)


def test_mismatched_lengths_are_reported():
    X, y = _blobs(16)
    with pytest.raises(FullcycleError, match=r"different lengths \(16, 10\)"):
        fit(nn.Linear(4, 1), (X, y[:10]), loss="bce", progress=False)


def test_multilabel_with_missing_labels_trains_and_scores():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(np.float32)
    Y[rng.random(Y.shape) < 0.3] = np.nan  # 30% of labels missing
    result = fit(TabularMLP(4, 2, hidden=[16]), (X, Y), (X, Y), loss="multilabel_bce",
                 lr=0.02, epochs=15, progress=False)
    assert result.metric == "f1" and result.best["dev_error"] < 0.2


def test_multiclass_uses_cross_entropy_on_integer_codes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3)).astype(np.float32)
    y = np.argmax(X, axis=1)
    result = fit(TabularMLP(3, 3, hidden=[16]), (X, y), (X, y), loss="cross_entropy",
                 lr=0.02, epochs=15, progress=False)
    assert result.best["dev_error"] < 0.15


def test_guard_decisions_reach_the_journal(tmp_path):
    from fullcycle.journal import Journal

    journal = Journal(tmp_path / "journal.sqlite")
    run = journal.start_run("test", {})
    exp = journal.start_experiment(run, "sgd", {}, 0, "fp", "huge rate on purpose")
    X, y = _linear_regression()
    fit(nn.Linear(3, 1), (X, y), loss="mse", optimizer="sgd", lr=50.0, epochs=2,
        batch_size=32, progress=False, journal=JournalCallback(journal, exp))
    (first, *_) = journal.decisions(run)
    assert first["kind"] == "nan_guard" and first["experiment_id"] == exp
    assert "lowered the learning rate from 50 to 5" in first["action"]
    assert first["observed"]["lr_after"] == pytest.approx(5.0)


def test_nan_guard_lowers_the_whole_schedule_not_just_the_current_rate():
    X, y = _linear_regression()
    result = fit(nn.Linear(3, 1), (X, y), loss="mse", optimizer="sgd", lr=50.0, epochs=4,
                 batch_size=32, schedule="cosine", progress=False)
    lowered = [d["lr_after"] / d["lr_before"] for d in result.decisions
               if d["kind"] == "nan_guard"]
    assert lowered and all(r == pytest.approx(0.1) for r in lowered)
    scale = math.prod(d["lr_after"] / d["lr_before"] for d in result.decisions
                      if d["kind"] == "nan_guard" and d["epoch"] <= 2)
    # epoch 2 runs (from its first batch) at the cosine's rate after one epoch of steps,
    # times the factor of every reduction made up to then
    from fullcycle.engine.schedules import cosine
    assert result.history[1]["lr"] == pytest.approx(50.0 * scale * cosine(1.0, 4), rel=1e-6)


def test_batch_norm_never_sees_a_last_batch_of_one_example():
    X, y = _blobs(65)  # 64 + 1: a batch of one cannot be normalized in training mode
    result = fit(TabularMLP(4, 1, hidden=[8], batch_norm=True), (X, y), loss="bce",
                 epochs=1, batch_size=64, progress=False)
    assert result.epochs_run == 1
