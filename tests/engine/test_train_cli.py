"""`fullcycle train` through the real command line, including SIGKILL and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fullcycle.journal import Journal
from fullcycle.models.bundle import load_bundle


def _easy_csv(path: Path, n: int = 400, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "colour": rng.choice(["red", "green", "blue"], n)})
    df["label"] = np.where(df.a - df.b + (df.colour == "red") * 1.5 > 0.4, "yes", "no")
    df["price"] = 20 * df.a - 10 * df.b + 100 + rng.normal(size=n)
    df.to_csv(path, index=False)
    return path


def test_train_reaches_a_sensible_dev_accuracy_on_an_easy_problem(cli, tmp_path):
    data = _easy_csv(tmp_path / "easy.csv")
    code, out, err = cli("train", data, "--target", "label", "--ignore", "price", "--out",
                         tmp_path / "run", "--epochs", "40", "--lr", "0.01", "--hidden", "16",
                         "--early-stopping", "0", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["task"] == "binary" and summary["metric"]["name"] == "accuracy"
    assert summary["metric"]["dev"] >= 0.85
    assert summary["errors"]["dev"] == pytest.approx(1 - summary["metric"]["dev"])
    saved = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert saved["errors"] == summary["errors"] and summary["test_accesses"] == 0
    bundle = load_bundle(tmp_path / "run" / "model")
    assert bundle.task == "binary" and bundle.classes == ["no", "yes"]
    journal = Journal(tmp_path / "run" / "journal.sqlite")
    (exp,) = journal.experiments()
    assert len(journal.epochs(exp["id"])) == 40 and exp["status"] == "finished"


def test_regression_errors_are_in_the_target_units(cli, tmp_path):
    data = _easy_csv(tmp_path / "easy.csv")
    code, out, err = cli("train", data, "--target", "price", "--ignore", "label", "--out",
                         tmp_path / "run", "--epochs", "3", "--lr", "1e-4", "--json")
    assert code == 0, err
    summary = json.loads(out)
    # barely trained: the RMSE is of the order of the price's spread (~22), not of 1
    assert summary["metric"]["name"] == "rmse" and summary["errors"]["dev"] > 5


def test_flags_reach_the_network(cli, tmp_path):
    data = _easy_csv(tmp_path / "easy.csv", n=120)
    code, out, err = cli("train", data, "--target", "label", "--out", tmp_path / "run",
                         "--epochs", "2", "--hidden", "8,4", "--activation", "tanh",
                         "--dropout", "0,0.25", "--batch-norm", "--optimizer", "momentum",
                         "--schedule", "staircase:drop=0.5,every=1", "--l2", "0.1",
                         "--clip-norm", "1", "--quiet")
    assert code == 0, err
    config = json.loads((tmp_path / "run" / "summary.json").read_text())["architecture"]
    assert config["config"]["hidden"] == [8, 4] and config["config"]["dropout"] == [0.0, 0.25]
    assert config["config"]["batch_norm"] and config["config"]["activation"] == "tanh"
    history = json.loads((tmp_path / "run" / "summary.json").read_text())["history"]
    assert history[1]["lr"] == pytest.approx(history[0]["lr"] / 2)


@pytest.mark.parametrize("args, message", [
    (["--hidden", "8,x"], "--hidden '8,x' must be comma-separated integers"),
    (["--schedule", "warp"], "unknown schedule 'warp'"),
    (["--optimizer", "lion"], "unknown optimizer 'lion'"),
    (["--metric", "rmse"], "does not fit a binary task"),
    (["--activation", "gelu"], "unknown activation"),
    (["--dropout", "0.9,0.1"], "one per hidden layer"),
    (["--target", "nope"], "nope"),
])
def test_bad_flags_end_with_one_line_and_status_2(cli, tmp_path, args, message):
    data = _easy_csv(tmp_path / "easy.csv", n=60)
    base = ["train", data, "--out", tmp_path / "run", "--epochs", "1", "--quiet"]
    if "--target" not in args:
        base += ["--target", "label"]
    code, out, err = cli(*base, *args)
    assert code == 2 and message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unfinished_run_is_not_overwritten_without_resume(cli, tmp_path):
    data = _easy_csv(tmp_path / "easy.csv", n=60)
    run = tmp_path / "run"
    run.mkdir()
    (run / "train.json").write_text(json.dumps({"status": "running", "run_id": 1,
                                                "experiment_id": 1, "flags_sha256": "x"}))
    code, _, err = cli("train", data, "--target", "label", "--out", run, "--quiet")
    assert code == 2 and "add --resume" in err


def test_divergence_is_reported_with_exit_status_1(cli, tmp_path):
    data = _easy_csv(tmp_path / "easy.csv", n=100)
    code, _, err = cli("train", data, "--target", "price", "--ignore", "label", "--out",
                       tmp_path / "run", "--epochs", "2", "--optimizer", "sgd", "--lr", "1e9",
                       "--quiet")
    assert code == 1 and "training diverged" in err


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_ends_with_all_epochs_and_an_intact_journal(tmp_path):
    data = _easy_csv(tmp_path / "big.csv", n=2000)
    run = tmp_path / "run"
    args = [sys.executable, "-m", "fullcycle", "train", str(data), "--target", "label",
            "--ignore", "price", "--out", str(run), "--epochs", "5", "--batch-size", "4",
            "--hidden", "32", "--quiet"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    latest = run / "checkpoints" / "latest.json"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if latest.exists() and json.loads(latest.read_text())["epoch"] >= 2:
            break
        time.sleep(0.01)
    time.sleep(0.05)  # into the next epoch
    assert proc.poll() is None, "training finished before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    killed_at = json.loads(latest.read_text())["epoch"]
    assert 2 <= killed_at < 5
    assert not (run / "summary.json").exists()

    done = subprocess.run([*args, "--resume", "--json"], env=env, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["resumed_from"] == killed_at and summary["epochs_run"] == 5
    assert [h["epoch"] for h in summary["history"]] == list(range(1, 6))
    journal = Journal(run / "journal.sqlite")
    (exp,) = journal.experiments()
    assert [r["epoch"] for r in journal.epochs(exp["id"])] == list(range(1, 6))
    assert exp["status"] == "finished" and len(journal.runs()) == 1


def test_resume_with_more_epochs_extends_a_finished_fit(cli, tmp_path):
    data = _easy_csv(tmp_path / "easy.csv", n=120)
    args = ["train", data, "--target", "label", "--ignore", "price", "--out", tmp_path / "run",
            "--hidden", "8", "--early-stopping", "0", "--quiet"]
    code, _, err = cli(*args, "--epochs", "3")
    assert code == 0, err
    code, out, err = cli(*args, "--epochs", "5", "--resume", "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["resumed_from"] == 3 and [h["epoch"] for h in summary["history"]] == [
        1, 2, 3, 4, 5]
    code, _, err = cli(*args, "--epochs", "2", "--resume")
    assert code == 2 and "fewer than the 5 epochs" in err
    code, _, err = cli(*args, "--epochs", "6", "--lr", "0.5", "--resume")
    assert code == 2 and "only --epochs may grow" in err
