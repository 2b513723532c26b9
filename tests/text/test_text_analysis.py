"""TF-IDF + logistic regression beside majority; error analysis that shows the texts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from fullcycle.analysis.errors import error_analysis, write_errors_csv
from fullcycle.data.dataset import prepare
from fullcycle.diagnosis.baselines import baselines


def _texts(p, *splits):
    return {s: p.frame_of(s)[p.text_columns] for s in splits}


def test_tfidf_baseline_sits_beside_majority_and_beats_it(reviews):
    p = prepare(reviews, "label")
    rows = baselines("binary", p.X["train"], p.y["train"], p.X["dev"], p.y["dev"], "accuracy",
                     categorical=p.preprocessor.categorical,
                     text_start=p.preprocessor.n_tabular, texts=_texts(p, "train", "dev"))
    by_name = {r["name"]: r for r in rows}
    assert list(by_name) == ["majority", "linear", "gradient_boosting", "tfidf"]
    assert by_name["tfidf"]["dev_error"] < by_name["majority"]["dev_error"] - 0.2
    assert "TF-IDF" in by_name["tfidf"]["model"] and "CV on train" in \
        by_name["tfidf"]["description"]
    # the linear model saw the table only: its error stays near the majority's
    assert by_name["linear"]["dev_error"] > by_name["tfidf"]["dev_error"] + 0.2


def test_text_only_table_has_no_separate_linear_row(reviews):
    p = prepare(reviews[["review", "label"]], "label")
    rows = baselines("binary", p.X["train"], p.y["train"], p.X["dev"], p.y["dev"], "accuracy",
                     text_start=0, texts=_texts(p, "train", "dev"))
    assert [r["name"] for r in rows] == ["majority", "tfidf"]


def test_regression_on_text_gets_tfidf_ridge(reviews):
    frame = reviews.assign(score=reviews["label"] * 2.0 + np.random.default_rng(0).normal(
        0, 0.1, len(reviews)))
    p = prepare(frame.drop(columns=["label"]), "score")
    rows = baselines("regression", p.X["train"], p.y["train"], p.X["dev"], p.y["dev"], "rmse",
                     categorical=p.preprocessor.categorical,
                     text_start=p.preprocessor.n_tabular, texts=_texts(p, "train", "dev"))
    tfidf = next(r for r in rows if r["name"] == "tfidf")
    assert tfidf["model"] == "TF-IDF + Ridge" and tfidf["dev_error"] < rows[0]["dev_error"]


def test_error_analysis_slices_texts_by_length_and_shows_them(reviews, tmp_path):
    p = prepare(reviews, "label")
    dev = p.frame_of("dev")[p.features].reset_index(drop=True)
    y = p.y["dev"].astype(int)
    rng = np.random.default_rng(0)
    proba = np.clip(np.where(y == 1, 0.7, 0.3) + rng.normal(0, 0.25, len(y)), 0.01, 0.99)
    proba[:3] = 1 - y[:3] * 0.98 - 0.01  # three confident mistakes: label-error candidates
    result = error_analysis(y, proba, task="binary", classes=p.classes, features=dev,
                            rows=p.rows["dev"], text_columns=["review"])
    columns = {s.column for s in result.slices}
    assert "review words" in columns and "review" not in columns
    top = result.highest_loss[0]
    assert "input.review" in top and {"y_true", "y_pred"} <= set(top)
    issues = result.to_dict()["label_issues"]
    assert issues and all("input.review" in i for i in issues)
    path = write_errors_csv(result, tmp_path / "errors.csv")
    table = pd.read_csv(path)
    assert "input.review" in table.columns and "tags" in table.columns
