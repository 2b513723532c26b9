"""A study's plan: how many trials per round, the deadline, the sampler and the pruner.

The plan is written once into the storage (the coarse study's user attributes), so that a
worker joining from another machine with only `--join STUDY --storage URL` runs exactly
the search that was started, and a resumed search continues the same one.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import optuna
from optuna.pruners import BasePruner, MedianPruner, NopPruner, SuccessiveHalvingPruner
from optuna.samplers import BaseSampler, QMCSampler, RandomSampler, TPESampler

from fullcycle.errors import FullcycleError

COARSE = "coarse"
FINE = "fine"
SAMPLERS = ("random", "sobol", "tpe")
PRUNERS = ("median", "halving", "none")

#: Share of the trials (and of the time budget) the fine round gets by default.
FINE_FRACTION = 0.4
#: The coarse round needs this many trials before narrowing means anything; with fewer the
#: whole budget goes to one coarse round.
MIN_COARSE = 4

_PLAN_ATTR = "fullcycle_plan"


@dataclass(frozen=True)
class Plan:
    """The search as the storage records it; `None` counts mean "until the deadline"."""

    trials: int | None
    coarse_trials: int | None
    fine_trials: int | None
    sampler: str = "random"
    pruner: str = "median"
    seed: int | None = 0
    deadline: float | None = None
    coarse_deadline: float | None = None
    data_fingerprint: str | None = None
    base_config: dict[str, Any] = field(default_factory=dict)
    space: str = "default"
    fine_fraction: float = FINE_FRACTION


def make_plan(
    trials: int | None,
    budget_s: float | None,
    *,
    fine_fraction: float = FINE_FRACTION,
    sampler: str = "random",
    pruner: str = "median",
    seed: int | None = 0,
    data_fingerprint: str | None = None,
    base_config: dict[str, Any] | None = None,
    space: str = "default",
    now: float | None = None,
) -> Plan:
    """Split trials and time between the rounds, validating every choice at the boundary."""
    if trials is None and budget_s is None:
        raise FullcycleError("a search needs a size; pass --trials N, --budget 10m, or both")
    if trials is not None and trials < 1:
        raise FullcycleError(f"--trials {trials} is too small; pass at least 1")
    if budget_s is not None and budget_s <= 0:
        raise FullcycleError(f"--budget {budget_s}s is not positive; pass e.g. --budget 10m")
    if not 0.0 <= fine_fraction < 1.0:
        raise FullcycleError(
            f"fine fraction {fine_fraction} is outside [0, 1); pass e.g. 0.4 (0 = no fine round)"
        )
    if sampler not in SAMPLERS:
        raise FullcycleError(f"sampler {sampler!r} is unknown; use one of {', '.join(SAMPLERS)}")
    if pruner not in PRUNERS:
        raise FullcycleError(f"pruner {pruner!r} is unknown; use one of {', '.join(PRUNERS)}")
    coarse, fine = trials, 0 if fine_fraction == 0 else None
    if trials is not None:
        fine = math.floor(trials * fine_fraction)
        if trials - fine < MIN_COARSE:
            fine = 0
        coarse = trials - fine
    deadline = coarse_deadline = None
    if budget_s is not None:
        start = time.time() if now is None else now
        deadline = start + budget_s
        coarse_deadline = start + budget_s * (1.0 - fine_fraction) if fine != 0 else deadline
    return Plan(trials, coarse, fine, sampler, pruner, seed, deadline, coarse_deadline,
                data_fingerprint, dict(base_config or {}), space, fine_fraction)


def with_budget(plan: Plan, budget_s: float | None, fine_started: bool) -> Plan:
    """A resumed plan: the time budget, if any, counts from this invocation."""
    if budget_s is None:
        return replace(plan, deadline=None, coarse_deadline=None)
    now = time.time()
    deadline = now + budget_s
    coarse_deadline = deadline
    if not fine_started and plan.fine_trials != 0:
        coarse_deadline = now + budget_s * (1.0 - plan.fine_fraction)
    return replace(plan, deadline=deadline, coarse_deadline=coarse_deadline)


def write_plan(study: optuna.Study, plan: Plan) -> None:
    study.set_user_attr(_PLAN_ATTR, asdict(plan))


def read_plan(storage: Any, study_name: str) -> Plan:
    """The plan of an existing study; a one-line error when the study is not there."""
    try:
        summaries = optuna.get_all_study_summaries(storage, include_best_trial=False)
    except Exception as exc:  # pragma: no cover - storage errors are raised by open_storage
        raise FullcycleError(f"cannot read studies from the storage: {exc}") from exc
    for s in summaries:
        if s.study_name == study_name:
            raw = s.user_attrs.get(_PLAN_ATTR)
            if raw is None:
                raise FullcycleError(
                    f"study {study_name!r} was not started by fullcycle search; "
                    "pick another --study name"
                )
            return Plan(**raw)
    names = ", ".join(s.study_name for s in summaries if not s.study_name.endswith(".fine"))
    raise FullcycleError(
        f"no study {study_name!r} in this storage (studies: {names or 'none'}); start it "
        "with fullcycle search DATA --target COL --study NAME --storage URL first"
    )


def fine_study_name(study_name: str) -> str:
    """The fine round lives in its own study so each sampler sees one fixed space."""
    return f"{study_name}.fine"


def make_sampler(plan: Plan, index: int, *, round_name: str) -> BaseSampler:
    """The round's sampler: random by default, quasi-random Sobol or TPE on request.

    Random and TPE workers get distinct seeds (the same seed everywhere would make every
    worker draw the same points); Sobol workers share one seed because the study itself
    hands out the positions in one scrambled sequence.
    """
    base = plan.seed
    offset = 0 if round_name == COARSE else 7_919
    if plan.sampler == "sobol":
        seed = None if base is None else base + offset
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return QMCSampler(qmc_type="sobol", scramble=True, seed=seed,
                              warn_independent_sampling=False, warn_asynchronous_seeding=False)
    seed = None if base is None else (base + offset + 104_729 * index) % 2**32
    if plan.sampler == "tpe":
        return TPESampler(seed=seed)
    return RandomSampler(seed=seed)


def make_pruner(plan: Plan) -> BasePruner:
    """Median pruning or successive halving on the per-epoch dev error, or none.

    Median: a trial stops when its dev error is worse than the median of earlier trials at
    the same epoch, once 5 trials finished and from the second epoch on (the first epoch is
    too noisy to judge). Successive halving keeps the best third at each rung (η = 3, as
    in Hyperband), with the first rung sized from the first finished trial.
    """
    if plan.pruner == "median":
        return MedianPruner(n_startup_trials=5, n_warmup_steps=2)  # epochs count from 1
    if plan.pruner == "halving":
        return SuccessiveHalvingPruner(min_resource="auto", reduction_factor=3)
    return NopPruner()
