"""Text and multi-task through the one trainer: `fc.train`, `resolve`, search trials,
`fullcycle train` and `fullcycle check` all build the text model via `build_model`."""

from __future__ import annotations

import json

import pytest

import fullcycle as fc
from fullcycle.data.dataset import prepare
from fullcycle.errors import FullcycleError
from fullcycle.models.mlp import TabularMLP
from fullcycle.models.text import TextMLP, text_sizes
from fullcycle.recipe.config import TEXT_MIN_BATCH, TrainConfig
from fullcycle.recipe.trainer import build_model, resolved
from tests.text.conftest import make_reviews
from tests.text.test_multitask import mixed_table


@pytest.fixture(scope="module")
def text_table():
    return prepare(make_reviews(120), "label", text_columns=["review"])


def test_resolve_sizes_the_text_path_from_the_vocabulary(text_table):
    config = resolved(text_table)
    vocabulary = max(v for _, _, v in text_table.preprocessor.text)
    assert (config.text_embedding, config.text_hidden) == text_sizes(vocabulary,
                                                                     len(text_table.X["train"]))
    assert config.batch_size >= TEXT_MIN_BATCH and config.clip_norm == 1.0
    assert "LSTM" in config.describe()
    # what the user sets is kept: clipping off (0), other sizes, a smaller batch
    mine = resolved(text_table, TrainConfig(clip_norm=0, text_hidden=24, batch_size=32))
    assert (mine.clip_norm, mine.text_hidden, mine.batch_size) == (0, 24, 32)


def test_a_table_without_text_keeps_the_tabular_defaults():
    p = prepare(mixed_table(80).drop(columns=["topic", "price"]), "spam",
                drop_missing_target=True)
    config = resolved(p)
    assert config.text_embedding is None and config.clip_norm is None
    assert isinstance(build_model(p, config), TabularMLP)


def test_text_only_table_has_no_tabular_body():
    frame = make_reviews(80)[["review", "label"]]
    p = prepare(frame, "label", text_columns=["review"])
    assert resolved(p).hidden == ()
    model = build_model(p, TrainConfig())
    assert isinstance(model, TextMLP) and model.tabular is None


def test_fc_train_builds_the_text_model(text_table):
    outcome = fc.train(text_table, epochs=2, text_hidden=16, text_embedding=16)
    assert isinstance(outcome.model, TextMLP)
    assert outcome.model.config["hidden_size"] == 16
    assert outcome.config.clip_norm == 1.0 and outcome.errors["dev"] is not None


def test_a_search_trial_trains_the_text_model(text_table):
    from fullcycle.tuning.objective import train_trial, trial_config

    config = trial_config({"text_hidden": 8, "bidirectional": True, "epochs": 1},
                          n_train=len(text_table.X["train"]), first_hidden=4)
    assert (config.text_hidden, config.bidirectional) == (8, True)
    outcome = train_trial({"text_hidden": 8, "text_embedding": 8, "epochs": 1,
                           "hidden_units": 4}, text_table)
    assert isinstance(outcome.model, TextMLP)
    assert outcome.model.config["hidden_size"] == 8 and outcome.model.config["hidden"] == [4]


def test_fc_train_on_a_multitask_target_uses_the_mean_task_error():
    p = prepare(mixed_table(120), "spam,topic,price")
    outcome = fc.train(p, epochs=2)
    assert outcome.metric == "mean_task_error"
    assert 0 <= outcome.errors["dev"] < 10
    with pytest.raises(FullcycleError, match="mean of its tasks' errors"):
        fc.train(p, metric="accuracy", epochs=1)


def test_fullcycle_train_on_a_text_column(cli, tmp_path):
    make_reviews(100).to_csv(tmp_path / "r.csv", index=False)
    code, out, _ = cli("train", tmp_path / "r.csv", "--target", "label", "--text-column",
                       "review", "--epochs", "2", "--out", tmp_path / "run", "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["architecture"]["config"]["text"]  # a TextMLP's spans
    assert summary["config"]["clip_norm"] == 1.0 and summary["config"]["text_hidden"]
    from fullcycle.serve.predictor import Predictor

    served = Predictor.load(tmp_path / "run" / "model").predict_frame(make_reviews(5, seed=2))
    assert len(served) == 5


def test_fullcycle_train_refuses_a_metric_on_a_multitask_target(cli, tmp_path):
    mixed_table(60).to_csv(tmp_path / "m.csv", index=False)
    code, _, err = cli("train", tmp_path / "m.csv", "--target", "spam,topic", "--metric",
                       "accuracy", "--epochs", "1", "--out", tmp_path / "run")
    assert code == 2 and "mean of its tasks' errors" in err and err.count("\n") == 1
    assert not (tmp_path / "run" / "train.json").exists()


def test_fullcycle_check_builds_the_text_model(cli, tmp_path):
    make_reviews(80).to_csv(tmp_path / "r.csv", index=False)
    code, out, _ = cli("check", tmp_path / "r.csv", "--target", "label", "--text-column",
                       "review", "--skip", "lr_finder,gradient_check", "--json")
    doc = json.loads(out)
    assert code in (0, 1) and doc["architecture"]["text"]
    statuses = {c["name"]: c["status"] for c in doc["checks"]}
    assert statuses["batch_independence"] == "pass"


def test_fullcycle_check_on_a_multitask_target(cli, tmp_path):
    mixed_table(80).to_csv(tmp_path / "m.csv", index=False)
    code, out, _ = cli("check", tmp_path / "m.csv", "--target", "spam,topic,price",
                       "--skip", "lr_finder,gradient_check", "--json")
    doc = json.loads(out)
    assert code in (0, 1) and doc["loss"] == "multitask"
    checks = {c["name"]: c for c in doc["checks"]}
    assert checks["init_loss"]["status"] == "warn" and "skipped" in checks["init_loss"]["message"]
    assert checks["batch_independence"]["status"] == "pass"
    assert checks["dead_parameters"]["status"] == "pass"
