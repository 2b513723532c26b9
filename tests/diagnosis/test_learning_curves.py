"""Learning curves: nested subsets, a power-law fit, and whether more data would help."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

import fullcycle as fc
from fullcycle.diagnosis.learning_curves import (
    default_sizes,
    estimator_train_fn,
    fit_power_law,
    learning_curve,
    nested_order,
)
from fullcycle.errors import FullcycleError


def _synthetic(dev_of_m, train_of_m=lambda m: 0.0):
    """A train_fn whose errors are exact functions of the subset size."""
    def train_fn(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        m = len(X)
        return train_of_m(m), dev_of_m(m)
    return train_fn


def _data(n: int = 400, features: int = 2) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.normal(size=(n, features)), (rng.uniform(size=n) < 0.5).astype(float)


def test_power_law_fit_recovers_a_b_c() -> None:
    sizes = [50, 100, 200, 400, 800, 1600]
    errors = [3.0 * m ** -0.5 + 0.05 for m in sizes]
    fit = fit_power_law(sizes, errors)
    assert fit is not None
    assert (fit.a, fit.b, fit.c) == pytest.approx((3.0, 0.5, 0.05), rel=1e-3)
    assert fit.r2 == pytest.approx(1.0)
    assert fit.predict(3200) == pytest.approx(3.0 * 3200 ** -0.5 + 0.05, rel=1e-3)


def test_flat_dev_curve_puts_everything_in_the_asymptote() -> None:
    fit = fit_power_law([10, 20, 40, 80, 160], [0.2] * 5)
    assert fit is not None and fit.a == 0.0 and fit.c == pytest.approx(0.2)


def test_more_data_helps_when_dev_still_falls_and_gap_is_large() -> None:
    X, y = _data()
    curve = learning_curve(_synthetic(lambda m: 3.0 * m ** -0.5 + 0.05), X, y)
    assert curve.more_data_helps
    assert curve.verdict.startswith("more data should help")
    assert curve.predicted_gain_2x == pytest.approx(3.0 * 400 ** -0.5 * (1 - 2 ** -0.5),
                                                    rel=1e-3)


def test_more_data_does_not_help_when_train_and_dev_have_met() -> None:
    X, y = _data()
    curve = learning_curve(_synthetic(lambda m: 0.301 + m ** -1.0, lambda m: 0.30), X, y)
    assert not curve.more_data_helps
    assert "curves have met" in curve.verdict and "bigger network" in curve.verdict


def test_curves_that_meet_at_human_level_are_a_good_fit_not_bias() -> None:
    X, y = _data()
    curve = learning_curve(_synthetic(lambda m: 0.051 + m ** -1.0, lambda m: 0.05), X, y,
                           human_level_error=0.05)
    assert not curve.more_data_helps
    assert "a good fit" in curve.verdict and "bigger network" not in curve.verdict
    assert curve.human_level_error == 0.05


def test_more_data_helps_little_when_the_dev_curve_has_flattened() -> None:
    X, y = _data()
    curve = learning_curve(_synthetic(lambda m: 0.2 + 50.0 * m ** -2.0), X, y)
    assert curve.gap > 0.1
    assert not curve.more_data_helps
    assert "help little" in curve.verdict and "regularization" in curve.verdict


def test_overfitting_tree_is_helped_by_more_data_logistic_on_xor_is_not() -> None:
    rng = np.random.default_rng(1)
    X = rng.uniform(-1, 1, size=(1600, 2))
    xor = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(float)
    noisy = np.where(rng.uniform(size=1600) < 0.05, 1 - xor, xor)
    tree = learning_curve(
        estimator_train_fn(lambda: DecisionTreeClassifier(random_state=0), "binary",
                           X[1200:], xor[1200:], "accuracy"),
        X[:1200], noisy[:1200], sizes=[40, 80, 160, 320, 600, 1200])
    assert tree.train_errors[-1] == 0.0  # a full tree memorizes its training set
    assert tree.dev_errors[-1] < tree.dev_errors[0]
    assert tree.more_data_helps
    linear = learning_curve(
        estimator_train_fn(LogisticRegression, "binary", X[1200:], xor[1200:], "accuracy"),
        X[:1200], xor[:1200])
    assert min(linear.train_errors) > 0.3  # high bias: a line cannot separate XOR
    assert not linear.more_data_helps


def test_default_sizes_are_five_log_spaced_up_to_all_rows() -> None:
    sizes = default_sizes(1600)
    assert sizes == [100, 200, 400, 800, 1600]
    with pytest.raises(FullcycleError, match="at least 5 different"):
        default_sizes(18)


def test_subsets_are_nested_and_stratified() -> None:
    y = np.r_[np.ones(40), np.zeros(360)]  # 10% positives
    seen: list[np.ndarray] = []

    def train_fn(X: np.ndarray, y_sub: np.ndarray) -> tuple[float, float]:
        seen.append(X[:, 0].copy())
        assert abs(y_sub.mean() - 0.1) < 0.04  # every prefix keeps the class share
        return 0.0, 0.1

    X = np.arange(400, dtype=float).reshape(-1, 1)
    learning_curve(train_fn, X, y)
    for small, large in zip(seen, seen[1:], strict=False):
        assert set(small) <= set(large)
    order = nested_order(y, seed=3)
    assert sorted(order) == list(range(400))


def test_four_argument_train_fn_receives_the_dev_set() -> None:
    X, y = _data()
    X_dev, y_dev = X[:7], y[:7]
    calls: list[int] = []

    def train_fn(X_sub, y_sub, X_d, y_d) -> tuple[float, float]:
        assert X_d is X_dev and y_d is y_dev
        calls.append(len(X_sub))
        return 0.0, 1.0 / len(X_sub)

    curve = fc.learning_curve(train_fn, X, y, X_dev, y_dev, sizes=[0.1, 0.2, 0.4, 0.8, 1.0])
    assert calls == [40, 80, 160, 320, 400] == list(curve.sizes)


def test_time_budget_skips_the_largest_sizes() -> None:
    import time

    def slow(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        time.sleep(len(X) * 2e-4)  # 0.02 s at 100 rows ... 0.32 s at 1600
        return 0.0, 0.1

    X, y = _data(1600)
    curve = learning_curve(slow, X, y, budget=0.25)
    assert curve.skipped_sizes and curve.skipped_sizes[-1] == 1600
    assert "time budget" in curve.verdict


def test_one_size_in_the_time_claims_nothing_about_more_data() -> None:
    import time

    def slow(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        time.sleep(0.3)  # the first size alone outlasts the budget
        return 0.0, 0.3

    X, y = _data(1600)
    curve = learning_curve(slow, X, y, budget=0.2)
    assert len(curve.sizes) == 1 and curve.more_data_helps is None
    assert curve.verdict.startswith("one training-set size (100 rows) is too few to tell")
    diagnosis = fc.diagnose(0.0, 0.3, 0.0, more_data_helps=curve.more_data_helps)
    assert "learning curve" not in " ".join(diagnosis.next_actions)


def test_result_is_json_able_with_the_contract_keys() -> None:
    X, y = _data()
    data = json.loads(json.dumps(
        learning_curve(_synthetic(lambda m: m ** -0.5), X, y).to_dict()))
    assert {"sizes", "train_errors", "dev_errors", "fit", "verdict",
            "more_data_helps"} <= set(data)
    assert set(data["fit"]) == {"a", "b", "c", "r2"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"sizes": [10, 20, 40]}, "at least 5 different sizes"),
        ({"sizes": [10, 20, 40, 80, 800]}, "outside 1..400"),
    ],
)
def test_bad_sizes_are_refused(kwargs, message) -> None:
    X, y = _data()
    with pytest.raises(FullcycleError, match=message):
        learning_curve(_synthetic(lambda m: 0.1), X, y, **kwargs)


def test_network_learning_curve_trains_a_fresh_net_per_size() -> None:
    from fullcycle.diagnosis.learning_curves import network_train_fn
    from fullcycle.models.mlp import TabularMLP

    rng = np.random.default_rng(2)
    X = rng.normal(size=(500, 2)).astype(np.float32)
    y = (X[:, 0] ** 2 + X[:, 1] ** 2 < 1.2).astype(np.float32)  # a disc: needs a hidden layer
    made: list[TabularMLP] = []

    def make_model() -> TabularMLP:
        made.append(TabularMLP(2, 1, hidden=[16]))
        return made[-1]

    train_fn = network_train_fn(make_model, "binary", X[400:], y[400:], "accuracy",
                                epochs=8, lr=1e-2, batch_size=32)
    curve = learning_curve(train_fn, X[:400], y[:400], sizes=[25, 50, 100, 200, 400])
    assert len(made) == 5 and len({id(m) for m in made}) == 5
    assert curve.dev_errors[-1] < curve.dev_errors[0]
    assert curve.dev_errors[-1] < 0.2  # the network learns the disc with 400 rows


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"tolerance": -0.1}, "tolerance must be"),
     ({"human_level_error": float("nan")}, "human_level_error must be")],
)
def test_bad_tolerance_or_human_error_is_refused(kwargs, message) -> None:
    X, y = _data()
    with pytest.raises(FullcycleError, match=message):
        learning_curve(_synthetic(lambda m: 0.1), X, y, **kwargs)


@pytest.mark.parametrize("returned", [None, (0.1,), (0.1, float("nan"))])
def test_a_train_fn_returning_garbage_is_named(returned) -> None:
    X, y = _data()
    with pytest.raises(FullcycleError, match="train_fn returned"):
        learning_curve(lambda X, y: returned, X, y)
