"""A binary target scored by F1 gets its decision threshold chosen on dev; the bundle,
predict, the dev predictions and the error analysis all use it."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import f1_score

import fullcycle as fc
from fullcycle.data.target_encoding import TargetEncoding
from fullcycle.metrics import best_f1_threshold, compute_metric


def test_the_best_threshold_maximizes_f1_and_stays_at_half_when_nothing_beats_it():
    rng = np.random.default_rng(0)
    y = (rng.random(4000) < 0.05).astype(int)
    score = rng.normal(size=4000) + 1.5 * y
    proba = 1 / (1 + np.exp(-(score - 3.5)))  # a model too shy of the rare class
    t = best_f1_threshold(proba, y)
    assert t < 0.5
    grid = np.linspace(0.01, 0.99, 99)
    best_grid = max(f1_score(y, proba >= g) for g in grid)
    assert f1_score(y, proba >= t) >= best_grid - 1e-9
    assert f1_score(y, proba >= t) > f1_score(y, proba >= 0.5)
    assert best_f1_threshold(np.full(10, 0.9), np.ones(10, int)) == 0.5  # one class only
    perfect = np.r_[np.full(50, 0.2), np.full(50, 0.8)]
    assert best_f1_threshold(perfect, np.r_[np.zeros(50, int), np.ones(50, int)]) == 0.5
    logits = np.log(proba / (1 - proba))
    assert compute_metric("f1", "binary", logits, y, threshold=t) == pytest.approx(
        f1_score(y, proba >= t))


def test_the_encoding_decodes_with_its_threshold_and_old_bundles_read_as_half():
    encoding = TargetEncoding("binary", ["y"], ["no", "yes"], threshold=0.2)
    out = encoding.decode(np.log(np.array([0.1, 0.3, 0.6]) / np.array([0.9, 0.7, 0.4])))
    assert list(out["prediction"]) == ["no", "yes", "yes"]
    old = {k: v for k, v in encoding.to_dict().items() if k != "threshold"}
    assert TargetEncoding.from_dict(old).threshold == 0.5
    assert TargetEncoding.from_dict(encoding.to_dict()).threshold == 0.2


@pytest.fixture(scope="module")
def rare_run(tmp_path_factory):
    rng = np.random.default_rng(3)
    n = 3000
    x = rng.normal(size=(n, 4))
    y = rng.random(n) < 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 1] + x[:, 2] * x[:, 3] - 3.5)))
    frame = pd.DataFrame(x, columns=list("abcd"))
    frame["fraud"] = np.where(y, "yes", "no")
    root = tmp_path_factory.mktemp("rare")
    frame.to_csv(root / "fraud.csv", index=False)
    result = fc.run(root / "fraud.csv", "fraud", out=root / "run", budget="15s", seed=0)
    return root, result.summary


def test_a_rare_class_run_chooses_a_threshold_and_everything_uses_it(rare_run, cli):
    root, summary = rare_run
    assert summary["metric"]["name"] == "f1"
    chosen = summary["decision_threshold"]
    assert 0 < chosen["value"] < 1 and chosen["value"] != 0.5
    assert chosen["dev_error"] <= chosen["dev_error_at_0.5"]
    assert summary["errors"]["dev"] == pytest.approx(chosen["dev_error"])
    kinds = [d["kind"] for d in summary["decisions"]]
    assert kinds.index("decision_threshold") < len(kinds) - 1  # before the test evaluation
    assert summary["test_accesses"] == 1
    bundle = json.loads((root / "run" / "model" / "bundle.json").read_text())
    assert bundle["preprocessing"]["target"]["threshold"] == chosen["value"]
    dev = pd.read_csv(root / "run" / "dev_predictions.csv")
    assert ((dev["proba_yes"] >= chosen["value"]) == (dev["y_pred"] == "yes")).all()
    rows = pd.read_csv(root / "fraud.csv").iloc[dev["row"]].drop(columns=["fraud"])
    rows.to_csv(root / "new.csv", index=False)
    code, _, err = cli("predict", root / "run" / "model", root / "new.csv", "--out",
                       root / "preds.csv")
    assert code == 0, err
    preds = pd.read_csv(root / "preds.csv")
    assert (preds["prediction"].to_numpy() == dev["y_pred"].to_numpy()).all()
    f1 = f1_score(dev["y_true"] == "yes", dev["y_pred"] == "yes")
    assert 1 - f1 == pytest.approx(summary["errors"]["dev"], abs=1e-9)


def test_fullcycle_errors_counts_the_errors_at_the_chosen_threshold(rare_run, cli):
    root, _ = rare_run
    code, _, err = cli("errors", root / "run")
    assert code == 0, err
    analysis = json.loads((root / "run" / "error_analysis.json").read_text())
    dev = pd.read_csv(root / "run" / "dev_predictions.csv")
    matrix = np.array(analysis["confusion_matrix"])
    assert matrix.sum() - np.trace(matrix) == int((dev["y_true"] != dev["y_pred"]).sum())
