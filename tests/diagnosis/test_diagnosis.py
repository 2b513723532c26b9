"""The diagnosis reproduces every worked example in the seeds and the issue."""

from __future__ import annotations

import json

import pytest

import fullcycle as fc
from fullcycle.diagnosis.diagnosis import DEFAULT_TOLERANCE, NEXT_ACTIONS, diagnose
from fullcycle.errors import FullcycleError

# --- seed 002's bias/variance table (Bayes error ≈ 0) -----------------------------------


def test_high_variance_when_train_1_dev_11() -> None:
    d = diagnose(train_error=0.01, dev_error=0.11)
    assert d.primary_problem == "variance"
    assert d.variance == pytest.approx(0.10)
    assert d.avoidable_bias == pytest.approx(0.01)
    assert d.next_actions[0] == "get more training data"


def test_high_bias_when_train_15_dev_16() -> None:
    d = diagnose(train_error=0.15, dev_error=0.16)
    assert d.primary_problem == "avoidable_bias"
    assert d.problems == ("avoidable_bias", "variance")
    assert d.next_actions[0].startswith("train a bigger network")


def test_high_bias_when_train_14_dev_15_as_in_seed_table() -> None:
    assert diagnose(train_error=0.14, dev_error=0.15).primary_problem == "avoidable_bias"


def test_bias_and_variance_when_train_15_dev_30_fixes_bias_first() -> None:
    d = diagnose(train_error=0.15, dev_error=0.30)
    assert set(d.problems) == {"avoidable_bias", "variance"}
    # equal gaps: the recipe's order decides ("always fix high bias problem first")
    assert d.primary_problem == "avoidable_bias"
    assert any("also above tolerance: variance;" in note for note in d.notes)


def test_bias_and_variance_when_train_14_dev_30_both_flagged() -> None:
    d = diagnose(train_error=0.14, dev_error=0.30)
    assert set(d.problems) == {"avoidable_bias", "variance"}
    assert d.primary_problem == "variance"  # 16 points against 14: the larger gap


def test_neither_when_train_half_percent_dev_1() -> None:
    d = diagnose(train_error=0.005, dev_error=0.01)
    assert d.primary_problem == "none"
    assert d.problems == ()
    assert any("within the tolerance" in note for note in d.notes)
    assert "test set once" in d.next_actions[0]


# --- seed 003: avoidable bias against human-level error ---------------------------------


def test_fix_bias_first_when_human_1_train_7_dev_10() -> None:
    d = diagnose(train_error=0.07, dev_error=0.10, human_level_error=0.01)
    assert d.avoidable_bias == pytest.approx(0.06)
    assert d.variance == pytest.approx(0.03)
    assert d.primary_problem == "avoidable_bias"


def test_fix_variance_when_human_6_train_7_dev_10() -> None:
    d = diagnose(train_error=0.07, dev_error=0.10, human_level_error=0.06)
    assert d.avoidable_bias == pytest.approx(0.01)
    assert d.variance == pytest.approx(0.03)
    assert d.primary_problem == "variance"


# --- seed 003: mismatched train and dev distributions -----------------------------------


def test_variance_when_train_1_train_dev_9_dev_10() -> None:
    d = diagnose(train_error=0.01, train_dev_error=0.09, dev_error=0.10)
    assert d.variance == pytest.approx(0.08)
    assert d.data_mismatch == pytest.approx(0.01)
    assert d.primary_problem == "variance"


def test_data_mismatch_when_train_1_train_dev_1_5_dev_10() -> None:
    d = diagnose(train_error=0.01, train_dev_error=0.015, dev_error=0.10)
    assert d.variance == pytest.approx(0.005)
    assert d.data_mismatch == pytest.approx(0.085)
    assert d.primary_problem == "data_mismatch"
    assert "manual error analysis" in d.next_actions[0]
    assert d.next_actions == NEXT_ACTIONS["data_mismatch"]


