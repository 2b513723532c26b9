"""Caviar on one machine: worker processes share a study; a killed worker loses nothing."""

from __future__ import annotations

import os
import signal
import time

import optuna
import pytest
import search_toys
from optuna.trial import TrialState

from fullcycle.tuning.space import default_space
from fullcycle.tuning.storage import default_storage_url, open_storage
from fullcycle.tuning.study import open_study, search
from fullcycle.tuning.workers import WorkerJob, run_worker, start_workers

FAST = {"heartbeat_s": 1, "grace_s": 2}


def _wait_for(predicate, timeout: float = 30.0) -> None:
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out waiting for the workers")


def _running_with_epochs(url: str, name: str, n: int = 1) -> list:
    study = optuna.load_study(study_name=name, storage=open_storage(url, **FAST))
    return [t for t in study.get_trials(deepcopy=False)
            if t.state == TrialState.RUNNING and len(t.intermediate_values) >= 1][:n]


@pytest.mark.slow
def test_two_workers_on_sqlite_finish_the_trials_with_unique_numbers(tmp_path, monkeypatch):
    (tmp_path / "arrivals").mkdir()
    monkeypatch.setenv("SEARCH_TOYS_RENDEZVOUS", str(tmp_path / "arrivals"))
    result = search(objective=search_toys.rendezvous, trials=10, out=tmp_path, workers=2,
                    pruner="none", **FAST)
    assert result.counts() == {"complete": 10}  # no pruner: every trial runs to the end
    numbers = [t["number"] for t in result.trials]
    assert len(numbers) == len(set(numbers)) == 10
    assert [t["round"] for t in result.trials] == ["coarse"] * 6 + ["fine"] * 4
    study = optuna.load_study(study_name=tmp_path.name,
                              storage=open_storage(default_storage_url(tmp_path), **FAST))
    assert len({t.user_attrs["worker"] for t in study.trials}) == 2  # both worked


@pytest.mark.slow
def test_worker_killed_with_sigkill_mid_trial_has_its_trial_failed_and_retried(tmp_path):
    url = default_storage_url(tmp_path)
    open_study(open_storage(url, **FAST), "kill", trials=3, fine_fraction=0.0)
    (proc,) = start_workers([WorkerJob(url, "kill", default_space, search_toys.slow, **FAST)])
    _wait_for(lambda: bool(_running_with_epochs(url, "kill")))
    (victim,) = _running_with_epochs(url, "kill")
    os.kill(proc.pid, signal.SIGKILL)
    proc.join()
    assert proc.exitcode == -signal.SIGKILL

    storage = open_storage(url, **FAST)
    assert optuna.load_study(study_name="kill", storage=storage).trials[
        victim.number].state == TrialState.RUNNING  # stuck until a heartbeat check
    ran = run_worker(WorkerJob(url, "kill", default_space, search_toys.quick, **FAST))

    trials = optuna.load_study(study_name="kill", storage=storage).trials
    assert trials[victim.number].state == TrialState.FAIL
    retries = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retries) == 1
    assert retries[0].state == TrialState.COMPLETE
    assert retries[0].params == victim.params  # the same hyperparameters, trained again
    finished = [t for t in trials if t.state == TrialState.COMPLETE]
    assert len(finished) == 3 and ran == 3 - sum(
        1 for t in finished if t.number < victim.number)
    assert not [t for t in trials if t.state == TrialState.RUNNING]


@pytest.mark.slow
def test_search_resumes_after_every_worker_was_killed(tmp_path):
    url = default_storage_url(tmp_path)
    name = tmp_path.name
    open_study(open_storage(url, **FAST), name, trials=6, fine_fraction=0.0, pruner="none")
    jobs = [WorkerJob(url, name, default_space, search_toys.slow, index=i, **FAST)
            for i in range(2)]
    procs = start_workers(jobs)

    def one_done_two_running() -> bool:
        study = optuna.load_study(study_name=name, storage=open_storage(url, **FAST))
        states = [t.state for t in study.get_trials(deepcopy=False)]
        return states.count(TrialState.COMPLETE) >= 1 and states.count(TrialState.RUNNING) == 2

    _wait_for(one_done_two_running, timeout=60)
    for p in procs:
        os.kill(p.pid, signal.SIGKILL)
        p.join()
    before = optuna.load_study(study_name=name, storage=open_storage(url, **FAST)).trials
    kept = {t.number: t.value for t in before if t.state == TrialState.COMPLETE}
    # what the killed workers held at the kill: two when the check above still held, one if
    # a trial finished between that check and the SIGKILL (a loaded machine)
    held = sum(1 for t in before if t.state == TrialState.RUNNING)
    assert held >= 1

    result = search(objective=search_toys.quick, trials=6, out=tmp_path, **FAST)

    assert result.counts()["complete"] == 6
    assert result.counts()["failed"] == held  # the trials the killed workers held
    by_number = {t["number"]: t for t in result.trials}
    for number, value in kept.items():  # nothing finished is lost or re-run
        assert by_number[number]["dev_error"] == value
    assert sum(1 for t in result.trials if "retry_of" in t) == held
