"""A finished (or interrupted) search read back from its storage, ready to print and report.

Everything comes from the storage, not from the processes that ran the trials, so the
result is the same whichever machines ran them and however many times the search was
resumed. Trial numbers are the coarse study's numbers, then the fine study's numbers
shifted past them, so every trial of a search has one number of its own.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from fullcycle.tuning import refine
from fullcycle.tuning.plan import COARSE, FINE, Plan, fine_study_name
from fullcycle.tuning.space import config_key, describe_param

_STATES = {
    TrialState.COMPLETE: "complete",
    TrialState.PRUNED: "pruned",
    TrialState.FAIL: "failed",
    TrialState.RUNNING: "running",
    TrialState.WAITING: "waiting",
}

RULE = (
    f"fine ranges span the best {int(refine.TOP_FRACTION * 100)}% of completed coarse trials "
    f"(at least {refine.MIN_TOP}) on each parameter's own scale (log10 for log-scaled ones), "
    f"widened by {int(refine.MARGIN * 100)}% of the coarse range on each side and clipped to it"
)


@dataclass
class SearchResult:
    """Best trial, every trial, both rounds' ranges and the hyperparameter importance."""

    study: str
    storage: str
    plan: Plan
    trials: list[dict[str, Any]]
    best: dict[str, Any] | None
    rounds: dict[str, Any]
    importance: dict[str, float] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """How many trials ended in each state."""
        out: dict[str, int] = {}
        for t in self.trials:
            out[t["state"]] = out.get(t["state"], 0) + 1
        return out

    def to_dict(self) -> dict[str, Any]:
        """The `--json` document: best, trials, then the details the report draws from."""
        best = None
        if self.best is not None:
            best = {"params": self.best["params"], "dev_error": self.best["dev_error"],
                    "number": self.best["number"], "round": self.best["round"],
                    "train_error": self.best.get("train_error"),
                    "train_dev_error": self.best.get("train_dev_error")}
        return {"best": best, "trials": self.trials, "study": self.study,
                "storage": self.storage, "rounds": self.rounds, "importance": self.importance,
                "counts": self.counts(),
                "plan": {"trials": self.plan.trials, "coarse_trials": self.plan.coarse_trials,
                         "fine_trials": self.plan.fine_trials, "sampler": self.plan.sampler,
                         "pruner": self.plan.pruner, "seed": self.plan.seed,
                         "base_config": self.plan.base_config},
                **self.extra}


def _row(t: FrozenTrial, number: int, round_name: str) -> dict[str, Any]:
    params = t.user_attrs.get("config")
    if params is None:  # died before the space ran: show what Optuna drew
        params = {config_key(k): v for k, v in t.params.items()}
    if t.state == TrialState.COMPLETE:
        dev_error = t.value
    elif t.intermediate_values:
        dev_error = t.intermediate_values[max(t.intermediate_values)]
    else:
        dev_error = None
    row = {"number": number, "state": _STATES.get(t.state, t.state.name.lower()),
           "round": round_name, "params": params, "dev_error": dev_error,
           "epochs": len(t.intermediate_values), "values": dict(t.params),
           "curve": sorted(t.intermediate_values.items())}
    for key in ("train_error", "train_dev_error", "best_epoch", "stopped", "error", "worker"):
        if key in t.user_attrs:
            row[key] = t.user_attrs[key]
    retried = t.system_attrs.get("failed_trial")
    if retried is not None:
        row["retry_of"] = retried
    if t.datetime_start and t.datetime_complete:
        row["seconds"] = (t.datetime_complete - t.datetime_start).total_seconds()
    return row


def collect(storage: Any, study_name: str, plan: Plan, storage_label: str) -> SearchResult:
    """Read both rounds of `study_name` from `storage` into a `SearchResult`."""
    coarse = optuna.load_study(study_name=study_name, storage=storage)
    coarse_trials = coarse.get_trials(deepcopy=False)
    rows = [_row(t, t.number, COARSE) for t in coarse_trials if not t.user_attrs.get("surplus")]
    rounds: dict[str, Any] = {COARSE: {"ranges": refine.coarse_ranges(coarse_trials)}}
    try:
        fine = optuna.load_study(study_name=fine_study_name(study_name), storage=storage)
    except KeyError:
        fine = None
    if fine is not None and "ranges" in fine.user_attrs:
        offset = int(fine.user_attrs.get("number_offset", len(coarse_trials)))
        rows += [_row(t, offset + t.number, FINE) for t in fine.get_trials(deepcopy=False)
                 if not t.user_attrs.get("surplus")]
        rounds[FINE] = {"ranges": fine.user_attrs["ranges"], "rule": RULE,
                        "top_trials": [t.number for t in refine.best_trials(coarse_trials)]}
    for name, info in rounds.items():
        info["trials"] = sum(1 for r in rows if r["round"] == name)
        info["finished"] = sum(1 for r in rows if r["round"] == name
                               and r["state"] in ("complete", "pruned"))
    done = [r for r in rows if r["state"] == "complete" and r["dev_error"] is not None]
    best = min(done, key=lambda r: (r["dev_error"], r["number"])) if done else None
    return SearchResult(study_name, storage_label, plan, rows, best, rounds,
                        importance(coarse_trials))


def best_diagnosis(result: SearchResult, human_level_error: float = 0.0) -> dict | None:
    """The diagnosis of the best trial from its train (and train-dev) and dev errors."""
    best = result.best
    if best is None or best.get("train_error") is None:
        return None
    from fullcycle.diagnosis.diagnosis import diagnose

    return diagnose(train_error=best["train_error"], dev_error=best["dev_error"],
                    human_level_error=human_level_error,
                    train_dev_error=best.get("train_dev_error")).to_dict()


def importance(trials: list[FrozenTrial]) -> dict[str, float] | None:
    """Optuna's fANOVA importance over the coarse round (full ranges, unbiased draws).

    Keys read as people name the hyperparameter on its search scale (`1 - beta1`). None
    when fewer than two trials completed or nothing varied.
    """
    done = [t for t in trials if t.state == TrialState.COMPLETE]
    if len(done) < 2:
        return None
    study = optuna.create_study(direction="minimize")
    study.add_trials(done)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = optuna.importance.get_param_importances(
                study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    except (RuntimeError, ValueError):
        return None
    return {describe_param(k): float(v) for k, v in raw.items()}
