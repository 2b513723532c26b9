"""One trainer: `fc.train`, the search's trials and `fullcycle train` give the same numbers.

The pinned errors are what the three separate trainers produced before they became one
(issue "One trainer, one search, one name per concept"), on one small config and seed.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import fullcycle as fc
from fullcycle.recipe.config import TrainConfig
from fullcycle.tuning.objective import TabularObjective, train_trial

PINNED = {
    "binary": {"train": 0.38888888888888884, "dev": 0.375},
    "regression": {"train": 8.216692130129083, "dev": 7.481420415679435},
}


def _table(task: str) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 240
    X = rng.normal(size=(n, 4))
    cat = rng.choice(["a", "b", "c"], size=n)
    logit = X[:, 0] - 0.5 * X[:, 1] + (cat == "b") * 1.0
    y = (logit + 0.3 * rng.normal(size=n) > 0).astype(int)
    if task == "regression":
        y = 10 * logit + rng.normal(size=n)
    df = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    df["c"], df["y"] = cat, y
    return df


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_the_three_callers_reproduce_the_pinned_errors(task, tmp_path, cli) -> None:
    path = tmp_path / "t.csv"
    _table(task).to_csv(path, index=False)
    p = fc.prepare(path, target="y")
    pinned = PINNED[task]

    outcome = fc.train(p, TrainConfig(hidden=(8,), lr=0.01, epochs=4, batch_size=32,
                                      schedule=None, patience=0, seed=0))
    assert outcome.errors["train"] == pytest.approx(pinned["train"], rel=1e-9)
    assert outcome.errors["dev"] == pytest.approx(pinned["dev"], rel=1e-9)

    base = TabularObjective(p, {"schedule": None, "patience": 0}).base
    trial = train_trial({"hidden_units": 8, "layers": 1, "lr": 0.01, "epochs": 4,
                         "batch_size": 32, "seed": 0}, p, base)
    assert trial.errors["train"] == pytest.approx(pinned["train"], rel=1e-9)
    assert trial.dev_error == pytest.approx(pinned["dev"], rel=1e-9)

    code, _, err = cli("train", path, "--target", "y", "--hidden", "8", "--lr", "0.01",
                       "--epochs", "4", "--batch-size", "32", "--schedule", "none",
                       "--early-stopping", "0", "--out", tmp_path / "run", "--quiet")
    assert code == 0, err
    errors = json.loads((tmp_path / "run" / "summary.json").read_text())["errors"]
    assert errors["train"] == pytest.approx(pinned["train"], rel=1e-9)
    assert errors["dev"] == pytest.approx(pinned["dev"], rel=1e-9)


def test_train_infers_loss_metric_and_outputs_and_takes_single_knobs(tmp_path) -> None:
    df = _table("binary")
    df["y"] = np.where(df["y"] == 1, "yes", "no")
    p = fc.prepare(df, target="y")
    outcome = fc.train(p, hidden=[16, 8], epochs=3, dropout=0.25)
    assert outcome.metric == "accuracy" and outcome.config.hidden == (16, 8)
    assert outcome.config.dropout == (0.25, 0.25) and outcome.config.batch_size == 32
    assert outcome.model.output.out_features == 1 and len(outcome.history) == 3
    assert set(outcome.errors) == {"train", "train_dev", "dev"}
    with pytest.raises(fc.FullcycleError, match="unknown training setting"):
        fc.train(p, hiden=[4])


def test_defaults_are_chosen_from_the_data_by_one_rule() -> None:
    p = fc.prepare(_table("binary"), target="y")
    from fullcycle.recipe.trainer import first_hidden, resolved

    config = resolved(p)
    # 4 numeric inputs + a 3-category embedding of width 3, one output: midpoint (7+1)/2
    assert config.hidden == (first_hidden(p),) == (4,)
    assert config.batch_size == 32 and config.epochs == 200 and config.patience == 50


def test_fit_without_a_seed_leaves_the_global_rng_alone() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.5),
                                torch.nn.Linear(8, 1))
    X, y = torch.randn(64, 3), torch.randn(64)
    before = torch.random.get_rng_state()
    fc.fit(model, (X, y), loss="mse", epochs=2, progress=False)
    assert torch.equal(torch.random.get_rng_state(), before)
    fc.fit(model, (X, y), loss="mse", epochs=2, progress=False, seed=3)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_a_given_seed_still_makes_a_fit_reproducible() -> None:
    def once() -> torch.Tensor:
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Dropout(0.5),
                                    torch.nn.Linear(8, 1))
        X, y = torch.randn(64, 3), torch.randn(64)
        torch.manual_seed(123)  # whatever the caller's RNG holds, the seed decides
        fc.fit(model, (X, y), loss="mse", epochs=2, progress=False, seed=7)
        return torch.cat([q.detach().flatten() for q in model.parameters()])

    assert torch.equal(once(), once())


def test_train_does_not_reseed_the_global_rng(tmp_path) -> None:
    p = fc.prepare(_table("binary"), target="y")
    before = torch.random.get_rng_state()
    fc.train(p, epochs=1)
    assert torch.equal(torch.random.get_rng_state(), before)


def test_fit_journal_takes_a_journal_callback_only(tmp_path) -> None:
    model = torch.nn.Linear(3, 1)
    journal = fc.Journal(tmp_path / "j.sqlite")
    with pytest.raises(fc.FullcycleError, match="JournalCallback"):
        fc.fit(model, (torch.randn(8, 3), torch.randn(8)), loss="mse", epochs=1,
               progress=False, journal=(journal, 1))
