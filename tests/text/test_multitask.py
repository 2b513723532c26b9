"""Multi-task: one trunk, one head per target (binary, multiclass, regression), masked losses."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from fullcycle.analysis.errors import write_errors_csv
from fullcycle.analysis.multitask import multitask_analysis
from fullcycle.data.dataset import prepare
from fullcycle.engine.losses import MultiTaskLoss, bce, cross_entropy, mse
from fullcycle.errors import FullcycleError
from fullcycle.metrics import task_errors
from fullcycle.models.mlp import prior_bias

HEADS = [("binary", 1), ("multiclass", 3), ("regression", 1)]


def mixed_table(n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Three targets that share one latent factor z, some labels missing."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    x = np.column_stack([z + rng.normal(0, 0.3, n), rng.normal(size=n)])
    frame = pd.DataFrame({"x0": x[:, 0], "x1": x[:, 1],
                          "spam": np.where(z > 0, "yes", "no"),
                          "topic": np.select([z < -0.5, z < 0.5], ["a", "b"], "c"),
                          "price": 10 + 3 * z + rng.normal(0, 0.1, n)})
    frame.loc[::7, "spam"] = None
    frame.loc[3::9, "price"] = np.nan
    return frame


def test_mixed_targets_make_one_head_each():
    p = prepare(mixed_table(), "spam,topic,price")
    assert p.task == "multitask"
    assert [(h.name, h.task, h.width) for h in p.heads] == [
        ("spam", "binary", 1), ("topic", "multiclass", 3), ("price", "regression", 1)]
    y = p.y["train"]
    assert y.shape[1] == 3 and np.isnan(y[:, 0]).any() and np.isnan(y[:, 2]).any()
    assert abs(np.nanmean(y[:, 2])) < 0.2  # standardized with the training mean / std
    assert len(prior_bias("multitask", y, 5, [(h.task, h.width) for h in p.heads])) == 5


def test_zero_one_targets_stay_multilabel():
    frame = mixed_table().assign(a=lambda f: (f.x0 > 0).astype(int),
                                 b=lambda f: (f.x1 > 0).astype(int))
    assert prepare(frame, "a,b").task == "multilabel"
    assert prepare(frame, "a,b", task="multitask").task == "multitask"


def test_multitask_loss_is_the_sum_of_each_tasks_loss_on_its_labelled_rows():
    torch.manual_seed(0)
    out = torch.randn(6, 5, requires_grad=True)
    y = torch.tensor([[1, 0, 0.5], [0, 2, -1.0], [float("nan"), 1, 0.1],
                      [1, float("nan"), float("nan")], [0, 0, 2.0], [1, 2, float("nan")]])
    loss = MultiTaskLoss(HEADS)(out, y)
    expected = (bce(out[[0, 1, 3, 4, 5], 0:1], y[[0, 1, 3, 4, 5], 0])
                + cross_entropy(out[[0, 1, 2, 4, 5], 1:4], y[[0, 1, 2, 4, 5], 1])
                + mse(out[[0, 1, 2, 4], 4:5], y[[0, 1, 2, 4], 2]))
    assert torch.isclose(loss, expected)
    loss.backward()
    # a missing label sends no gradient to its head's outputs
    assert out.grad[2, 0] == 0 and out.grad[3, 1:4].abs().sum() == 0 and out.grad[5, 4] == 0
    assert out.grad[2, 1:4].abs().sum() > 0


def test_a_batch_without_labels_gives_zero_loss_with_a_graph():
    out = torch.randn(2, 5, requires_grad=True)
    loss = MultiTaskLoss(HEADS)(out, torch.full((2, 3), float("nan")))
    loss.backward()
    assert float(loss.detach()) == 0.0 and out.grad is not None


def test_bad_multitask_inputs_are_one_line_errors():
    with pytest.raises(FullcycleError, match="need"):
        MultiTaskLoss(HEADS)(torch.zeros(2, 4), torch.zeros(2, 3))
    with pytest.raises(FullcycleError, match="regression, binary or multiclass"):
        MultiTaskLoss([("multilabel", 2)])
    with pytest.raises(FullcycleError, match="needs several targets"):
        prepare(mixed_table().dropna(), "price", task="multitask")
    frame = mixed_table()
    frame["topic"] = "a"
    with pytest.raises(FullcycleError, match="only one class"):
        prepare(frame, "spam,topic")


def test_task_errors_per_head_and_overall_skip_missing_labels():
    y = np.array([[1, 0, 0.0], [0, 2, 1.0], [np.nan, 1, np.nan]])
    perfect = np.array([[9, 9, -9, -9, 0.0], [-9, -9, -9, 9, 1.0], [0, -9, 9, -9, 5.0]])
    result = task_errors(HEADS, perfect, y, ["accuracy", "accuracy", "rmse"])
    assert result["per_head"] == [0.0, 0.0, 0.0] and result["overall"] == 0.0


def test_analysis_per_task_and_one_errors_csv(tmp_path):
    p = prepare(mixed_table(), "spam,topic,price")
    n = len(p.y["dev"])
    outputs = np.random.default_rng(0).normal(size=(n, 5))
    doc, combined = multitask_analysis(
        p.heads, p.target_encoding.heads, p.y["dev"], outputs,
        features=p.frame_of("dev")[p.features].reset_index(drop=True), rows=p.rows["dev"])
    assert set(doc["tasks"]) == {"spam", "topic", "price"}
    assert doc["tasks"]["spam"]["n_examples"] == int(np.isfinite(p.y["dev"][:, 0]).sum())
    assert doc["tasks"]["topic"]["confusion_matrix"] is not None
    assert doc["tasks"]["price"]["absolute_error"]["rmse"] > 0
    table = pd.read_csv(write_errors_csv(combined, tmp_path / "errors.csv"))
    assert table.columns[0] == "task" and set(table["task"]) <= {"spam", "topic", "price"}


def test_baselines_run_per_target_and_average():
    from fullcycle.diagnosis.baselines import baselines

    p = prepare(mixed_table(), "spam,topic,price")
    rows = baselines("multitask", p.X["train"], p.y["train"], p.X["dev"], p.y["dev"],
                     heads=[(h.task, h.width) for h in p.heads],
                     head_metrics=["accuracy", "accuracy", "rmse"])
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) == {"majority", "linear", "gradient_boosting"}
    assert len(by_name["linear"]["per_head"]) == len(by_name["gradient_boosting"]["per_head"]) == 3
    assert by_name["linear"]["dev_error"] < by_name["majority"]["dev_error"]
