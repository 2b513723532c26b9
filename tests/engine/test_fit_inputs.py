"""`fc.fit` with what Keras and PyTorch users pass first, or a one-line error naming the fix."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import TensorDataset

import fullcycle as fc
from fullcycle.errors import FullcycleError


def _blobs(n: int = 96, classes: int = 3, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, n)
    X = rng.normal(size=(n, 4)).astype(np.float32) + y[:, None]
    return X, y


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a, self.b = nn.Linear(4, 3), nn.Linear(2, 3)

    def forward(self, x1: torch.Tensor, x2: torch.Tensor) -> torch.Tensor:
        return self.a(x1) + self.b(x2)


def test_a_keras_style_list_of_inputs_calls_the_model_with_each():
    X, y = _blobs()
    extra = np.random.default_rng(1).normal(size=(len(y), 2)).astype(np.float32)
    result = fc.fit(TwoInputs(), ([X, extra], y), ([X, extra], y), loss="cross_entropy",
                    epochs=2, progress=False)
    assert result.epochs_run == 2 and result.history[-1]["dev_error"] is not None


class Counter(fc.Callback):
    def __init__(self) -> None:
        self.epochs = 0

    def after_epoch(self, loop) -> None:
        self.epochs += 1


def test_a_callback_class_is_instantiated():
    X, y = _blobs()
    result = fc.fit(nn.Linear(4, 3), (X, y), loss="cross_entropy", epochs=2, progress=False,
                    callbacks=[Counter])
    assert result.epochs_run == 2


class NeedsArguments(fc.Callback):
    def __init__(self, every: int) -> None:
        self.every = every


@pytest.mark.parametrize(("callback", "message"), [
    (NeedsArguments, r"NeedsArguments needs arguments.*NeedsArguments\(\.\.\.\)"),
    (object(), r"callbacks= takes fullcycle Callback"),
    (print, r"callbacks= takes fullcycle Callback"),
])
def test_callbacks_that_cannot_be_used_are_refused(callback, message):
    X, y = _blobs()
    with pytest.raises(FullcycleError, match=message):
        fc.fit(nn.Linear(4, 3), (X, y), loss="cross_entropy", epochs=1, progress=False,
               callbacks=[callback])


class ReturnsDict(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 3)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"logits": self.linear(x), "hidden": x}


def test_a_model_returning_a_dict_is_named_with_the_fix():
    X, y = _blobs()
    with pytest.raises(FullcycleError, match=r"returned a dict \(keys logits, hidden\).*tensor"):
        fc.fit(ReturnsDict(), (X, y), loss="cross_entropy", epochs=1, progress=False)


def test_string_labels_are_refused_with_how_to_encode_them():
    X, y = _blobs()
    labels = np.array(["cat", "dog", "bird"])[y]
    with pytest.raises(FullcycleError, match=r"train targets are text \('\w+'.*factorize"):
        fc.fit(nn.Linear(4, 3), (X, labels), loss="cross_entropy", epochs=1, progress=False)


def test_labels_1_to_3_for_3_classes_name_the_shift():
    X, y = _blobs()
    with pytest.raises(FullcycleError, match=r"from 1 to 3 .* 3 outputs .*0\.\.2.*y - 1"):
        fc.fit(nn.Linear(4, 3), (X, y + 1), loss="cross_entropy", epochs=1, progress=False)


def test_binary_labels_outside_0_1_are_refused():
    X, y = _blobs(classes=2)
    with pytest.raises(FullcycleError, match=r"bce needs targets between 0 and 1.*1 and 2"):
        fc.fit(nn.Linear(4, 1), (X, y + 1), loss="bce", epochs=1, progress=False)


def test_a_plain_tensor_dataset_is_accepted():
    X, y = _blobs()
    data = TensorDataset(torch.from_numpy(X), torch.from_numpy(y))
    result = fc.fit(nn.Linear(4, 3), data, data, loss="cross_entropy", epochs=2,
                    batch_size=16, progress=False)
    assert result.epochs_run == 2 and result.history[-1]["dev_error"] is not None


def test_infinite_inputs_are_named_before_training():
    X, y = _blobs()
    X[5, 2] = np.inf
    X[7, 2] = -np.inf
    with pytest.raises(FullcycleError, match=r"train inputs hold 2 infinite .* row 5, column 2"):
        fc.fit(nn.Linear(4, 3), (X, y), loss="cross_entropy", epochs=1, progress=False)


def test_nan_inputs_are_named_too():
    X, y = _blobs()
    dev = X.copy()
    dev[3, 0] = np.nan
    with pytest.raises(FullcycleError, match=r"dev inputs hold 1 NaN .* row 3, column 0"):
        fc.fit(nn.Linear(4, 3), (X, y), (dev, y), loss="cross_entropy", epochs=1,
               progress=False)


def _custom_ce(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return nn.functional.cross_entropy(outputs, targets.long())


def test_a_classification_metric_with_a_custom_loss_infers_the_task():
    X, y = _blobs()
    result = fc.fit(nn.Linear(4, 3), (X, y), (X, y), loss=_custom_ce, metric="accuracy",
                    epochs=2, progress=False)
    assert 0.0 <= result.history[-1]["dev_error"] <= 1.0
    assert result.history[-1]["dev_metric"] == pytest.approx(1 - result.history[-1]["dev_error"])


def test_a_regression_metric_with_a_custom_loss_infers_regression():
    X, _ = _blobs()
    target = X.sum(axis=1, keepdims=True)
    result = fc.fit(nn.Linear(4, 1), (X, target), (X, target),
                    loss=lambda o, t: ((o - t) ** 2).mean(), metric="rmse", epochs=2,
                    progress=False)
    assert result.history[-1]["dev_error"] == pytest.approx(result.history[-1]["dev_metric"])


def test_history_lr_is_the_rate_each_epoch_ran_at():
    X, y = _blobs()
    result = fc.fit(nn.Linear(4, 3), (X, y), loss="cross_entropy", optimizer="sgd", lr=0.01,
                    schedule="staircase:drop=0.5,every=1", epochs=3, progress=False)
    assert [r["lr"] for r in result.history] == pytest.approx([0.01, 0.005, 0.0025])


def test_cosine_history_never_logs_a_zero_rate_for_an_epoch_that_trained():
    X, y = _blobs()
    result = fc.fit(nn.Linear(4, 3), (X, y), loss="cross_entropy", lr=0.01,
                    schedule="cosine", epochs=3, progress=False)
    rates = [r["lr"] for r in result.history]
    assert rates[0] == pytest.approx(0.01) and rates[-1] > 0


def test_a_shuffling_loader_probed_before_training_leaves_the_global_rng_alone():
    from torch.utils.data import DataLoader

    X, y = _blobs()
    loader = DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)),
                        batch_size=16, shuffle=True)
    model = nn.Linear(4, 3)
    before = torch.random.get_rng_state()
    from fullcycle.engine.batches import make_batches
    from fullcycle.engine.validate import check_fit_data

    batches = make_batches(loader, 16, torch.device("cpu"), shuffle=True, seed=0, name="train")
    assert check_fit_data(model, batches, None, loss="cross_entropy", task=None,
                          metric="accuracy") == "multiclass"
    assert torch.equal(before, torch.random.get_rng_state())


def test_dates_as_inputs_name_what_to_do():
    X = np.array(["2021-01-01", "2021-01-02"], dtype="datetime64[D]").reshape(-1, 1)
    with pytest.raises(FullcycleError, match=r"train inputs hold dates.*fc.prepare"):
        fc.fit(nn.Linear(1, 1), (X, np.zeros(2, dtype=np.float32)), loss="mse", epochs=1,
               progress=False)
