"""Baselines first: the input-independent floor, a linear model and boosted trees, in the
metric's errors."""

from __future__ import annotations

import numpy as np
import pytest

import fullcycle as fc
from fullcycle.diagnosis.baselines import baselines
from fullcycle.errors import FullcycleError


def _by_name(results: list[dict]) -> dict[str, dict]:
    return {r["name"]: r for r in results}


def test_majority_error_is_one_minus_the_majority_share() -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 3))
    y = np.r_[np.ones(140), np.zeros(60)]
    res = _by_name(baselines("binary", X[:100], y[::2], X[100:], y[1::2], metric="accuracy"))
    assert list(res) == ["majority", "linear", "gradient_boosting"]
    assert res["majority"]["train_error"] == pytest.approx(0.30)
    assert res["majority"]["dev_error"] == pytest.approx(0.30)
    assert res["majority"]["metric"] == "accuracy"


def test_imbalanced_binary_defaults_to_f1_and_majority_scores_zero_f1() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(400, 4))
    y = (X[:, 0] > 1.2).astype(np.float32)  # about 11% positives
    res = _by_name(baselines("binary", X[:300], y[:300], X[300:], y[300:]))
    assert res["majority"]["metric"] == "f1"
    assert res["majority"]["dev_error"] == pytest.approx(1.0)  # never finds the rare class
    assert res["linear"]["dev_error"] < 0.5


def test_mean_predictor_rmse_is_the_target_standard_deviation() -> None:
    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 5))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0, 3.0]) + 0.1 * rng.normal(size=300)
    res = _by_name(baselines("regression", X[:200], y[:200], X[200:], y[200:], "rmse"))
    assert res["mean"]["train_error"] == pytest.approx(np.std(y[:200]))
    assert res["linear"]["model"] == "Ridge"
    assert res["linear"]["dev_error"] < 0.2 < res["mean"]["dev_error"]


def test_linear_baseline_cannot_fit_xor_but_fits_a_linear_boundary() -> None:
    rng = np.random.default_rng(3)
    X = rng.uniform(-1, 1, size=(400, 2))
    xor = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(float)
    linear = (X[:, 0] + X[:, 1] > 0).astype(float)
    xor_err = _by_name(baselines("binary", X[:300], xor[:300], X[300:], xor[300:],
                                 "accuracy"))["linear"]["dev_error"]
    lin_err = _by_name(baselines("binary", X[:300], linear[:300], X[300:], linear[300:],
                                 "accuracy"))["linear"]["dev_error"]
    assert xor_err > 0.3  # a linear model is no better than chance on XOR
    assert lin_err < 0.05


def test_categorical_codes_are_one_hot_for_the_linear_model() -> None:
    rng = np.random.default_rng(4)
    codes = rng.integers(0, 4, size=400).astype(float)
    X = np.c_[rng.normal(size=400), codes]
    y = np.isin(codes, (1, 3)).astype(float)  # not monotone in the code
    as_numbers = _by_name(baselines("binary", X[:300], y[:300], X[300:], y[300:], "accuracy"))
    one_hot = _by_name(baselines("binary", X[:300], y[:300], X[300:], y[300:], "accuracy",
                                 categorical=[(1, 4)]))
    assert as_numbers["linear"]["dev_error"] > 0.3
    assert one_hot["linear"]["dev_error"] == pytest.approx(0.0)
    assert "one-hot" in one_hot["linear"]["description"]


def test_multiclass_with_a_class_missing_from_training() -> None:
    rng = np.random.default_rng(5)
    X = rng.normal(size=(300, 3))
    y = np.digitize(X[:, 0], [-0.5, 0.5])  # classes 0, 1, 2
    y_train = np.where(y[:200] == 2, 1, y[:200])  # class 2 never seen in training
    res = _by_name(baselines("multiclass", X[:200], y_train, X[200:], y[200:], "accuracy"))
    share_of_2 = np.mean(y[200:] == 2)
    assert res["linear"]["dev_error"] >= share_of_2 - 1e-9  # can't predict an unseen class
    assert res["linear"]["dev_error"] < res["majority"]["dev_error"]


def test_multilabel_per_label_with_missing_labels() -> None:
    rng = np.random.default_rng(6)
    X = rng.normal(size=(300, 4))
    Y = (X[:, :3] > 0).astype(float)
    Y[::5, 1] = np.nan
    res = _by_name(baselines("multilabel", X[:200], Y[:200], X[200:], Y[200:], "accuracy"))
    assert res["linear"]["dev_error"] < 0.1
    assert res["majority"]["dev_error"] > 0.3
    assert "per label" in res["linear"]["description"]


def test_linear_model_is_fitted_on_a_capped_sample_and_stays_fast() -> None:
    rng = np.random.default_rng(7)
    X = rng.normal(size=(20_000, 20)).astype(np.float32)
    y = (X @ rng.normal(size=20) > 0).astype(np.float32)
    res = _by_name(fc.baselines("binary", X[:15_000], y[:15_000], X[15_000:], y[15_000:],
                                "accuracy", max_rows=5_000, max_boosting_rows=5_000))
    assert res["linear"]["fit_seconds"] < 3.0
    assert res["linear"]["train_rows"] == 5_000
    assert "sample of 5000 of 15000" in res["linear"]["description"]
    assert res["linear"]["dev_error"] < 0.05


