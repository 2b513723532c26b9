"""Metrics, the errors derived from them, and the choice of the single metric."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from fullcycle import metrics as M
from fullcycle.errors import FullcycleError


def test_error_is_one_minus_accuracy_and_rmse_as_is():
    logits = torch.tensor([[2.0], [-1.0], [0.5], [-3.0]])  # predicts 1, 0, 1, 0
    y = torch.tensor([1.0, 0.0, 0.0, 0.0])
    assert M.compute_metric("accuracy", "binary", logits, y) == 0.75
    assert M.metric_error("accuracy", "binary", logits, y) == pytest.approx(0.25)
    out = np.array([[1.0], [2.0]])
    assert M.metric_error("rmse", "regression", out, np.array([1.0, 4.0])) == \
        pytest.approx(math.sqrt(2.0))
    assert M.error_from_metric("f1", 0.8) == pytest.approx(0.2)
    assert M.error_from_metric("log_loss", 0.3) == 0.3


def test_binary_f1_auc_and_log_loss_match_sklearn():
    from sklearn import metrics as skm

    rng = np.random.default_rng(0)
    z = rng.normal(size=200)
    y = (z + rng.normal(size=200) > 0).astype(float)
    p = 1 / (1 + np.exp(-z))
    assert M.compute_metric("f1", "binary", z, y) == pytest.approx(skm.f1_score(y, p >= 0.5))
    assert M.compute_metric("auc", "binary", z, y) == pytest.approx(skm.roc_auc_score(y, p))
    assert M.compute_metric("log_loss", "binary", z, y) == pytest.approx(skm.log_loss(y, p))


def test_multiclass_from_logits_uses_softmax_and_argmax():
    # seed 003's softmax example: [5, 2, -1, 3] -> [0.842, 0.042, 0.002, 0.114]
    logits = np.array([[5.0, 2.0, -1.0, 3.0]])
    assert M.probabilities("multiclass", logits)[0] == pytest.approx(
        [0.842, 0.042, 0.002, 0.114], abs=1e-3)
    out = np.array([[5.0, 2.0, -1.0, 3.0], [0.0, 0.0, 9.0, 0.0], [1.0, 2.0, 0.0, 0.0]])
    y = np.array([0, 2, 0])
    assert M.compute_metric("accuracy", "multiclass", out, y) == pytest.approx(2 / 3)
    assert 0 <= M.compute_metric("f1_macro", "multiclass", out, y) <= 1


def test_multilabel_leaves_missing_labels_out():
    out = np.array([[3.0, -3.0], [3.0, 3.0]])
    y = np.array([[1.0, np.nan], [0.0, 1.0]])
    assert M.compute_metric("accuracy", "multilabel", out, y) == pytest.approx(2 / 3)
    # present: TP (0,0), FP (1,0), TP (1,1) -> precision 2/3, recall 1, F1 0.8
    assert M.compute_metric("f1", "multilabel", out, y) == pytest.approx(0.8)


def test_regression_metrics():
    out = np.array([1.0, 2.0, 3.0])
    y = np.array([1.0, 2.0, 5.0])
    assert M.compute_metric("mae", "regression", out, y) == pytest.approx(2 / 3)
    assert M.compute_metric("r2", "regression", y, y) == pytest.approx(1.0)


def test_f1_for_imbalanced_binary_classes_accuracy_otherwise():
    assert M.default_metric("binary", np.array([0] * 85 + [1] * 15)) == "f1"  # 15% < 20%
    assert M.default_metric("binary", np.array([0] * 75 + [1] * 25)) == "accuracy"
    assert M.default_metric("multiclass", np.array([0] * 80 + [1] * 10 + [2] * 10)) == \
        "f1_macro"
    assert M.default_metric("multiclass", np.array([0, 1, 2] * 10)) == "accuracy"
    assert M.default_metric("regression") == "rmse"
    assert M.default_metric("multilabel") == "f1"


def test_metric_that_does_not_fit_the_task_names_the_choices():
    with pytest.raises(FullcycleError, match="does not apply to a regression task"):
        M.compute_metric("accuracy", "regression", [1.0], [1.0])
    with pytest.raises(FullcycleError, match="unknown metric"):
        M.compute_metric("top5", "multiclass", [[1.0]], [0])