def test_without_train_dev_set_mismatch_is_unknown_and_said() -> None:
    d = diagnose(train_error=0.01, dev_error=0.10)
    assert d.data_mismatch is None
    assert any("no train-dev error" in note for note in d.notes)


# --- seed 001 step 5: overfitting the dev set -------------------------------------------


def test_dev_overfit_when_test_error_far_above_dev() -> None:
    d = diagnose(train_error=0.02, dev_error=0.03, test_error=0.09, human_level_error=0.01)
    assert d.dev_overfit == pytest.approx(0.06)
    assert d.primary_problem == "dev_overfit"
    assert "bigger dev set" in d.next_actions[0]


def test_test_below_dev_is_no_dev_overfit() -> None:
    d = diagnose(train_error=0.02, dev_error=0.021, test_error=0.015, human_level_error=0.02)
    assert d.primary_problem == "none"
    assert any("no sign of overfitting the dev set" in note for note in d.notes)


# --- negative avoidable bias, tolerance, validation --------------------------------------


def test_training_error_below_human_points_at_variance() -> None:
    d = diagnose(train_error=0.01, dev_error=0.06, human_level_error=0.04)
    assert d.avoidable_bias == pytest.approx(-0.03)
    assert d.primary_problem == "variance"
    assert any("overfitting the training set" in note for note in d.notes)


def test_tolerance_is_configurable() -> None:
    assert diagnose(0.07, 0.10, 0.06).primary_problem == "variance"
    relaxed = diagnose(0.07, 0.10, 0.06, tolerance=0.05)
    assert relaxed.primary_problem == "none"
    assert relaxed.tolerance == 0.05
    assert DEFAULT_TOLERANCE == 0.005


def test_regression_errors_above_one_are_accepted() -> None:
    d = diagnose(train_error=4.0, dev_error=9.5, human_level_error=3.0)
    assert d.primary_problem == "variance"
    assert d.variance == pytest.approx(5.5)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"train_error": -0.1, "dev_error": 0.1},
        {"train_error": float("nan"), "dev_error": 0.1},
        {"train_error": 0.1, "dev_error": float("inf")},
        {"train_error": 0.1, "dev_error": "ten"},
        {"train_error": 0.1, "dev_error": 0.2, "tolerance": -1},
    ],
)
def test_bad_errors_raise_a_fullcycle_error(kwargs: dict) -> None:
    with pytest.raises(FullcycleError, match="pass an error like"):
        diagnose(**kwargs)


def test_diagnosis_is_frozen_and_json_able_through_the_api() -> None:
    d = fc.diagnose(train_error=0.01, dev_error=0.11)
    with pytest.raises(AttributeError):
        d.variance = 0.0  # type: ignore[misc]
    data = json.loads(json.dumps(d.to_dict()))
    assert list(data)[:6] == [
        "avoidable_bias", "variance", "data_mismatch", "dev_overfit",
        "primary_problem", "next_actions",
    ]
    assert data["primary_problem"] == "variance"
    assert data["variance"] == 0.1  # float crumbs rounded away
    assert data["human_level_error"] == 0.0
    assert d.gaps() == {"avoidable_bias": 0.01, "variance": 0.1,
                        "data_mismatch": None, "dev_overfit": None}


def test_flat_learning_curve_moves_more_data_after_regularization() -> None:
    flat = diagnose(train_error=0.01, dev_error=0.11, more_data_helps=False)
    assert flat.next_actions[0].startswith("add dropout")
    assert flat.next_actions[-1].startswith("get more training data (last")
    falling = diagnose(train_error=0.01, dev_error=0.11, more_data_helps=True)
    assert falling.next_actions[0].startswith("get more training data (the learning curve")
    bias = diagnose(train_error=0.15, dev_error=0.16, more_data_helps=False)
    assert bias.next_actions == NEXT_ACTIONS["avoidable_bias"]
