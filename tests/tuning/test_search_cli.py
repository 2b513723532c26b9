"""`fullcycle search` through the real command line, training the built-in TabularMLP."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def table(tmp_path):
    """200 rows, a binary target that depends on two of four features, one categorical."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    frame = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    frame["colour"] = rng.choice(["red", "green", "blue"], size=200)
    frame["y"] = (x[:, 0] - x[:, 1] + 0.3 * rng.normal(size=200) > 0).astype(int)
    path = tmp_path / "table.csv"
    frame.to_csv(path, index=False)
    return path


def test_search_json_has_best_and_trials_with_rounds_and_lr(cli, table, tmp_path):
    out = tmp_path / "run"
    code, stdout, stderr = cli("search", table, "--target", "y", "--trials", "6", "--epochs",
                               "3", "--out", out, "--json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert set(doc["best"]) >= {"params", "dev_error"}
    assert "lr" in doc["best"]["params"]
    assert 0.0 <= doc["best"]["dev_error"] <= 1.0
    assert len(doc["trials"]) == 6
    for t in doc["trials"]:
        assert set(t) >= {"number", "state", "round", "params", "dev_error"}
    assert [t["round"] for t in doc["trials"]] == ["coarse"] * 4 + ["fine"] * 2
    assert doc["best"]["dev_error"] == min(t["dev_error"] for t in doc["trials"]
                                           if t["state"] == "complete")
    summary = json.loads((out / "summary.json").read_text())
    assert summary["search"]["best"] == doc["best"]
    assert summary["search"]["diagnosis"]["primary_problem"]


def test_search_prints_a_table_for_people_and_resumes_without_rerunning(cli, table, tmp_path):
    out = tmp_path / "run"
    args = ("search", table, "--target", "y", "--trials", "4", "--epochs", "2", "--out", out)
    code, stdout, _ = cli(*args)
    assert code == 0
    assert "best of 4 trials" in stdout and "--join" in stdout
    code, stdout, _ = cli(*args, "--json")  # resume: all 4 finished, nothing trains again
    assert code == 0
    assert len(json.loads(stdout)["trials"]) == 4


def test_retrain_best_reproduces_the_best_trial_and_writes_a_bundle(cli, table, tmp_path):
    pytest.importorskip("fullcycle.models.bundle", reason="the model bundle is not written yet")
    out = tmp_path / "run"
    code, stdout, stderr = cli("search", table, "--target", "y", "--trials", "4", "--epochs",
                               "3", "--out", out, "--retrain-best", "--json")
    assert code == 0, stderr
    doc = json.loads(stdout)
    retrained = doc["retrained"]
    assert retrained["dev_error"] == pytest.approx(doc["best"]["dev_error"])
    assert (out / "model").is_dir()
    assert retrained["diagnosis"]["primary_problem"]


@pytest.mark.parametrize("args, words", [
    (("--trials", "0"), "--trials 0 is too small"),
    ((), "needs a size"),
    (("--trials", "4", "--sampler", "grid"), "sampler 'grid' is unknown"),
    (("--trials", "4", "--pruner", "always"), "pruner 'always' is unknown"),
    (("--trials", "4", "--workers", "0"), "--workers 0"),
    (("--budget", "soon"), "not a duration"),
    (("--trials", "4", "--storage", "mysql://db"), "not a database URL"),
    (("--trials", "4", "--optimizer", "lbfgs"), "cannot be searched"),
])
def test_bad_flags_end_in_one_line_and_exit_2(cli, table, tmp_path, args, words):
    code, stdout, stderr = cli("search", table, "--target", "y", "--out", tmp_path / "r",
                               "--epochs", "1", *args)
    assert code == 2
    assert words in stderr
    assert stderr.startswith("error: ") and stderr.count("\n") == 1


def test_joining_an_unknown_study_or_other_data_is_refused(cli, table, tmp_path):
    out = tmp_path / "run"
    code, _, stderr = cli("search", table, "--target", "y", "--join", "nosuch", "--out", out)
    assert code == 2 and "no study 'nosuch'" in stderr
    assert cli("search", table, "--target", "y", "--trials", "4", "--epochs", "1", "--out",
               out, "--quiet")[0] == 0
    other = tmp_path / "other.csv"
    frame = pd.read_csv(table)
    frame.loc[0, "a"] = 99.0
    frame.to_csv(other, index=False)
    code, _, stderr = cli("search", other, "--target", "y", "--join", "run", "--out", out)
    assert code == 2 and "pass the same DATA file" in stderr


def test_unreachable_postgres_is_a_user_error(cli, table, tmp_path):
    pytest.importorskip("psycopg2")
    code, _, stderr = cli("search", table, "--target", "y", "--trials", "2", "--storage",
                          "postgresql://nobody@127.0.0.1:1/none", "--out", tmp_path / "r")
    assert code == 2 and "cannot open search storage" in stderr
