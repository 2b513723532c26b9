"""`fullcycle errors` in a terminal: the highest-loss table, multilabel counts that add up."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

LABELS = ["cat", "dog", "car"]
CLASSES = ["cat", "dog", "fox"]


def _write_run(directory: Path, n: int = 120) -> None:
    """A run directory with the dev predictions the autopilot saves (3 classes)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 2.0 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"row": np.arange(n) * 2 + 7, "y_true": np.array(CLASSES)[y]})
    for i, name in enumerate(CLASSES):
        frame[f"proba_{name}"] = proba[:, i]
    directory.mkdir(parents=True, exist_ok=True)
    frame.to_csv(directory / "dev_predictions.csv", index=False)
    (directory / "summary.json").write_text(json.dumps({"task": "multiclass"}))


def test_errors_top_5_prints_the_highest_loss_table(cli, tmp_path) -> None:
    _write_run(tmp_path / "run")
    code, out, err = cli("errors", tmp_path / "run", "--top", "5")
    assert code == 0, err
    assert "Highest-loss examples (top 5)" in out
    section = out[out.index("Highest-loss examples"):]
    rows = [line for line in section.splitlines()[:12] if line.strip().startswith("│")
            and line.strip("│ ").split()[0].isdigit()]
    assert len(rows) == 5
    doc = json.loads(cli("errors", tmp_path / "run", "--top", "5", "--json")[1])
    assert str(doc["highest_loss"][0]["row"]) in section


def _multilabel_run(directory: Path, n: int = 400) -> None:
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, size=(n, 3)).astype(float)
    proba = np.where(y == 1, 0.9, 0.1)
    proba[:4, 0] = 1 - proba[:4, 0]  # 4 examples with one wrong label each
    frame = pd.DataFrame({"row": np.arange(n)})
    for j, label in enumerate(LABELS):
        frame[f"y_true_{label}"] = y[:, j]
        frame[f"proba_{label}"] = proba[:, j]
    directory.mkdir(parents=True)
    frame.to_csv(directory / "dev_predictions.csv", index=False)
    (directory / "summary.json").write_text(json.dumps({"task": "multilabel"}))


def test_multilabel_summary_line_gives_both_rates_with_their_counts(cli, tmp_path) -> None:
    _multilabel_run(tmp_path / "run")
    code, out, err = cli("errors", tmp_path / "run")
    assert code == 0, err
    first = " ".join(out.split("\n\n")[0].split())
    assert "4 with a wrong label (1.00% of examples)" in first, first
    assert "4 of 1,200 label decisions wrong (Hamming loss 0.33%)" in first, first
    doc = json.loads(cli("errors", tmp_path / "run", "--json")[1])
    assert doc["n_label_decisions"] == 1200 and doc["n_wrong_labels"] == 4
