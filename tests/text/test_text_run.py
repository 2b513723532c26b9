"""`fullcycle run` end to end on a table with a text column, multi-task runs, and the CLI's
one-line errors for bad text and multi-task inputs."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from tests.text.conftest import make_reviews
from tests.text.test_multitask import mixed_table


@pytest.fixture(scope="module")
def text_run(tmp_path_factory):
    """One tiny-budget run on text + numeric + categorical columns, shared by the tests."""
    from fullcycle.cli import main

    folder = tmp_path_factory.mktemp("textrun")
    make_reviews(160).to_csv(folder / "reviews.csv", index=False)
    code = main([
        "run", str(folder / "reviews.csv"), "--target", "label", "--budget", "10s",
        "--out", str(folder / "run"), "--quiet", "--text-column", "review"])
    assert code in (0, None)
    return folder


@pytest.mark.slow
def test_run_on_text_numeric_and_categorical_columns_end_to_end(text_run):
    summary = json.loads((text_run / "run" / "summary.json").read_text())
    names = [b["name"] for b in summary["baselines"]]
    assert names == ["majority", "linear", "gradient_boosting", "tfidf"]
    kinds = [d["kind"] for d in summary["decisions"]]
    assert "text_architecture" in kinds and "gradient_clipping" in kinds
    checks = {c["name"]: c["status"] for c in summary["checks"]}
    assert checks["batch_independence"] == "pass"
    assert summary["text"]["columns"][0]["name"] == "review"
    assert summary["errors"]["dev"] < 0.5  # learned something beyond the majority class
    errors = pd.read_csv(text_run / "run" / "errors.csv")
    assert "input.review" in errors.columns
    assert any(s["column"] == "review words" for s in summary["error_analysis"]["slices"]) \
        or summary["error_analysis"]["n_errors"] < 5


@pytest.mark.slow
def test_predict_from_the_bundle_with_the_same_column_names(text_run, cli, tmp_path):
    new = make_reviews(20, seed=5).drop(columns=["label"])
    new.to_csv(tmp_path / "new.csv", index=False)
    code, _, _ = cli("predict", text_run / "run" / "model", tmp_path / "new.csv",
                     "--out", tmp_path / "p.csv", "--json")
    assert code == 0
    predictions = pd.read_csv(tmp_path / "p.csv")
    assert len(predictions) == 20 and {"prediction", "proba_1"} <= set(predictions.columns)
    new.drop(columns=["review"]).to_csv(tmp_path / "bad.csv", index=False)
    code, _, err = cli("predict", text_run / "run" / "model", tmp_path / "bad.csv",
                       "--out", tmp_path / "p2.csv")
    assert code == 2 and "missing column(s) review" in err and err.count("\n") == 1


@pytest.mark.slow
def test_multitask_run_reports_each_task_and_the_mean(tmp_path):
    import fullcycle.recipe.autopilot as autopilot

    result = autopilot.run(mixed_table(200), "spam,topic,price", out=tmp_path / "run",
                           budget="10s")
    summary = result.summary
    assert summary["task"] == "multitask" and summary["metric"]["name"] == "mean_task_error"
    assert set(summary["tasks"]) == {"spam", "topic", "price"}
    assert summary["tasks"]["price"]["errors"]["dev"] is not None
    assert "diagnosis" in summary["tasks"]["topic"]
    assert set(summary["error_analysis"]["tasks"]) == {"spam", "topic", "price"}
    predictions = pd.read_csv(tmp_path / "run" / "dev_predictions.csv")
    assert {"y_pred_spam", "y_pred_topic", "y_pred_price"} <= set(predictions.columns)
    from fullcycle.serve.predictor import Predictor

    served = Predictor.load(tmp_path / "run" / "model").predict_frame(mixed_table(5, seed=3))
    assert {"prediction_spam", "proba_topic_a", "prediction_price"} <= set(served.columns)


@pytest.mark.parametrize("args, message", [
    (["--target", "review"], "looks like free text"),
    (["--target", "label", "--text-column", "nope"], "--text-column 'nope' not found"),
    (["--target", "label", "--text-tokenizer", "spaces"], "unknown tokenizer"),
    (["--target", "label", "--text-unicode", "ascii"], "unknown unicode normalization"),
])
def test_bad_text_inputs_are_one_line_exit_2(cli, tmp_path, args, message):
    make_reviews(60, missing_every=0).to_csv(tmp_path / "r.csv", index=False)
    code, _, err = cli("run", tmp_path / "r.csv", *args, "--budget", "10s",
                       "--out", tmp_path / "run")
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_metric_flag_on_a_multitask_run_is_one_line_exit_2(cli, tmp_path):
    mixed_table(60).to_csv(tmp_path / "m.csv", index=False)
    code, _, err = cli("run", tmp_path / "m.csv", "--target", "spam,topic", "--metric", "rmse",
                       "--budget", "10s", "--out", tmp_path / "run")
    assert code == 2 and "mean of its tasks' errors" in err and err.count("\n") == 1
