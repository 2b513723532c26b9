"""A realistic run directory, written the way the autopilot writes one, for the report tests."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fullcycle.analysis.errors import error_analysis
from fullcycle.journal import Journal
from fullcycle.rundir import RunDir


def _error_analysis_section() -> dict[str, Any]:
    rng = np.random.default_rng(0)
    n = 300
    classes = ["cat", "dog", "fox"]
    truth = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 2.5 * np.eye(3)[truth]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = truth.copy()
    flipped = rng.choice(n, 9, replace=False)  # 3% mislabelled: label-error candidates
    y[flipped] = (y[flipped] + 1) % 3
    features = pd.DataFrame(
        {
            "camera": rng.choice(["phone", "dslr", "webcam"], n),
            "brightness": rng.uniform(0, 1, n),
        }
    )
    rows = np.sort(rng.choice(5000, n, replace=False))
    return error_analysis(y, proba, classes=classes, features=features, rows=rows).to_dict()


def summary_document() -> dict[str, Any]:
    """A summary.json as a full `fullcycle run` of a 3-class problem leaves it."""
    lrs = np.logspace(-6, 0, 60)
    losses = 1.1 - 0.8 / (1 + np.exp(-(np.log10(lrs) + 3.5) * 2)) + np.where(lrs > 0.2, 3 * lrs, 0)
    return {
        "task": "multiclass",
        "metric": {"name": "accuracy", "train": 0.962, "dev": 0.874, "test": 0.861},
        "errors": {"train": 0.038, "train_dev": 0.052, "dev": 0.126, "test": 0.139},
        "human_level_error": 0.02,
        "baselines": [
            {"name": "majority class", "train_error": 0.655, "dev_error": 0.661},
            {"name": "logistic regression", "train_error": 0.21, "dev_error": 0.228},
        ],
        "diagnosis": {
            "train_error": 0.038,
            "train_dev_error": 0.052,
            "dev_error": 0.126,
            "test_error": 0.139,
            "human_level_error": 0.02,
            "tolerance": 0.005,
            "avoidable_bias": 0.018,
            "variance": 0.014,
            "data_mismatch": 0.074,
            "dev_overfit": 0.013,
            "primary_problem": "data_mismatch",
            "next_actions": [
                "carry out manual error analysis on train-dev vs dev errors",
                "make the training data more similar: collect more data like the dev/test sets",
            ],
        },
        "experiments": [
            {
                "change": "initial model (1 hidden layer of 16)",
                "reason": "the seeds' width rule",
                "train_error": 0.081,
                "dev_error": 0.152,
                "kept": True,
            },
            {
                "change": "train longer (40 epochs)",
                "reason": "avoidable bias 6.1% is the largest gap",
                "train_error": 0.052,
                "dev_error": 0.139,
                "kept": True,
            },
            {
                "change": "dropout 0.25 before the last layer",
                "reason": "variance 4.0% after bias",
                "train_error": 0.038,
                "dev_error": 0.126,
                "kept": True,
            },
            {
                "change": "L2 1e-3",
                "reason": "variance remains",
                "train_error": 0.041,
                "dev_error": 0.131,
                "kept": False,
            },
        ],
        "architecture": {
            "n_inputs": 4,
            "n_outputs": 3,
            "n_samples": 3000,
            "hidden": [16],
            "rule_of_thumb": {"2": 214.3, "5": 85.7, "10": 42.9},
            "reason": "one hidden layer between input and output sizes (seed 001)",
        },
        "test_accesses": 1,
        "splits": {"train": 3000, "train_dev": 500, "dev": 750, "test": 750},
        "profile": {
            "n_rows": 5000,
            "n_columns": 3,
            "missing_cells": 12,
            "columns": [
                {
                    "name": "camera",
                    "kind": "text",
                    "missing": 0,
                    "missing_share": 0.0,
                    "distinct": 3,
                    "role": "feature",
                },
                {
                    "name": "brightness",
                    "kind": "numeric",
                    "missing": 12,
                    "missing_share": 0.0024,
                    "distinct": 4988,
                    "role": "feature",
                    "min": 0.0,
                    "max": 1.0,
                    "mean": 0.5,
                },
                {
                    "name": "animal",
                    "kind": "text",
                    "missing": 0,
                    "missing_share": 0.0,
                    "distinct": 3,
                    "role": "target",
                },
            ],
            "class_balance": {
                "train": {"cat": 0.34, "dog": 0.33, "fox": 0.33},
                "dev": {"cat": 0.35, "dog": 0.32, "fox": 0.33},
            },
        },
        "duplicates_across_splits": 3,
        "checks": [
            {
                "name": "loss at init",
                "status": "pass",
                "value": 1.0991,
                "message": "close to ln 3 = 1.0986 for 3 balanced classes",
            },
            {
                "name": "overfit one batch",
                "status": "pass",
                "value": 0.0004,
                "message": "a batch of 32 reaches zero loss",
            },
            {
                "name": "gradient check",
                "status": "warn",
                "value": 2.3e-6,
                "message": "between 1e-7 and 1e-5: look again",
            },
            {
                "name": "dead ReLUs",
                "status": "fail",
                "value": 0.61,
                "message": "61% of first-layer units never fire",
            },
        ],
        "lr_finder": {
            "lrs": lrs.tolist(),
            "losses": losses.tolist(),
            "suggested_lr": 3e-3,
            "chosen_lr": 3e-3,
        },
        "learning_curve": {
            "sizes": [300, 750, 1500, 3000],
            "train_errors": [0.0, 0.012, 0.025, 0.038],
            "dev_errors": [0.31, 0.21, 0.16, 0.126],
            "verdict": "dev error still falls with more data: more data would help",
            "more_data_helps": True,
        },
        "search": {
            "best": {
                "number": 7,
                "round": "fine",
                "dev_error": 0.121,
                "train_error": 0.04,
                "params": {"lr": 0.0031, "dropout": 0.3},
            },
            "trials": [
                {
                    "number": 3,
                    "state": "complete",
                    "round": "coarse",
                    "dev_error": 0.124,
                    "params": {"lr": 0.0012, "dropout": 0.2},
                },
                {
                    "number": 5,
                    "state": "pruned",
                    "round": "coarse",
                    "dev_error": 0.3,
                    "params": {"lr": 0.5, "dropout": 0.1},
                },
                {
                    "number": 7,
                    "state": "complete",
                    "round": "fine",
                    "dev_error": 0.121,
                    "params": {"lr": 0.0031, "dropout": 0.3},
                },
            ],
            "counts": {"complete": 2, "pruned": 1},
            "importance": {"lr": 0.71, "dropout": 0.29},
        },
        "error_analysis": _error_analysis_section(),
    }


def write_journal(path: Path) -> None:
    """Journal three experiments with per-epoch losses and two decisions."""
    journal = Journal(path)
    run_id = journal.start_run("run", {"data": "animals.csv"})
    for name, epochs, floor in (("initial", 10, 0.35), ("longer", 20, 0.2), ("dropout", 20, 0.25)):
        eid = journal.start_experiment(run_id, name, {"epochs": epochs}, seed=0, reason=name)
        for epoch in range(epochs):
            train = floor + 0.8 * math.exp(-epoch / 4)
            journal.log_epoch(eid, epoch, {"train_loss": train, "dev_loss": train + 0.12})
        journal.end_experiment(eid, "finished", {"dev_error": floor / 2}, kept=True)
    journal.log_decision(
        run_id,
        "bias",
        {"avoidable_bias": 0.061},
        "train longer",
        "avoidable bias is the largest gap",
    )
    journal.log_decision(
        run_id,
        "variance",
        {"variance": 0.04},
        "add dropout 0.25",
        "variance is the largest gap after bias",
    )
    journal.end_run(run_id)
    journal.close()


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    """A complete run directory: summary.json and journal.sqlite."""
    run = RunDir(tmp_path / "animals")
    run.write_json("summary.json", summary_document())
    write_journal(run.file("journal.sqlite"))
    return run.path


@pytest.fixture
def journal_writer():
    """`write_journal`, for tests that build their own run directory."""
    return write_journal


# Every plot a complete run's report draws, by its alt text, in page order.
PLOTS = [
    "class balance per split",
    "baselines against the model",
    "LR finder",
    "loss curves",
    "bias variance chart",
    "learning curve",
    "parameter importance",
    "confusion matrix",
    "slices that hurt most",
]


@pytest.fixture
def expected_plots() -> list[str]:
    return list(PLOTS)
