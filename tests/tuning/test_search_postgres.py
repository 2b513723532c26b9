"""Caviar on many machines: workers share one study in a real PostgreSQL server.

Each `--join`ed machine runs the same worker loop against the database; here two worker
processes stand in for two machines, and a third process joins through the command line.
"""

from __future__ import annotations

import os
import signal
import time

import optuna
import pytest
import search_toys
from optuna.trial import TrialState

from fullcycle.tuning.space import default_space
from fullcycle.tuning.storage import open_storage
from fullcycle.tuning.study import open_study, search
from fullcycle.tuning.workers import WorkerJob, run_worker, start_workers

pytestmark = [pytest.mark.postgres, pytest.mark.slow]
FAST = {"heartbeat_s": 1, "grace_s": 2}


def test_two_workers_sharing_postgres_finish_the_trials_with_no_duplicate_numbers(
        postgres_url, tmp_path, monkeypatch):
    (tmp_path / "arrivals").mkdir()
    monkeypatch.setenv("SEARCH_TOYS_RENDEZVOUS", str(tmp_path / "arrivals"))
    result = search(objective=search_toys.rendezvous, trials=12, storage=postgres_url,
                    study_name="caviar", workers=2, out=tmp_path, pruner="none", **FAST)
    assert result.counts() == {"complete": 12}
    numbers = [t["number"] for t in result.trials]
    assert sorted(numbers) == list(range(12))  # unique, none skipped
    storage = open_storage(postgres_url, **FAST)
    for name in ("caviar", "caviar.fine"):
        trials = optuna.load_study(study_name=name, storage=storage).trials
        assert len({t.number for t in trials}) == len(trials)
    workers = {t.user_attrs["worker"]
               for t in optuna.load_study(study_name="caviar", storage=storage).trials}
    assert len(workers) == 2


def test_a_killed_worker_on_postgres_is_retried_by_another(postgres_url):
    name = "kill-pg"
    open_study(open_storage(postgres_url, **FAST), name, trials=3, fine_fraction=0.0)
    (proc,) = start_workers([WorkerJob(postgres_url, name, default_space, search_toys.slow,
                                       **FAST)])
    storage = open_storage(postgres_url, **FAST)
    deadline = time.time() + 30
    victim = None
    while victim is None and time.time() < deadline:
        running = [t for t in optuna.load_study(study_name=name, storage=storage).trials
                   if t.state == TrialState.RUNNING and t.intermediate_values]
        victim = running[0] if running else None
        time.sleep(0.1)
    assert victim is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    run_worker(WorkerJob(postgres_url, name, default_space, search_toys.quick, **FAST))
    trials = optuna.load_study(study_name=name, storage=storage).trials
    assert trials[victim.number].state == TrialState.FAIL
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert [t.state for t in retry] == [TrialState.COMPLETE]
    assert sum(t.state == TrialState.COMPLETE for t in trials) == 3


def test_a_second_machine_joins_through_the_command_line(postgres_url, cli, tmp_path):
    import json
    import subprocess
    import sys

    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(1)
    x = rng.normal(size=(160, 3))
    frame = pd.DataFrame(x, columns=["a", "b", "c"])
    frame["y"] = (x[:, 0] + x[:, 1] > 0).astype(int)
    data = tmp_path / "t.csv"
    frame.to_csv(data, index=False)
    first = subprocess.Popen(
        [sys.executable, "-m", "fullcycle", "search", str(data), "--target", "y", "--trials",
         "8", "--epochs", "3", "--storage", postgres_url, "--study", "cli-join", "--out",
         str(tmp_path / "first"), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    storage = open_storage(postgres_url, **FAST)
    deadline = time.time() + 60
    while time.time() < deadline:
        names = {s.study_name for s in optuna.get_all_study_summaries(storage)}
        if "cli-join" in names:
            break
        time.sleep(0.2)
    code, stdout, stderr = cli("search", data, "--target", "y", "--join", "cli-join",
                               "--storage", postgres_url, "--json")
    assert first.wait(timeout=120) == 0, first.stderr.read()
    assert code == 0, stderr
    doc = json.loads(stdout)
    assert doc["out"] is None  # a joined machine keeps no run directory unless asked
    done = [t for t in doc["trials"] if t["state"] in ("complete", "pruned")]
    assert len(done) == 8
    assert len({t["number"] for t in doc["trials"]}) == len(doc["trials"])
