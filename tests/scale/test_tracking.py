"""MLflow and TensorBoard: a fit and a whole run logged to a local store, read back."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

import fullcycle.tracking as tracking_module
from fullcycle.engine.fit import fit
from fullcycle.errors import FullcycleError
from fullcycle.tracking import Tracking


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4)).astype(np.float32)
    return X, (X[:, 0] > 0).astype(np.float32)


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 1),
                               torch.nn.Flatten(0))


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory):
    """One local SQLite store for the module: creating one runs MLflow's schema migrations,
    which take 5-20 s on a loaded machine."""
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed "
                                         "(pip install 'fullcycle[mlflow]')")
    from fullcycle.tracking.mlflow import ensure_store

    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    previous = os.getcwd()
    os.chdir(root)  # the store's artifact root is ./mlruns where it is created: here
    try:
        ensure_store(uri)
    finally:
        os.chdir(previous)
    return root, uri


@pytest.fixture
def store(shared_store, monkeypatch):
    """The shared store's URI; the working directory is its folder (artifacts: ./mlruns)."""
    root, uri = shared_store
    monkeypatch.chdir(root)
    return uri


@pytest.mark.slow  # the shared store's creation, once
def test_a_fit_logs_params_every_epoch_and_its_decisions(store):
    from mlflow import MlflowClient

    from fullcycle.tracking.mlflow import MLflowCallback

    cb = MLflowCallback(store, "unit", run_name="fit", params={"note": "hand-made"})
    X, y = _data()
    fit(_model(), (X, y), (X[:50], y[:50]), loss="bce", epochs=4, lr=0.05, progress=False,
        early_stopping=1, callbacks=[cb])
    client = MlflowClient(store)
    run = client.get_run(cb.run_id)
    assert run.info.status == "FINISHED"
    assert run.data.params["note"] == "hand-made" and run.data.params["optimizer"] == "Adam"
    history = client.get_metric_history(cb.run_id, "dev_error")
    assert [m.step for m in history] == list(range(1, len(history) + 1)) and history
    if len(history) < 4:  # early stopping decided: the decision is a tag
        assert any(k.endswith("early_stopping") for k in run.data.tags)


@pytest.mark.slow
def test_fullcycle_run_with_mlflow_logs_the_run_its_experiments_and_artifacts(
        store, tmp_path, monkeypatch, cli):
    from mlflow import MlflowClient

    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(300, 3)), columns=["a", "b", "c"])
    frame["y"] = (frame["a"] + frame["b"] > 0).astype(int)
    frame.to_csv(tmp_path / "data.csv", index=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)  # on without --mlflow
    code, out, err = cli("run", tmp_path / "data.csv", "--target", "y", "--budget", "10s",
                         "--out", tmp_path / "run", "--json", "--tensorboard", tmp_path / "tb")
    assert code == 0, err
    run_id = json.loads(out)["tracking"]["mlflow_run_id"]
    client = MlflowClient(store)
    parent = client.get_run(run_id)
    assert parent.data.tags["diagnosis.primary_problem"]
    assert any(k.startswith("decision.") and k.endswith(".baselines") for k in parent.data.tags)
    assert parent.data.metrics["test_accesses"] == 1
    artifacts = {a.path for a in client.list_artifacts(run_id)}
    assert {"report.html", "summary.json", "model"} <= artifacts
    assert "bundle.json" in {a.path.split("/")[-1] for a in client.list_artifacts(run_id, "model")}
    children = client.search_runs([parent.info.experiment_id],
                                  f"tags.mlflow.parentRunId = '{run_id}'")
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert len(children) == len(summary["experiments"])
    first = next(c for c in children if c.info.run_name == "initial architecture")
    assert client.get_metric_history(first.info.run_id, "train_loss")
    assert list((tmp_path / "tb" / "run").glob("001-*/events.out.tfevents.*"))


def test_tensorboard_callback_writes_one_scalar_per_epoch(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed "
                                              "(pip install 'fullcycle[tensorboard]')")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    from fullcycle.tracking.tensorboard import TensorBoardCallback

    X, y = _data()
    fit(_model(), (X, y), (X[:50], y[:50]), loss="bce", epochs=3, progress=False,
        callbacks=[TensorBoardCallback(tmp_path / "tb")])
    events = EventAccumulator(str(tmp_path / "tb"))
    events.Reload()
    assert [e.step for e in events.Scalars("train_loss")] == [1, 2, 3]
    assert "dev_error" in events.Tags()["scalars"]


@pytest.mark.slow  # the shared store's creation, once
def test_store_creation_waits_for_another_process_holding_the_store_lock(store):
    """mlflow#4123: parallel writers creating one new SQLite store race in its migrations;
    `ensure_store` creates (or opens) it under a file lock beside the database."""
    import fcntl
    import threading

    from fullcycle.tracking.mlflow import _sqlite_path, ensure_store

    lock_path = _sqlite_path(store).with_name("mlflow.db.fullcycle-lock")
    done = threading.Event()
    with open(lock_path, "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # as another process creating the store would
        worker = threading.Thread(target=lambda: (ensure_store(store), done.set()))
        worker.start()
        assert not done.wait(1.0)  # blocked while the lock is held
        fcntl.flock(held, fcntl.LOCK_UN)
    worker.join(60)
    assert done.is_set()


def test_asking_for_a_missing_extra_is_one_line_naming_it(monkeypatch, cli, tmp_path):
    monkeypatch.setattr(tracking_module, "installed", lambda module: False)
    with pytest.raises(FullcycleError, match=r"pip install 'fullcycle\[mlflow\]'"):
        Tracking.from_flags(mlflow=True)
    code, _, err = cli("run", tmp_path / "none.csv", "--target", "y", "--tensorboard", tmp_path)
    assert code == 2 and "fullcycle[tensorboard]" in err and len(err.strip().splitlines()) == 1


def test_without_flags_or_environment_nothing_is_tracked(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert Tracking.from_flags() is None
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///x.db")
    monkeypatch.setattr(tracking_module, "installed", lambda module: False)
    assert Tracking.from_flags() is None  # the variable alone, without the extra: off
