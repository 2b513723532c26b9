"""The autopilot: `fc.run` / `fullcycle run` — the whole recipe, one knob at a time.

split → baselines → initial architecture → sanity checks → LR finder → train → diagnose →
iterate (fix avoidable bias first, then variance, report data mismatch) → test once →
bundle, summary and report. Every experiment is journaled with what changed, why (the
diagnosis that led to it), its errors and whether it was kept; a change is kept only when
the dev error improves and every satisficing constraint holds (seeds 001 and 003).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fullcycle.data.dataset import Prepared, prepare
from fullcycle.data.images import is_picture_source
from fullcycle.data.load import TableSource
from fullcycle.data.splits import SplitOptions
from fullcycle.data.text import TextOptions
from fullcycle.diagnosis.diagnosis import Diagnosis, diagnose, noise_tolerance
from fullcycle.engine.journaling import JournalCallback
from fullcycle.errors import FullcycleError
from fullcycle.metrics import MULTITASK_METRIC, check_error_rate, check_metric, default_metric
from fullcycle.models.mlp import initial_architecture
from fullcycle.recipe import phases, steps
from fullcycle.recipe.budget import Budget, parse_duration
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.moves import Decision
from fullcycle.recipe.outputs import write_outputs
from fullcycle.recipe.refine import refine_search
from fullcycle.recipe.satisfice import Constraint, parse_constraints, violations
from fullcycle.recipe.trainer import Outcome, n_outputs, network_inputs, resolved, train
from fullcycle.rundir import RunDir
from fullcycle.tracking import Tracking

# Time kept back for the test evaluation, error analysis, bundle and report: a share of the
# budget, but never less than the seconds those take on a small run (60 s runs overran by
# 6-12 s on a busy machine with 5% and 3 s: error analysis, bundle and report plots).
FINAL_RESERVE = 0.08
FINAL_RESERVE_MIN_S = 6.0
MIN_BUDGET_S = 10.0
# Share of the time left one experiment may take: a single long fit must not eat the
# whole budget before the recipe's next move is tried.
EXPERIMENT_SHARE = 0.6
# Share of the budget the learning curve may use.
LEARNING_CURVE_SHARE = 0.12


@dataclass
class RunResult:
    """What `fc.run` returns: the summary written to disk, and the chosen model."""

    summary: dict
    out: Path
    model: Any = None
    prepared: Prepared | None = None
    decisions: list[Decision] = field(default_factory=list)


def first_share(prepared: Prepared) -> float:
    """Share of the time left the first experiment may take. Pictures get more than the
    other experiments' `EXPERIMENT_SHARE`: their epochs are fitted to it (recipe/images),
    and on many pictures one well-annealed first fit is most of what a budget buys
    (Fashion-MNIST, 10 minutes: 4 epochs and 0.917 test accuracy at 0.8)."""
    if prepared.is_images:
        from fullcycle.recipe.images import FIRST_EXPERIMENT_SHARE

        return FIRST_EXPERIMENT_SHARE
    return EXPERIMENT_SHARE


class Autopilot:
    """One run of the recipe; `run()` below is the friendly entry point."""

    def __init__(self, prepared: Prepared, rundir: RunDir, *,
                 human_level_error: float | None, budget: Budget, metric: str,
                 constraints: list[Constraint], seed: int, hidden: tuple[int, ...] | None,
                 tolerance: float | None, log: Any, command: str, config_doc: dict,
                 augment: tuple[str, ...] | None = None, pretrained: Any = None) -> None:
        self.p, self.rundir = prepared, rundir
        self.augment, self.pretrained = augment, pretrained  # pictures only
        self.user_human = human_level_error  # None: use the best baseline as a bound
        self.human = human_level_error or 0.0
        self.proxy: str | None = None
        self.budget, self.metric, self.constraints = budget, metric, constraints
        self.seed, self.hidden, self.tolerance, self.log = seed, hidden, tolerance, log
        self.journal = rundir.journal
        self.run_id = self.journal.start_run(command, config_doc)
        self.decisions: list[Decision] = []
        self.experiments: list[dict] = []
        self.sections: dict[str, Any] = {}
        self.best: Outcome | None = None  # best dev error among candidates that satisfice

    # ---- bookkeeping ------------------------------------------------------------------------
    def decide(self, decision: Decision, experiment_id: int | None = None) -> None:
        decision.observed.setdefault("at_seconds", round(self.budget.elapsed(), 2))
        self.decisions.append(decision)
        self.journal.log_decision(self.run_id, decision.kind, decision.observed,
                                  decision.action, decision.reason, experiment_id)
        self.log(f"[bold]{decision.kind}[/bold]: {decision.action}")

    def deadline(self, share: float = 1.0) -> float:
        return time.monotonic() + self.time_left() * share

    def time_left(self) -> float:
        reserve = max(FINAL_RESERVE * self.budget.seconds, FINAL_RESERVE_MIN_S)
        return max(0.0, self.budget.remaining() - reserve)

    def can_afford(self, outcome: Outcome) -> bool:
        """Whether another experiment about as long as `outcome`'s fits in the time left."""
        return self.time_left() > max(1.0, 0.5 * outcome.seconds)

    def experiment(self, config: TrainConfig, change: str, reason: str,
                   against: Outcome | None, *, judge: str = "dev",
                   margin: float = 0.0, candidate: bool = True,
                   share: float = EXPERIMENT_SHARE) -> Outcome:
        """Train `config` as one journaled experiment and say whether it is kept.

        Kept means: it beats `against` by more than `margin` on the error it is judged by
        (``"train"`` for bias moves, ``"dev"`` for the rest; ``"variance"``: a lower dev
        error *and* a smaller dev − train gap, the gap a regularization move attacks) and
        breaks no satisficing constraint.
        The run's shipped model is the best dev error among all candidates
        that satisfice, whichever phase trained them (`candidate=False`: a seed-average
        member, which is never shipped alone: picking the luckiest seed on dev is tuning
        to the dev set's noise).
        """
        exp_id = self.journal.start_experiment(
            self.run_id, change, config.to_dict(), config.seed, self.p.fingerprint, reason,
            parent_id=against.experiment_id if against is not None else None)
        # One line per experiment (below); per-epoch bars of dozens of experiments would bury
        # the decisions, and every epoch is in the journal anyway.
        outcome = train(self.p, config, metric=self.metric,
                        deadline=self.deadline(share),
                        journal=JournalCallback(self.journal, exp_id, self.run_id))
        broken = violations(self.constraints, {"latency_ms": outcome.latency_ms,
                                               "params": outcome.n_parameters,
                                               "train_seconds": outcome.seconds})
        split = "train" if judge == "train" else "dev"
        new = float(outcome.errors[split])
        improved = (against is None or
                    (math.isfinite(new) and new < float(against.errors[split]) - margin))
        if judge == "variance" and against is not None:
            improved = improved and _variance(outcome) < _variance(against)
        kept = candidate and improved and not broken and not outcome.diverged
        if candidate and not broken and not outcome.diverged and (
                self.best is None or outcome.dev_error < self.best.dev_error):
            self.best = outcome
        self.journal.end_experiment(exp_id, "finished", {
            **outcome.errors, "seconds": outcome.seconds, "judged_by": judge,
            "margin": margin}, kept)
        self.experiments.append({
            "id": exp_id, "change": change, "reason": reason, "config": config.describe(),
            "judged_by": ("dev error and variance" if judge == "variance"
                          else f"{split} error"), "train_error": outcome.errors["train"],
            "train_dev_error": outcome.errors["train_dev"], "dev_error": outcome.errors["dev"],
            "kept": kept, "seconds": round(outcome.seconds, 2),
            "best_epoch": outcome.best_epoch, "params": outcome.n_parameters,
            "latency_ms": round(outcome.latency_ms, 4), "violations": broken,
            "stopped_by_deadline": outcome.stopped_by_deadline,
        })
        verdict = "kept" if kept else ("a member of the average" if not candidate else
                                       "breaks " + "; ".join(broken) if broken else
                                       f"not kept ({split} error did not improve"
                                       + (f" by more than {margin:.3g})" if margin else ")"))
        self.log(f"  {change}: train {outcome.errors['train']:.4g}, dev "
                 f"{outcome.errors['dev']:.4g} → {verdict}")
        return outcome

    def consider(self, outcome: Outcome, change: str, reference: float, reason: str) -> bool:
        """Record a candidate built from trained networks (a seed average) as an experiment;
        it is kept, and becomes the run's choice, when its dev error is below `reference`
        (an unbiased comparison the caller states in `reason`) and it satisfices."""
        exp_id = self.journal.start_experiment(self.run_id, change, outcome.config.to_dict(),
                                               outcome.config.seed, self.p.fingerprint, reason)
        broken = violations(self.constraints, {"latency_ms": outcome.latency_ms,
                                               "params": outcome.n_parameters,
                                               "train_seconds": outcome.seconds})
        kept = not broken and outcome.dev_error < reference
        if kept:
            self.best = outcome
        outcome.experiment_id = exp_id
        self.journal.end_experiment(exp_id, "finished", {**outcome.errors}, kept)
        self.experiments.append({
            "id": exp_id, "change": change, "reason": reason,
            "config": outcome.config.describe(), "judged_by": "dev error",
            "train_error": outcome.errors["train"],
            "train_dev_error": outcome.errors["train_dev"], "dev_error": outcome.errors["dev"],
            "kept": kept, "seconds": 0.0, "best_epoch": outcome.best_epoch,
            "params": outcome.n_parameters, "latency_ms": round(outcome.latency_ms, 4),
            "violations": broken, "stopped_by_deadline": False,
        })
        self.log(f"  {change}: train {outcome.errors['train']:.4g}, dev "
                 f"{outcome.errors['dev']:.4g} → {'kept' if kept else 'not kept'}")
        return kept

    def diagnosis_of(self, outcome: Outcome, test_error: float | None = None) -> Diagnosis:
        """The diagnosis of `outcome` against the Bayes proxy, gaps judged against noise."""
        curve = self.sections.get("learning_curve") or {}
        tolerance = self.tolerance
        if tolerance is None:
            reference = self.human if self.human > 0 else outcome.dev_error
            tolerance = noise_tolerance(self.metric, reference, len(self.p.X["dev"]))
        return diagnose(outcome.errors["train"], outcome.errors["dev"], self.human,
                        outcome.errors["train_dev"], test_error, tolerance=tolerance,
                        more_data_helps=curve.get("more_data_helps"), proxy=self.proxy)

    def set_bayes_proxy(self, rows: list[dict]) -> None:
        """Without a human-level error, the best baseline's dev error is the Bayes proxy: an
        error known to be achievable, so an upper bound on Bayes error (never 0)."""
        if self.user_human is not None:
            return
        finite_rows = [r for r in rows if math.isfinite(r["dev_error"])]
        if not finite_rows:
            return
        best = min(finite_rows, key=lambda r: r["dev_error"])
        self.human = float(best["dev_error"])
        self.proxy = f"the best baseline's dev error ({best['name']})"
        self.decide(Decision("bayes_proxy", {"baseline": best["name"], "value": self.human},
                             f"Bayes-error proxy {self.human:.4g} ({best['name']}, a bound)",
                             "no human-level error given: an error a simple model reaches on "
                             "dev bounds the Bayes error from above (issue: never 0)"))

    # ---- the flow -----------------------------------------------------------------------------
    def initial_config(self) -> TrainConfig:
        n_train = len(self.p.X["train"])
        arch = initial_architecture(network_inputs(self.p), n_outputs(self.p), n_train)
        config = resolved(self.p, TrainConfig(hidden=self.hidden, seed=self.seed))
        if self.p.is_images:
            return self.initial_image_config(config)
        hidden = config.hidden
        if self.p.preprocessor.text_columns:
            self.describe_text(config, n_train)
        self.sections["architecture"] = {**arch.to_dict(), "chosen_hidden": list(hidden)}
        self.decide(Decision("architecture", arch.to_dict(),
                             f"start with hidden {','.join(map(str, hidden))}, "
                             f"batch {config.batch_size}",
                             arch.reason if not self.hidden else "hidden sizes given by the user"))
        return config

    def initial_image_config(self, base: TrainConfig) -> TrainConfig:
        """The first ResNet, or the network transferred from task A (recipe/images)."""
        from fullcycle.recipe.images import initial_image_config

        config, doc, reason = initial_image_config(self.p, base, self.augment, self.pretrained)
        self.sections["architecture"] = doc
        self.decide(Decision("architecture", doc, config.describe(), reason))
        if config.images.transfer:
            self.decide(Decision("transfer", doc["transfer"], doc["transfer"]["description"],
                                 doc["transfer"]["reason"]))
        return config

    def describe_text(self, config: TrainConfig, n_train: int) -> None:
        """Say the text path `resolve` chose: embedding + LSTM sizes from the largest
        vocabulary and the data (seed 001 step 2), and the gradient clipping recurrent nets
        get by default."""
        vocabulary = max(v for _, _, v in self.p.preprocessor.text)
        self.sections["text"] = {
            "columns": [t.to_dict()["stats"] | {"name": t.name, "max_length": t.max_length,
                                                "options": t.options}
                        for t in self.p.preprocessor.text_columns],
            "embedding": config.text_embedding, "lstm_hidden": config.text_hidden,
            "clip_norm": config.clip_norm}
        self.decide(Decision("text_architecture", {"vocabulary": vocabulary,
                                                   "n_train": n_train},
                             f"embedding {config.text_embedding} + one-layer LSTM "
                             f"{config.text_hidden}, concat pooling (last, max, mean), "
                             f"batch {config.batch_size}",
                             "seed 001's first text architecture; the embedding width from "
                             "the vocabulary (fastai's rule, capped at 128, 32 below 2000 "
                             "rows), the LSTM as wide as the embedding; text batches of at "
                             "least 128 (an LSTM step costs about as much as at 32)"))
        if config.clip_norm:
            self.decide(Decision("gradient_clipping", {"recurrent": True},
                                 f"clip gradients at global norm {config.clip_norm:g}",
                                 "on by default for recurrent nets, whose gradients explode "
                                 "through time (Pascanu et al. 2013)"))

    def iterate(self, current: Outcome) -> Outcome:
        """Fit the training set, then the dev set; report mismatch; search what is left;
        spend the rest on work that cannot overfit the dev set."""
        current = phases.satisfy_constraints(self, current)
        current = phases.fit_training_set(self, current)
        current = phases.fit_dev_set(self, current)
        best = self.best or current
        found = self.diagnosis_of(best)
        if found.primary_problem not in ("avoidable_bias", "variance", "none"):
            self.decide(Decision("stop", found.to_dict(), "no knob fixes this: report it",
                                 f"primary problem: {found.primary_problem}; the seeds fix "
                                 "it with data (error analysis, more similar training "
                                 "data, a bigger dev set), and tuning to the dev set "
                                 "would only hide it"))
        elif found.primary_problem == "none":
            self.decide(Decision("phase", found.to_dict(), "every gap is within tolerance",
                                 "nothing left for the recipe's moves to fix; the time left "
                                 "goes to work that does not tune on dev"))
        elif self.can_afford(best):
            self.decide(Decision("search", found.to_dict(),
                                 "random search around the best configuration",
                                 "the recipe's one-knob moves are spent (primary problem: "
                                 f"{found.primary_problem}); seed 000: random search on "
                                 "the right scales, coarse to fine"))
            refine_search(self, best)
        best = self.best or best
        if found.primary_problem in ("avoidable_bias", "variance", "none"):
            best = phases.use_the_time_left(self, best)
        if not self.can_afford(best):
            self.decide(Decision("stop", {"seconds_left": round(self.budget.remaining(), 1)},
                                 "time budget spent", "the run keeps to its --budget"))
        else:
            self.decide(Decision("stop", {"seconds_left": round(self.budget.remaining(), 1)},
                                 "done early", "no move is left that fits in the time left or "
                                 "is worth the dev set's noise"))
        return self.best or best

    def execute(self) -> RunResult:
        p = self.p
        self.log(f"{p.task} on {', '.join(p.targets)}: {p.sizes}  metric: {self.metric}")
        self.decide(Decision("split", {"sizes": p.sizes, "strategy": p.split.strategy},
                             f"{p.split.strategy} split {p.sizes}",
                             "the seeds' rule: 60/20/20 for small data, dev and test capped "
                             "near 10,000 rows"))
        base_rows, decision = steps.run_baselines(p, self.metric, self.seed)
        self.sections["baselines"] = base_rows
        self.decide(decision)
        self.set_bayes_proxy(base_rows)
        config = self.initial_config()
        checks, decision = steps.run_sanity_checks(p, config, self.seed)
        self.sections["checks"] = checks
        self.decide(decision)
        curve, lr, decision = steps.choose_lr(checks)
        self.sections["lr_finder"] = curve
        self.decide(decision)
        config = config.with_changes(lr=lr)
        first = ("the seeds' first network for pictures: a small ResNet, Adam, the LR "
                 "finder's rate" if p.is_images else
                 "the seeds' first network: one hidden layer between input and output sizes, "
                 "Adam, the LR finder's rate")
        best = self.experiment(config, "initial architecture", first, None,
                               share=first_share(p))
        while best.diverged and config.lr > 1e-6:
            config = config.with_changes(lr=config.lr / 10)
            self.decide(Decision("lr", {"diverged": best.diverged},
                                 f"retry with lr {config.lr:.3g}",
                                 "training diverged even after the NaN guard's restarts; an "
                                 "order of magnitude lower rate (seed 000's log scale)"))
            best = self.experiment(config, f"initial architecture, lr {config.lr:.3g}",
                                   "the first training diverged", None)
        if best.diverged:
            raise FullcycleError("training diverges at every learning rate down to 1e-6; "
                                 "check the data for extreme values or a broken target")
        lc_seconds = min(LEARNING_CURVE_SHARE * self.budget.seconds, 0.3 * self.time_left())
        found = self.diagnosis_of(best)
        curve_doc, decision = steps.run_learning_curve(p, best.config, self.metric, lc_seconds,
                                                       self.human, found.tolerance)
        if decision is not None:
            self.sections["learning_curve"] = curve_doc
            self.decide(decision)
        best = self.iterate(best)
        return self.finish(best)

    def finish(self, best: Outcome) -> RunResult:
        if self.best is None:
            self.decide(Decision("satisficing", {"constraints": [str(c) for c in
                                                                 self.constraints]},
                                 "no candidate met the satisficing constraints",
                                 "the model reported is the last one trained, which breaks "
                                 "them too; relax --satisfice or change the architecture"))
        value, error = steps.test_error(self.p, best.model, self.metric,
                                        per_task=self.sections.setdefault("task_test", {}))
        found = self.diagnosis_of(best, test_error=error)
        recommendations = list(found.next_actions)
        curve = self.sections.get("learning_curve") or {}
        if found.primary_problem == "variance" and curve.get("more_data_helps"):
            recommendations.insert(0, "get more training data: the learning curve still falls")
        recommendations = list(dict.fromkeys(recommendations))  # once each, order kept
        self.sections["comparison"] = compare_with_baselines(
            best, self.sections.get("baselines", []))
        comparison = self.sections["comparison"]
        if comparison.get("verdict"):
            self.log(comparison["verdict"])
        self.decide(Decision("diagnosis", found.to_dict(), found.primary_problem,
                             "; ".join(recommendations[:3]) or "no gap above tolerance",
                             recommendations))
        summary = write_outputs(self, best, found, value, error, recommendations)
        self.journal.end_run(self.run_id)
        return RunResult(summary=summary, out=self.rundir.path, model=best.model,
                         prepared=self.p, decisions=self.decisions)


