"""A column that alone predicts the target is named as a possible leak; honest ones are not."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer

from fullcycle.data.dataset import prepare
from fullcycle.diagnosis.leakage import single_column_leaks
from fullcycle.recipe.steps import run_baselines


def _table(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + x[:, 1] * x[:, 2] > 0).astype(int)
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["refund"] = np.where(y == 1, rng.normal(5, 0.1, n), rng.normal(0, 0.1, n))
    frame["closed_at"] = np.where(y == 1, np.nan, rng.normal(size=n))  # missing iff positive
    frame["opened"] = np.where(rng.random(n) < 0.5, np.nan, rng.normal(size=n))
    frame["target"] = np.where(y == 1, "yes", "no")
    return frame


def test_leaked_columns_are_named_with_the_input_column_to_ignore():
    p = prepare(_table(), "target")
    rows, decision = run_baselines(p, "accuracy", 0)
    assert decision.observed["single_column_leaks"] == ["refund", "closed_at"]
    assert "--ignore refund" in decision.action and "--ignore closed_at" in decision.action
    notes = [n for n in p.notes if "alone predicts the target" in n]
    assert len(notes) == 2
    run_baselines(p, "accuracy", 0)  # said once, however often the baselines run
    assert len([n for n in p.notes if "alone predicts the target" in n]) == 2


def test_a_leaking_missing_flag_is_named_by_its_column():
    rng = np.random.default_rng(2)
    frame = _table().drop(columns=["refund", "closed_at"])
    frame["closed_at"] = np.where(frame["target"] == "yes", np.nan, 0.0)
    frame.loc[frame["target"] == "no", "closed_at"] = rng.choice([0.0, np.nan], (frame[
        "target"] == "no").sum(), p=[0.99, 0.01])
    leaks = run_baselines(p := prepare(frame, "target"), "accuracy", 0)[1].observed
    assert leaks["single_column_leaks"] == ["closed_at"]
    assert "'closed_at' (as closed_at__missing)" in next(n for n in p.notes if "alone" in n)


def test_honest_tables_raise_no_warning():
    clean = _table().drop(columns=["refund", "closed_at"])
    _, decision = run_baselines(prepare(clean, "target"), "accuracy", 0)
    assert "single_column_leaks" not in decision.observed
    cancer = load_breast_cancer(as_frame=True).frame
    _, decision = run_baselines(prepare(cancer, "target"), "accuracy", 0)
    assert "single_column_leaks" not in decision.observed


def test_regression_leak_by_r2_and_no_verdict_on_tiny_dev_sets():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(2000, 2))
    y = x[:, 0] + 0.5 * rng.normal(size=2000)
    leaked = np.column_stack([x, np.round(y, 1)])
    leaks = single_column_leaks("regression", leaked[:1500], y[:1500], leaked[1500:], y[1500:],
                                ["x0", "x1", "y_rounded"])
    assert [leak.column for leak in leaks] == ["y_rounded"] and leaks[0].score > 0.995
    assert "dev R²" in leaks[0].line("regression")
    assert single_column_leaks("regression", leaked[:100], y[:100], leaked[100:150],
                               y[100:150], ["x0", "x1", "y_rounded"]) == []
    assert single_column_leaks("multilabel", leaked, y, leaked, y, ["a", "b", "c"]) == []
