"""Workers: the loop every search process runs, alone ("pandas") or by the dozen ("caviar").

Seed 000 ("Pandas vs Caviar"): babysit one model at a time when compute is scarce, or train
many in parallel and keep the best. Both are the same loop here; what changes is how many
processes run it and where. `run_worker` is that loop: it joins a study in a storage,
takes free trial slots of the coarse round, then of the fine round, until each round has
its trials or the time budget is spent. K processes on one machine (`start_workers`) and
`fullcycle search --join STUDY --storage postgresql://...` on many machines run the very
same function against the same database, which hands out unique trial numbers.

Fault tolerance comes from the storage's heartbeats (`fullcycle.tuning.storage`): before
each trial a worker fails trials whose heartbeat went stale and Optuna queues a retry with
the same hyperparameters, which the next free worker picks up first. A round counts
finished trials (complete or pruned), so a crash never loses or double-counts one.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from fullcycle.errors import FullcycleError
from fullcycle.tuning.plan import (
    FINE,
    Plan,
    fine_study_name,
    make_pruner,
    make_sampler,
    read_plan,
)
from fullcycle.tuning.refine import NarrowedTrial, coarse_ranges, narrow
from fullcycle.tuning.storage import open_storage

Objective = Callable[[dict[str, Any], "TrialReport"], float]
#: Called after each trial this worker finishes: (round, number in the search, trial).
OnTrial = Callable[[str, int, FrozenTrial], None]

_ACTIVE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


class TrialReport:
    """What an objective tells the search while it trains (one per trial).

    `epoch(step, dev_error)` reports the per-epoch dev error; it raises `optuna.TrialPruned`
    when the pruner judges the trial hopeless or the time budget ran out, which the engine
    lets through and the worker records as a pruned trial. `note(**values)` keeps extra
    numbers (train error, best epoch) with the trial for the report and the diagnosis.
    """

    def __init__(self, trial: Any, round_name: str, deadline: float | None,
                 clock: Callable[[], float] = time.time) -> None:
        self._trial = trial
        self.number: int = trial.number
        self.round = round_name
        self._deadline = deadline
        self._clock = clock

    def epoch(self, step: int, dev_error: float) -> None:
        """Report the dev error after epoch `step`; raise `TrialPruned` to stop training."""
        if math.isfinite(dev_error):
            self._trial.report(float(dev_error), int(step))
            if self._trial.should_prune():
                self._trial.set_user_attr("stopped", f"pruned after epoch {step}")
                raise optuna.TrialPruned(f"dev error {dev_error:.4g} after epoch {step}")
        if self._deadline is not None and self._clock() >= self._deadline:
            self._trial.set_user_attr("stopped", f"time budget spent at epoch {step}")
            raise optuna.TrialPruned("time budget spent")

    def note(self, **values: Any) -> None:
        """Keep extra JSON-ready values with the trial (e.g. `train_error=0.02`)."""
        for key, value in values.items():
            self._trial.set_user_attr(key, value)


class _Surplus(Exception):
    """A trial another worker's trial made unnecessary (the round already has its count)."""


class _QuietSurplus(logging.Filter):
    """Keep Optuna from logging a surplus trial (expected) or a user error (printed once)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], FullcycleError):
            return False  # a user error: the surface prints it as one line
        text = record.getMessage()
        return "_Surplus" not in text and "failed with value None" not in text


_optimize_logger = logging.getLogger("optuna.study._optimize")
if not any(isinstance(f, _QuietSurplus) for f in _optimize_logger.filters):
    _optimize_logger.addFilter(_QuietSurplus())


@dataclass
class WorkerJob:
    """Everything one worker process needs; picklable when space and objective are."""

    storage_url: Any  # a database URL, or an in-memory storage (one in-process worker)
    study_name: str
    space: Callable[[Any], dict[str, Any]]
    objective: Objective
    index: int = 0
    heartbeat_s: int = 5
    grace_s: int = 20
    poll_s: float = 0.5
    threads: int | None = None
    on_trial: OnTrial | None = field(default=None, repr=False)
    # the time the deadlines are read on (seconds); the autopilot's is journaled, so that a
    # resumed run's search stops where the killed one did (`fullcycle.recipe.replay`)
    clock: Callable[[], float] = time.time


@dataclass
class _Counts:
    finished: int = 0
    running: int = 0
    waiting: int = 0


def _counts(study: optuna.Study) -> _Counts:
    c = _Counts()
    for t in study.get_trials(deepcopy=False):
        if t.state in (TrialState.COMPLETE, TrialState.PRUNED):
            c.finished += 1
        elif t.state == TrialState.RUNNING:
            c.running += 1
        elif t.state == TrialState.WAITING:
            c.waiting += 1
    return c


def _fail_stale(study: optuna.Study) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        optuna.storages.fail_stale_trials(study)


def run_worker(job: WorkerJob) -> int:
    """Run trials of the study until both rounds are done; returns how many this worker ran."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if job.threads:
        import torch

        torch.set_num_threads(job.threads)
    storage = open_storage(job.storage_url, heartbeat_s=job.heartbeat_s, grace_s=job.grace_s)
    plan = read_plan(storage, job.study_name)
    ran = 0
    coarse = optuna.load_study(
        study_name=job.study_name,
        storage=storage,
        sampler=make_sampler(plan, job.index, round_name="coarse"),
        pruner=make_pruner(plan),
    )
    ran += _run_round(job, coarse, "coarse", plan.coarse_trials, plan.coarse_deadline,
                      ranges=None)
    fine = open_fine_round(storage, plan, job.study_name, job.index)
    if fine is not None:
        ranges = fine.user_attrs["ranges"]
        ran += _run_round(job, fine, FINE, plan.fine_trials, plan.deadline, ranges)
    return ran


