"""`search()`: random search on the right scales, coarse to fine, one worker or many.

Flow step 9 (PRODUCT.md) and seed 000's tuning section in one call::

    import fullcycle as fc
    p = fc.prepare("data.csv", target="y")
    result = fc.search(p, trials=40, budget="10m", out="runs/search")
    result.best["params"]["lr"], result.best["dev_error"]

What happens: the plan (trials per round, deadline, sampler, pruner) is written into the
study's storage; workers (this process, K local processes, or `--join`ed machines) draw
configurations from the space on their scales, train them and report each epoch's dev
error so the pruner can stop hopeless ones; once the coarse round is finished the ranges
are narrowed around its best trials (`refine`) and the fine round runs; the result is read
back from the storage, so a resumed or distributed search reports every trial once.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna

from fullcycle.errors import FullcycleError
from fullcycle.recipe.budget import parse_duration
from fullcycle.tuning.plan import (
    COARSE,
    FINE_FRACTION,
    Plan,
    fine_study_name,
    make_plan,
    read_plan,
    with_budget,
    write_plan,
)
from fullcycle.tuning.results import SearchResult, best_diagnosis, collect
from fullcycle.tuning.space import default_space
from fullcycle.tuning.storage import (
    GRACE_S,
    HEARTBEAT_S,
    _redact,
    default_storage_url,
    open_storage,
)
from fullcycle.tuning.workers import (
    Objective,
    WorkerJob,
    run_worker,
    start_workers,
    worker_threads,
)

Log = Callable[[str], None]


def search(
    prepared: Any = None,
    *,
    trials: int | None = None,
    budget: str | float | None = None,
    base_config: dict[str, Any] | None = None,
    out: str | Path | None = None,
    space: Callable[[Any], dict[str, Any]] | None = None,
    objective: Objective | None = None,
    sampler: str = "random",
    pruner: str = "median",
    workers: int = 1,
    storage: str | None = None,
    study_name: str | None = None,
    join: bool = False,
    fine_fraction: float = FINE_FRACTION,
    seed: int | None = 0,
    progress: bool = False,
    log: Log | None = None,
    record: bool = True,
    human_level_error: float = 0.0,
    heartbeat_s: int = HEARTBEAT_S,
    grace_s: int = GRACE_S,
    clock: Callable[[], float] | None = None,
) -> SearchResult:
    """Search hyperparameters; returns the best trial and every trial of the study.

    prepared: data from `fc.prepare` for the default objective (the built-in TabularMLP).
    trials / budget: the size: a trial count, a time budget ("10m", or seconds), or both
        (stop at whichever comes first). The fine round gets `fine_fraction` of each.
    base_config: fixed training settings under the drawn ones (`TrainConfig` fields such as
        `epochs`, `optimizer`; see `fullcycle.tuning.objective.trial_config`).
    out: the run directory: embedded storage `search.sqlite`, `summary.json` section
        `search`, the slice plot and the journal. Without `out` and `storage` the study
        lives in memory (as in Optuna), for one worker, and nothing is written.
    space / objective: define-by-run space `space(trial) -> config` and objective
        `objective(config, report) -> dev_error` to search something else.
    sampler: "random" (default), "sobol" (quasi-random) or "tpe"; pruner: "median",
        "halving" or "none". workers: processes on this machine ("caviar"; 1 = "pandas").
    storage / study_name / join: a database URL (`postgresql://...`) and the study to run;
        with `join=True` this process only adds workers to a study started elsewhere.
    human_level_error: the Bayes-error proxy for the best trial's diagnosis.
    Re-running the same call resumes the study: finished trials are kept, trials of dead
    workers are failed and retried.
    clock: the time source the budget is read on, in seconds (default `time.time`); one
        in-process worker only (the autopilot's journaled clock).
    """
    if workers < 1:
        raise FullcycleError(f"--workers {workers} is too small; pass 1 or more")
    prepared = _as_prepared(prepared)
    budget_s = None if budget is None else parse_duration(budget)
    in_memory = out is None and storage is None
    if clock is not None and (workers > 1 or join):
        raise FullcycleError("a search's own clock= runs with one in-process worker; leave "
                             "clock out to use several workers")
    if in_memory and (workers > 1 or join):
        raise FullcycleError("several workers share their trials through a database; pass "
                             "out= (a run directory) or storage= (a database URL)")
    url: Any = (optuna.storages.InMemoryStorage() if in_memory
                else storage or default_storage_url(out))  # type: ignore[arg-type]
    name = study_name or (Path(out).name if out is not None else "search")
    space = space or default_space
    fingerprint = data_fingerprint(prepared)
    st = open_storage(url, heartbeat_s=heartbeat_s, grace_s=grace_s)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if join:
        plan = read_plan(st, name)
        _check_fingerprint(plan, fingerprint, name)
        base_config = plan.base_config  # every machine trains the way the study was started
    else:
        plan = open_study(st, name, trials=trials, budget_s=budget_s,
                          fine_fraction=fine_fraction, sampler=sampler, pruner=pruner, seed=seed,
                          data_fingerprint=fingerprint, base_config=base_config, space=space,
                          now=None if clock is None else clock())
    if objective is None:
        from fullcycle.tuning.objective import TabularObjective

        objective = TabularObjective(prepared, base_config, progress=progress and workers == 1)
    say = log or (_console_log() if progress else None)
    if say is not None:
        say(_plan_line(name, plan, workers, _redact(url)))
    started = time.time()
    jobs = [
        WorkerJob(url, name, space, objective, index=i, heartbeat_s=heartbeat_s,
                  grace_s=grace_s, threads=worker_threads(workers) if workers > 1 else None,
                  clock=clock or time.time)
        for i in range(workers)
    ]
    if join:  # distinct seeds across machines: a joined worker does not know its index
        for job in jobs:
            job.index = 1 + int(time.time_ns() % 1_000_003) + job.index
    if workers == 1:
        if say is not None:
            jobs[0].on_trial = _trial_printer(say)
        run_worker(jobs[0])
    else:
        _run_processes(jobs, st, name, plan, say)
    result = collect(st, name, plan, _redact(url))
    result.extra["seconds"] = time.time() - started
    result.extra["human_level_error"] = human_level_error
    result.extra["task"] = getattr(prepared, "task", None)  # the report's header and units
    result.extra["diagnosis"] = best_diagnosis(result, human_level_error)
    if say is not None:
        say(_best_line(result))
    if record and out is not None:
        from fullcycle.tuning.record import record_search

        record_search(result, out)
    return result


def open_study(st: Any, name: str, *, trials: int | None = None, budget_s: float | None = None,
               fine_fraction: float = FINE_FRACTION, sampler: str = "random",
               pruner: str = "median", seed: int | None = 0,
               data_fingerprint: str | None = None, base_config: dict[str, Any] | None = None,
               space: Callable[..., Any] = default_space, now: float | None = None) -> Plan:
    """Create study `name` in storage `st` with its plan, or load it to resume.

    Resuming checks that the data and the trial count still match the study (one-line
    errors name the fix) and restarts the time budget from now.
    """
    fingerprint = data_fingerprint
    space_name = getattr(space, "__qualname__", type(space).__name__)
    fresh = make_plan(trials, budget_s, fine_fraction=fine_fraction, sampler=sampler,
                      pruner=pruner, seed=seed, data_fingerprint=fingerprint,
                      base_config=base_config, space=space_name, now=now)
    study = optuna.create_study(study_name=name, storage=st, direction="minimize",
                                load_if_exists=True)
    if "fullcycle_plan" not in study.user_attrs:
        if study.get_trials(deepcopy=False):
            raise FullcycleError(f"study {name!r} was not started by fullcycle search; "
                                 "pick another --study name")
        write_plan(study, fresh)
        return fresh
    plan = read_plan(st, name)
    _check_fingerprint(plan, fingerprint, name)
    if trials is not None and plan.trials != trials:
        raise FullcycleError(
            f"study {name!r} was planned with {plan.trials} trials, not {trials}; pass "
            f"--trials {plan.trials} to resume it, or --study NEW to start another"
        )
    if json.loads(json.dumps(base_config or {})) != plan.base_config:  # as stored: JSON
        raise FullcycleError(
            f"study {name!r} was started with training settings {plan.base_config}, not "
            f"{dict(base_config or {})}; resume it with the same flags (--epochs, "
            "--optimizer, --seed) or pass --study NEW to start another"
        )
    fine_started = _has_study(st, fine_study_name(name))
    plan = with_budget(plan, budget_s, fine_started)
    write_plan(study, plan)
    return plan


def _as_prepared(data: Any) -> Any:
    """A `Prepared`, or `(X, y)` / a frame-and-target turned into one the way `fc.prepare`
    does (scikit-learn habits); anything else is refused with what to pass."""
    if data is None or hasattr(data, "X"):
        return data
    if isinstance(data, tuple) and len(data) == 2:
        from fullcycle.data.dataset import prepare

        try:
            return prepare(data)  # type: ignore[call-arg]
        except TypeError:
            pass
    raise FullcycleError(
        f"fc.search got {type(data).__name__}; pass prepared data: "
        "fc.search(fc.prepare(data, target='y'), trials=20)"
    )


def data_fingerprint(prepared: Any) -> str | None:
    """The data and its split: workers joining a study must train on the same rows."""
    if prepared is None or not hasattr(prepared, "fingerprint"):
        return None
    digest = hashlib.sha256(str(prepared.fingerprint).encode())
    for split in ("train", "train_dev", "dev"):
        rows = getattr(prepared, "rows", {}).get(split)
        if rows is not None:
            digest.update(split.encode() + np.asarray(rows, dtype=np.int64).tobytes())
    return digest.hexdigest()


def _has_study(st: Any, name: str) -> bool:
    return any(s.study_name == name for s in optuna.get_all_study_summaries(st))


def _check_fingerprint(plan: Plan, fingerprint: str | None, name: str) -> None:
    if plan.data_fingerprint and fingerprint and plan.data_fingerprint != fingerprint:
        raise FullcycleError(
            f"the data differs from the data study {name!r} was started on (fingerprint "
            f"{fingerprint[:12]} vs {plan.data_fingerprint[:12]}); pass the same DATA file"
        )


def _run_processes(jobs: list[WorkerJob], st: Any, name: str, plan: Plan,
                   say: Log | None) -> None:
    """Run K worker processes, show finished trials as they land, fail on a dead worker."""
    procs = start_workers(jobs)
    shown = 0
    try:
        while any(p.is_alive() for p in procs):
            time.sleep(1.0)
            if say is not None:
                shown = _show_progress(st, name, plan, shown, say)
    except KeyboardInterrupt:
        for p in procs:
            p.terminate()
        raise
    finally:
        for p in procs:
            p.join()
    failed = [(job.index, p.exitcode) for job, p in zip(jobs, procs, strict=True)
              if p.exitcode != 0]
    if failed:
        which = ", ".join(f"worker {i} (exit {code})" for i, code in failed)
        raise FullcycleError(
            f"{which} stopped with an error (its message is above); fix it and run the same "
            "command again to resume the study"
        )


def _show_progress(st: Any, name: str, plan: Plan, shown: int, say: Log) -> int:
    result = collect(st, name, plan, "")
    done = [r for r in result.trials if r["state"] in ("complete", "pruned")]
    if len(done) > shown:
        best = result.best
        target = plan.trials if plan.trials is not None else "?"
        best_text = f"{best['dev_error']:.4g} (trial {best['number']})" if best else "-"
        say(f"{len(done)}/{target} trials finished, best dev error {best_text}")
    return len(done)


def _console_log() -> Log:
    from rich.console import Console

    console = Console(highlight=False)
    return lambda text: console.print(text, markup=False)


def _plan_line(name: str, plan: Plan, workers: int, url: str) -> str:
    size = f"{plan.trials} trials" if plan.trials is not None else "until the budget ends"
    rounds = (f"{plan.coarse_trials} coarse + {plan.fine_trials} fine"
              if plan.trials is not None else "coarse then fine")
    mode = "one model at a time" if workers == 1 else f"{workers} workers in parallel"
    return (f"search {name!r}: {size} ({rounds}), {plan.sampler} sampler, {plan.pruner} "
            f"pruning, {mode}; storage {url}")


def _trial_printer(say: Log) -> Callable[[str, int, Any], None]:
    def show(round_name: str, number: int, trial: Any) -> None:
        cfg = trial.user_attrs.get("config", {})
        shown = ", ".join(f"{k}={_fmt(v)}" for k, v in cfg.items())
        if trial.state.name == "COMPLETE":
            what = f"dev error {trial.value:.4g}"
        else:
            what = trial.user_attrs.get("stopped", trial.state.name.lower())
        tag = "coarse" if round_name == COARSE else "fine"
        say(f"  trial {number} ({tag}): {what}  ({shown})")

    return show


def _fmt(value: Any) -> str:
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def _best_line(result: SearchResult) -> str:
    if result.best is None:
        return "no trial completed"
    b = result.best
    params = ", ".join(f"{k}={_fmt(v)}" for k, v in b["params"].items())
    return f"best: trial {b['number']} ({b['round']}), dev error {b['dev_error']:.4g}: {params}"