def _variance(outcome: Outcome) -> float:
    """Dev error minus training error (seed 003's variance)."""
    return float(outcome.errors["dev"]) - float(outcome.errors["train"])


def compare_with_baselines(best: Outcome, rows: list[dict]) -> dict[str, Any]:
    """The network beside the strongest baseline on dev, said plainly (issue: honest
    comparison): who wins and by how much, in the metric's error units."""
    finite_rows = [r for r in rows if math.isfinite(r.get("dev_error", math.inf))]
    if not finite_rows:
        return {}
    strongest = min(finite_rows, key=lambda r: r["dev_error"])
    network, baseline = best.dev_error, float(strongest["dev_error"])
    gap = network - baseline
    wins = gap > 0
    relative = gap / baseline if baseline > 0 else math.inf
    verdict = (f"the {strongest['name']} baseline beats the network on dev: {baseline:.4g} "
               f"against {network:.4g} ({gap:+.4g}, {relative:+.1%})" if wins else
               f"the network beats the strongest baseline ({strongest['name']}) on dev: "
               f"{network:.4g} against {baseline:.4g} ({gap:+.4g})")
    return {"network_dev_error": network, "baseline": strongest["name"],
            "baseline_dev_error": baseline, "difference": gap,
            "relative_difference": relative if math.isfinite(relative) else None,
            "baseline_wins": wins, "verdict": verdict}