def open_fine_round(
    storage: Any, plan: Plan, study_name: str, index: int = 0
) -> optuna.Study | None:
    """The fine round's study, created with narrowed ranges once the coarse round is done.

    Every worker computes the ranges from the same finished coarse trials, so whichever
    writes them first writes what all the others would. None when there is no fine round.
    """
    if plan.fine_trials == 0:
        return None
    name = fine_study_name(study_name)
    kwargs = {"storage": storage, "sampler": make_sampler(plan, index, round_name=FINE),
              "pruner": make_pruner(plan)}
    try:
        fine = optuna.load_study(study_name=name, **kwargs)
        if "ranges" in fine.user_attrs:
            return fine
    except KeyError:
        pass
    coarse_trials = optuna.load_study(study_name=study_name, storage=storage).get_trials()
    ranges = narrow(coarse_trials)
    if not ranges:
        return None
    fine = optuna.create_study(study_name=name, direction="minimize", load_if_exists=True,
                               **kwargs)
    fine.set_user_attr("coarse_ranges", coarse_ranges(coarse_trials))
    fine.set_user_attr("number_offset", len(coarse_trials))
    fine.set_user_attr("ranges", ranges)  # last: its presence means the round is ready
    return fine


def _run_round(
    job: WorkerJob,
    study: optuna.Study,
    round_name: str,
    target: int | None,
    deadline: float | None,
    ranges: dict[str, Any] | None,
) -> int:
    """Take free slots of one round until it has `target` finished trials or time is up.

    The coarse round also waits for the other workers' last trials, because the fine
    ranges must be computed from all of them.
    """
    ran = 0
    trial_fn = _make_trial_fn(job, study, round_name, target, deadline, ranges)
    callbacks = []
    if job.on_trial is not None:
        on_trial = job.on_trial

        offset = int(study.user_attrs.get("number_offset", 0))

        def after_trial(_: optuna.Study, trial: FrozenTrial) -> None:
            if not trial.user_attrs.get("surplus"):
                on_trial(round_name, offset + trial.number, trial)

        callbacks.append(after_trial)
    while True:
        _fail_stale(study)
        c = _counts(study)
        if target is not None and c.finished >= target:
            return ran
        if deadline is not None and job.clock() >= deadline:
            if c.running == 0 or round_name == FINE:
                return ran
            time.sleep(job.poll_s)
            continue
        if c.waiting == 0 and target is not None and c.finished + c.running >= target:
            time.sleep(job.poll_s)  # every slot is taken; wait for a result or a stale trial
            continue
        study.optimize(trial_fn, n_trials=1, catch=(_Surplus,), callbacks=callbacks)
        ran += 1


def _make_trial_fn(
    job: WorkerJob,
    study: optuna.Study,
    round_name: str,
    target: int | None,
    deadline: float | None,
    ranges: dict[str, Any] | None,
) -> Callable[[optuna.Trial], float]:
    def trial_fn(trial: optuna.Trial) -> float:
        if target is not None:
            ahead = sum(
                1
                for t in study.get_trials(deepcopy=False, states=_ACTIVE)
                if t.number < trial.number
            )
            if ahead >= target:  # two workers took the last slot at the same moment
                trial.set_user_attr("surplus", True)
                raise _Surplus()
        drawn = NarrowedTrial(trial, ranges) if ranges else trial
        config = job.space(drawn)
        trial.set_user_attr("round", round_name)
        trial.set_user_attr("config", config)
        trial.set_user_attr("worker", f"{os.uname().nodename}:{os.getpid()}")
        value = job.objective(config, TrialReport(trial, round_name, deadline, job.clock))
        value = float(value)
        if not math.isfinite(value):
            trial.set_user_attr("stopped", "diverged (dev error is not finite)")
            raise optuna.TrialPruned("diverged")
        return value

    return trial_fn


def _worker_main(job: WorkerJob) -> None:
    """Entry point of a worker process: print a user error as one line and exit 2.

    Ctrl-C goes to the parent only, which stops the workers; their unfinished trials then
    go stale and are retried when the search is resumed.
    """
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run_worker(job)
    except FullcycleError as exc:
        print(f"error: worker {job.index}: {exc}", file=sys.stderr)
        sys.exit(2)


def start_workers(jobs: list[WorkerJob]) -> list[multiprocessing.process.BaseProcess]:
    """Start one process per job ("spawn", so each gets a clean PyTorch and its own threads)."""
    ctx = multiprocessing.get_context("spawn")
    procs = []
    for job in jobs:
        p = ctx.Process(target=_worker_main, args=(job,), name=f"fullcycle-search-{job.index}")
        p.start()
        procs.append(p)
    return procs


def worker_threads(workers: int) -> int:
    """PyTorch threads per worker so K workers share the machine's cores without oversubscribing."""
    return max(1, (os.cpu_count() or 1) // max(1, workers))
