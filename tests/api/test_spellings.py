"""One spelling per concept: `human_level_error`, `budget`, `out`; one error-rate parser."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd
import pytest

import fullcycle as fc


def _classification_csv(path) -> str:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=80), "b": rng.normal(size=80)})
    df["y"] = (df.a > 0).astype(int)
    df.to_csv(path, index=False)
    return str(path)


@pytest.mark.parametrize("value", ["2", "150%"])
def test_human_error_above_one_on_classification_exits_2_with_one_line(cli, tmp_path, value):
    data = _classification_csv(tmp_path / "t.csv")
    code, out, err = cli("run", data, "--target", "y", "--human-error", value,
                         "--budget", "20s", "--out", tmp_path / "run", "--quiet")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err and "--human-error" in err
    assert not (tmp_path / "run" / "summary.json").exists()


def test_run_refuses_human_level_error_above_one_through_the_api(tmp_path) -> None:
    data = _classification_csv(tmp_path / "t.csv")
    with pytest.raises(fc.FullcycleError, match="between 0 and 1"):
        fc.run(data, "y", human_level_error=2.0, budget="20s", out=tmp_path / "run")


def test_public_entry_points_share_their_keyword_names() -> None:
    run = inspect.signature(fc.run).parameters
    search = inspect.signature(fc.search).parameters
    for name in ("human_level_error", "budget", "out"):
        assert name in run and name in search, name
    for old in ("human_error", "budget_s", "out_dir", "time_budget_s"):
        assert old not in run and old not in search
    assert "budget" in inspect.signature(fc.learning_curve).parameters


def test_search_runs_in_memory_without_out_or_storage() -> None:
    def objective(config, report):
        return (config["x"] - 0.3) ** 2

    result = fc.search(objective=objective, space=lambda t: {"x": t.suggest_float("x", 0, 1)},
                       trials=5, pruner="none")
    assert result.best is not None and result.storage == "in memory"
    with pytest.raises(fc.FullcycleError, match="database"):
        fc.search(objective=objective, space=lambda t: {"x": t.suggest_float("x", 0, 1)},
                  trials=2, workers=2)


def test_search_refuses_raw_data_it_cannot_prepare_with_what_to_pass() -> None:
    with pytest.raises(fc.FullcycleError, match="fc.prepare"):
        fc.search([[1, 2], [3, 4]], trials=2)