def run(data: TableSource, target: str | list[str] | None = None, *,
        out: str | Path | None = None,
        human_level_error: float | None = None, budget: str | float = "5m",
        metric: str | None = None,
        satisfice: str | None = None, dev_data: TableSource | None = None,
        task: str | None = None, split: SplitOptions | None = None,
        hidden: list[int] | tuple[int, ...] | None = None, ignore: list[str] | None = None,
        drop_missing_target: bool = False, tolerance: float | None = None,
        seed: int = 0, progress: bool = False, log: Callable[[str], None] | None = None,
        text_columns: list[str] | None = None, text_options: TextOptions | None = None,
        tracking: Tracking | None = None,
        image_column: str | None = None, image_size: str | int | None = None,
        augment: str | None = "auto", pretrained: Any = None,
        refuse_unreadable: bool = False) -> RunResult:
    """Run the whole recipe on a table and write a run directory (see module docstring).

    `human_level_error` is the Bayes-error proxy in the metric's error units (e.g. 0.01 for
    1% error); without it the best baseline's dev error is the proxy (a bound). `tolerance`:
    gaps at or below it are noise (default: one standard error of the dev error). `budget`
    a duration like "5m" or seconds; `satisfice` constraints like
    "latency_ms<=100". `progress=True` prints each decision and experiment as it happens
    (`log` receives those lines instead, when given). `text_columns` are tokenized as free
    text (others are detected), with `text_options`; several targets not all 0/1 make a
    multi-task run, judged by the mean of its tasks' errors. `tracking` logs the finished
    run to MLflow / TensorBoard (`fullcycle.tracking`). Pictures: `data` a folder of
    class folders, or a table with `image_column`; `image_size` ("64", "48x64"), `augment`
    ("auto", "none", "flip,rotate,..."), `pretrained` (a bundle folder or an `nn.Module` with
    its weights), `refuse_unreadable` (stop at an unreadable file instead of skipping it) —
    see `fullcycle.data.images` and `fullcycle.recipe.images`.
    """
    seconds = parse_duration(budget)
    if seconds < MIN_BUDGET_S:
        raise FullcycleError(f"--budget {budget} is too short; the recipe needs at least "
                             f"{MIN_BUDGET_S:g}s (checks, training, test, report)")
    clock = Budget(seconds)
    constraints = parse_constraints(satisfice)
    options = split or SplitOptions(seed=seed)
    pictures = None
    if is_picture_source(data, image_column):
        from fullcycle.recipe.images import prepare_for_run

        prepared, pictures = prepare_for_run(
            data, target, task=task, dev_data=dev_data, split=options,
            drop_missing_target=drop_missing_target, image_column=image_column,
            image_size=image_size, augment=augment, pretrained=pretrained,
            refuse_unreadable=refuse_unreadable)
    else:
        if target is None:
            raise FullcycleError("no target column given; pass --target COLUMN (or a folder "
                                 "of class folders of pictures)")
        prepared = prepare(data, target, task=task, dev_data=dev_data, split=options,
                           ignore=ignore, drop_missing_target=drop_missing_target,
                           text_columns=text_columns, text_options=text_options)
    if prepared.task == "multitask":
        if metric is not None:
            raise FullcycleError("--metric applies to one target; a multi-task run is judged "
                                 "by the mean of its tasks' errors: leave --metric out")
        chosen = MULTITASK_METRIC
    else:
        chosen = metric or default_metric(prepared.task, prepared.y["train"])
        check_metric(chosen, prepared.task)
    if human_level_error is not None:
        check_error_rate(human_level_error, chosen, "--human-error")
    name = Path(str(data)).stem if not hasattr(data, "columns") else "dataframe"
    rundir = RunDir(out or Path("runs") / name)
    prepared.save(rundir.path)
    doc = {"data": str(data) if not hasattr(data, "columns") else "DataFrame",
           "dev_data": (str(dev_data) if dev_data is not None and not hasattr(dev_data, "columns")
                        else None),
           "target": target, "human_level_error": human_level_error, "budget": seconds,
           "metric": chosen, "satisfice": satisfice, "seed": seed}
    if log is None and progress:
        from rich.console import Console

        log = Console(highlight=False).print
    pilot = Autopilot(prepared, rundir, human_level_error=human_level_error, budget=clock,
                      metric=chosen, constraints=constraints, seed=seed,
                      hidden=tuple(hidden) if hidden else None, tolerance=tolerance,
                      log=log or (lambda *_: None), command="run", config_doc=doc,
                      **(pictures or {}))
    try:
        result = pilot.execute()
    except BaseException:
        pilot.journal.end_run(pilot.run_id, "failed")
        raise
    result.summary["seconds"] = round(clock.elapsed(), 2)
    rundir.update_summary(seconds=result.summary["seconds"])
    if tracking is not None:
        result.summary["tracking"] = tracking.log_run(rundir.path)
    return result