@pytest.mark.parametrize(
    ("task", "X", "y", "message"),
    [
        ("ranking", np.zeros((4, 2)), np.zeros(4), "unknown task"),
        ("binary", np.full((4, 2), np.nan), np.zeros(4), "NaN or infinite"),
        ("binary", np.zeros((4, 2)), np.zeros(3), "has 3 rows"),
        ("binary", np.zeros((4, 2)), np.array([0, 1, 2, 1]), "0/1 labels"),
        ("multiclass", np.zeros((4, 2)), np.array([0, 1, 1.5, 1]), "class codes"),
        ("regression", np.zeros((4, 2)), np.array([0, 1, np.nan, 1]), "NaN or infinite"),
        ("multilabel", np.zeros((4, 2)), np.array([[0, 3]] * 4), r"0/1 \(or NaN"),
    ],
)
def test_bad_inputs_raise_one_fix_naming_error(task, X, y, message) -> None:
    with pytest.raises(FullcycleError, match=message):
        baselines(task, X, y, np.zeros((2, 2)), np.zeros(2) if y.ndim == 1 else y[:2])


def test_empty_dev_set_is_refused() -> None:
    with pytest.raises(FullcycleError, match="non-empty training and dev set"):
        baselines("binary", np.zeros((4, 2)), np.array([0, 1, 0, 1]), np.zeros((0, 2)),
                  np.zeros(0))


def test_train_dev_error_separates_mismatch_for_the_linear_baseline() -> None:
    rng = np.random.default_rng(8)
    X = rng.normal(size=(600, 3))
    y = (X[:, 0] > 0).astype(float)
    X_shift = X[400:] + np.array([0.0, 3.0, 0.0])
    y_shift = (X_shift[:, 0] + X_shift[:, 1] > 1.5).astype(float)  # another rule there
    res = _by_name(baselines("binary", X[:300], y[:300], X_shift, y_shift, "accuracy",
                             train_dev=(X[300:400], y[300:400])))
    linear = res["linear"]
    assert linear["train_dev_error"] < 0.1 < linear["dev_error"]
    no_td = baselines("binary", X[:300], y[:300], X_shift, y_shift, "accuracy")
    assert all(r["train_dev_error"] is None for r in no_td)


def test_categorical_column_outside_the_features_is_refused() -> None:
    with pytest.raises(FullcycleError, match="categorical column 5"):
        baselines("binary", np.zeros((4, 2)), np.array([0, 1, 0, 1]), np.zeros((2, 2)),
                  np.array([0, 1]), categorical=[(5, 3)])


def test_boosted_trees_fit_a_checkerboard_the_linear_model_cannot() -> None:
    rng = np.random.default_rng(9)
    X = rng.uniform(0, 1, size=(1200, 2))
    y = ((np.floor(X[:, 0] * 2) + np.floor(X[:, 1] * 2)) % 2).astype(float)
    res = _by_name(baselines("binary", X[:900], y[:900], X[900:], y[900:], "accuracy"))
    trees = res["gradient_boosting"]
    assert trees["model"] == "HistGradientBoostingClassifier"
    assert res["linear"]["dev_error"] > 0.3 and trees["dev_error"] < 0.05
    assert "boosting rounds (early stopping)" in trees["description"]


def test_boosted_trees_rmse_is_in_the_same_units_as_the_other_rows() -> None:
    rng = np.random.default_rng(10)
    X = rng.uniform(-2, 2, size=(800, 3))
    y = 10.0 * np.sin(2 * X[:, 0]) + X[:, 1] + 0.3 * rng.normal(size=800)
    res = _by_name(baselines("regression", X[:600], y[:600], X[600:], y[600:], "rmse"))
    assert res["gradient_boosting"]["model"] == "HistGradientBoostingRegressor"
    mean_rmse = float(np.sqrt(np.mean((y[600:] - y[:600].mean()) ** 2)))
    assert res["mean"]["dev_error"] == pytest.approx(mean_rmse)
    assert res["gradient_boosting"]["dev_error"] < 0.3 * res["linear"]["dev_error"] < mean_rmse


def test_boosted_trees_split_on_categories_not_on_their_codes() -> None:
    rng = np.random.default_rng(11)
    codes = rng.integers(0, 40, size=1500).astype(float)
    X = np.c_[rng.normal(size=1500), codes]
    y = (codes % 2).astype(float)  # odd codes: not a threshold on the code
    res = _by_name(baselines("binary", X[:1000], y[:1000], X[1000:], y[1000:], "accuracy",
                             categorical=[(1, 40)]))
    assert res["gradient_boosting"]["dev_error"] == pytest.approx(0.0)
    assert "1 categorical column(s) as categories" in res["gradient_boosting"]["description"]


def test_boosted_trees_per_label_for_multilabel_and_seeded() -> None:
    rng = np.random.default_rng(12)
    X = rng.normal(size=(400, 3))
    Y = np.c_[X[:, 0] * X[:, 1] > 0, X[:, 2] > 0].astype(float)
    Y[::4, 0] = np.nan
    first = _by_name(baselines("multilabel", X[:300], Y[:300], X[300:], Y[300:], "accuracy"))
    again = _by_name(baselines("multilabel", X[:300], Y[:300], X[300:], Y[300:], "accuracy"))
    trees = first["gradient_boosting"]
    assert "per label" in trees["description"]
    assert trees["dev_error"] < first["linear"]["dev_error"]
    assert trees["dev_error"] == again["gradient_boosting"]["dev_error"]


def test_boosted_trees_are_fitted_on_a_capped_sample() -> None:
    rng = np.random.default_rng(13)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] > 0).astype(float)
    res = _by_name(baselines("binary", X[:2500], y[:2500], X[2500:], y[2500:], "accuracy",
                             max_boosting_rows=1000))
    assert res["gradient_boosting"]["train_rows"] == 1000
    assert "sample of 1000 of 2500" in res["gradient_boosting"]["description"]
    with pytest.raises(FullcycleError, match="max_boosting_rows must be a positive"):
        baselines("binary", X, y, X, y, max_boosting_rows=0)
