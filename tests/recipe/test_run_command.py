"""`fullcycle run` and `fullcycle demo` through the real command line."""

from __future__ import annotations

import json

import pytest


def test_run_json_prints_the_summary_contract(cli, circle_csv, tmp_path):
    code, out, err = cli("run", circle_csv, "--target", "inside", "--budget", "10s",
                         "--human-error", "1%", "--satisfice", "params<=100000",
                         "--out", tmp_path / "run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["human_level_error"] == pytest.approx(0.01)
    assert doc["test_accesses"] == 1
    assert doc["metric"]["name"] == "accuracy"
    assert all(e["params"] <= 100_000 for e in doc["experiments"] if e["kept"])
    assert (tmp_path / "run" / "report.html").exists()


def test_satisficing_constraint_rejects_every_candidate_that_breaks_it(cli, circle_csv,
                                                                       tmp_path):
    code, out, err = cli("run", circle_csv, "--target", "inside", "--budget", "10s",
                         "--satisfice", "params<=1", "--out", tmp_path / "run", "--json")
    assert code == 0, err
    experiments = json.loads(out)["experiments"]
    assert all(e["violations"] for e in experiments)
    assert not any(e["kept"] for e in experiments[1:])


@pytest.mark.parametrize(("flags", "expected"), [
    (["--human-error", "lots"], "--human-error"),
    (["--satisfice", "speed<3"], "satisfice"),
    (["--metric", "rmse"], "metric"),
    (["--hidden", "0,4"], "--hidden"),
    (["--budget", "2s"], "too short"),
])
def test_bad_run_flags_give_one_line_and_exit_2(cli, circle_csv, tmp_path, flags, expected):
    code, out, err = cli("run", circle_csv, "--target", "inside", *flags,
                         "--out", tmp_path / "run")
    assert code == 2, err
    assert err.count("\n") == 1 and expected in err, err
    assert out == ""


@pytest.mark.slow
def test_demo_runs_the_recipe_on_a_bundled_data_set(cli, tmp_path):
    code, out, err = cli("demo", "--out", tmp_path / "demo", "--budget", "10s", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["task"] == "binary" and doc["test_accesses"] == 1
    assert (tmp_path / "demo" / "report.html").exists()
