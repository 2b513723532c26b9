"""Multilabel error analysis: each label its own yes/no decision, missing labels left out."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fullcycle.analysis.errors import error_analysis, write_errors_csv
from fullcycle.errors import FullcycleError

LABELS = ["cat", "dog", "car"]


def test_per_label_counts_and_hamming_error_skip_missing_labels() -> None:
    y = np.array([[1, 0, np.nan], [0, 1, 1], [1, 1, 0], [0, 0, 0]])
    proba = np.array([[0.9, 0.2, 0.9], [0.1, 0.3, 0.8], [0.8, 0.7, 0.6], [0.2, 0.1, 0.1]])
    result = error_analysis(y, proba, task="multilabel", classes=LABELS, label_issues=False)
    assert result.confusion_matrix is None
    dog = result.label_confusion[1]
    assert (dog["tp"], dog["fp"], dog["fn"], dog["tn"]) == (1, 0, 1, 2)
    assert result.per_class[1]["recall"] == pytest.approx(0.5)
    car = result.label_confusion[2]
    assert car["tp"] + car["fp"] + car["fn"] + car["tn"] == 3  # the NaN is not counted
    # Wrong decisions: dog on row 1, car on row 2 -> 2 of 11 known labels.
    assert result.error == pytest.approx(2 / 11)
    assert result.examples["is_error"].tolist() == [False, True, True, False]
    assert result.highest_loss[0]["wrong_labels"] in ("dog", "car")


def test_flipped_label_is_suspected_in_multilabel_data() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 3))
    y = (x > 0).astype(float)
    proba = 1 / (1 + np.exp(-4 * x))
    flipped = rng.choice(300, 15, replace=False)
    y[flipped, 0] = 1 - y[flipped, 0]
    result = error_analysis(y, proba, task="multilabel", classes=LABELS)
    flagged = {issue.row for issue in result.label_issues}
    assert len(flagged & set(flipped.tolist())) / len(flagged) >= 0.7
    assert len(flagged & set(flipped.tolist())) / len(flipped) >= 0.5


def test_multilabel_errors_csv_names_the_wrong_labels(tmp_path) -> None:
    y = np.array([[1, 0, 0], [0, 1, 1]])
    proba = np.array([[0.9, 0.1, 0.2], [0.1, 0.2, 0.9]])
    result = error_analysis(y, proba, task="multilabel", classes=LABELS, label_issues=False)
    table = pd.read_csv(write_errors_csv(result, tmp_path / "errors.csv"), keep_default_na=False)
    assert table[["row", "y_true", "y_pred", "wrong_labels"]].values.tolist() == [
        [1, "dog;car", "car", "dog"]
    ]


def test_logits_are_refused_for_multilabel() -> None:
    with pytest.raises(FullcycleError, match="sigmoid"):
        error_analysis(np.zeros((2, 3)), np.full((2, 3), 3.0), task="multilabel")


def test_errors_command_reads_a_multilabel_run(cli, tmp_path) -> None:
    rng = np.random.default_rng(1)
    n = 60
    frame = pd.DataFrame({"row": range(n)})
    for label in LABELS:
        truth = rng.integers(0, 2, n).astype(float)
        frame[f"y_true_{label}"] = truth
        frame[f"proba_{label}"] = np.clip(truth * 0.7 + rng.uniform(0, 0.3, n), 0, 1)
    frame.loc[3, "y_true_dog"] = np.nan
    frame.loc[5, "proba_cat"] = 1 - frame.loc[5, "y_true_cat"]  # one confident mistake
    (tmp_path / "run").mkdir()
    frame.to_csv(tmp_path / "run" / "dev_predictions.csv", index=False)
    code, out, err = cli("errors", tmp_path / "run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["task"] == "multilabel" and doc["classes"] == LABELS
    assert doc["highest_loss"][0]["row"] == 5 and doc["n_errors"] >= 1
    code, out, _ = cli("errors", tmp_path / "run")
    assert code == 0 and "Per label" in out and "with a wrong label" in out
