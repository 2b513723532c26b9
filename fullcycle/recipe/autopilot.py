"""The autopilot: `fc.run` / `fullcycle run` — the whole recipe, one knob at a time.

split → baselines → initial architecture → sanity checks → LR finder → train → diagnose →
iterate (fix avoidable bias first, then variance, report data mismatch) → test once →
bundle, summary and report. Every experiment is journaled with what changed, why (the
diagnosis that led to it), its errors and whether it was kept; a change is kept only when
the dev error improves and every satisficing constraint holds (seeds 001 and 003).

Everything the flow reads from outside (the clock, its steps' results, experiment outcomes,
the test evaluation) goes through the run's tape (`fullcycle.recipe.replay`), so that
``resume=True`` (`fullcycle run --resume`) replays a killed run's path and carries on from
where it was killed (`fullcycle.recipe.resume`).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fullcycle.data.dataset import Prepared
from fullcycle.diagnosis.diagnosis import Diagnosis, diagnose, noise_tolerance
from fullcycle.errors import FullcycleError
from fullcycle.recipe import (
    experiment_record,
    experiments,
    initial_network,
    phases,
    resume,
    steps,
)
from fullcycle.recipe.baseline_comparison import bayes_proxy, compare_with_baselines
from fullcycle.recipe.budget import Budget
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.entry import run  # noqa: F401 - `fc.run`, defined with its options there
from fullcycle.recipe.moves import Decision
from fullcycle.recipe.outputs import write_outputs
from fullcycle.recipe.refine import refine_search
from fullcycle.recipe.replay import Tape
from fullcycle.recipe.satisfice import Constraint, violations
from fullcycle.recipe.trainer import Outcome
from fullcycle.rundir import RunDir

# Time kept back for the test evaluation, error analysis, bundle and report: a share of the
# budget, but never less than the seconds those take on a small run (60 s runs overran by
# 6-12 s on a busy machine with 5% and 3 s: error analysis, bundle and report plots).
FINAL_RESERVE = 0.08
FINAL_RESERVE_MIN_S = 6.0
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
    (Fashion-MNIST, 10 minutes: 4 epochs and 0.917 test accuracy at a share of 0.8; 6.24
    epochs and 0.925 at `FIRST_EXPERIMENT_SHARE` 0.93)."""
    if prepared.is_images:
        from fullcycle.recipe.images import FIRST_EXPERIMENT_SHARE

        return FIRST_EXPERIMENT_SHARE
    return EXPERIMENT_SHARE


class Autopilot:
    """One run of the recipe; `fc.run` (`fullcycle.recipe.entry`) is the friendly entry point."""

    def __init__(self, prepared: Prepared, rundir: RunDir, *,
                 human_level_error: float | None, budget: Budget, metric: str,
                 constraints: list[Constraint], seed: int, hidden: tuple[int, ...] | None,
                 tolerance: float | None, log: Any, command: str, config_doc: dict,
                 augment: tuple[str, ...] | None = None, pretrained: Any = None,
                 resumed: resume.ResumeState | None = None) -> None:
        self.p, self.rundir = prepared, rundir
        self.augment, self.pretrained = augment, pretrained  # pictures only
        self.user_human = human_level_error  # None: use the best baseline as a bound
        self.human = human_level_error or 0.0
        self.proxy: str | None = None
        self.budget, self.metric, self.constraints = budget, metric, constraints
        self.seed, self.hidden, self.tolerance, self.log = seed, hidden, tolerance, log
        self.journal = rundir.journal
        self.resumed = resumed
        self.decisions: list[Decision] = []
        self.experiments: list[dict] = []
        self.sections: dict[str, Any] = {}
        self.best: Outcome | None = None  # best dev error among candidates that satisfice
        if resumed is None:
            self.run_id = self.journal.start_run(command, config_doc)
            experiment_record.forget_other_runs(rundir, self.run_id)
            self.tape = Tape(self.journal, self.run_id, [], budget.elapsed)
        else:
            self.run_id = resumed.run_id
            self.journal.reopen_run(self.run_id)
            self.tape = Tape(self.journal, self.run_id, resumed.records, budget.elapsed,
                             on_live=self.announce_resume)

    # ---- bookkeeping ------------------------------------------------------------------------
    def decide(self, decision: Decision, experiment_id: int | None = None) -> None:
        """Journal and show a decision; replaying a resumed run, the journaled one stands."""
        decision.observed.setdefault("at_seconds", round(self.elapsed(), 2))
        self.decisions.append(decision)
        replayed = self.tape.decision(decision)
        if not replayed:
            self.journal.log_decision(self.run_id, decision.kind, decision.observed,
                                      decision.action, decision.reason, experiment_id,
                                      record=("decision", {"kind": decision.kind,
                                                           "action": decision.action}))
        self.log(f"[bold]{decision.kind}[/bold]: {decision.action}"
                 + (" [dim](journal)[/dim]" if replayed else ""))

    def announce_resume(self, tape: Tape) -> None:
        """A resumed run's replay is over: the journal says it was resumed, when, after how
        much of the budget, and what came from the journal (summary.json ``resumed``)."""
        assert self.resumed is not None
        decision = self.resumed.decision()
        decision.observed["replayed"] = dict(tape.replayed)
        decision.observed["at_seconds"] = round(self.budget.elapsed(), 2)
        if tape.left_path:
            decision.observed["left_recorded_path"] = tape.left_path
        self.decisions.append(decision)
        self.journal.log_decision(self.run_id, decision.kind, decision.observed,
                                  decision.action, decision.reason)
        self.sections["resumed"] = [row["observed"] for row in self.journal.decisions(self.run_id)
                                    if row["kind"] == "resume"]
        self.log(f"[bold]resume[/bold]: {decision.action}")

    def elapsed(self) -> float:
        """Seconds of the budget spent, read through the tape (a resumed run replays)."""
        return self.tape.clock()

    def deadline(self, share: float = 1.0) -> float:
        return time.monotonic() + self.time_left() * share

    def remaining(self) -> float:
        return max(0.0, self.budget.seconds - self.elapsed())

    def time_left(self) -> float:
        reserve = max(FINAL_RESERVE * self.budget.seconds, FINAL_RESERVE_MIN_S)
        return max(0.0, self.remaining() - reserve)

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
        breaks no satisficing constraint. The journal's metrics say how it was judged and
        against which experiment (``judged_by``, ``margin``, ``against``). The run's shipped
        model is the best dev error among all candidates
        that satisfice, whichever phase trained them (`candidate=False`: a seed-average
        member, which is never shipped alone: picking the luckiest seed on dev is tuning
        to the dev set's noise).
        """
        exp_id, outcome, replayed = experiments.train_or_replay(
            self, config, change, reason, self.deadline(share))
        broken = violations(self.constraints, {"latency_ms": outcome.latency_ms,
                                               "params": outcome.n_parameters,
                                               "train_seconds": outcome.seconds})
        split = "train" if judge == "train" else "dev"
        new = float(outcome.errors[split])
        improved = (against is None or
                    (math.isfinite(new) and new < float(against.errors[split]) - margin))
        if judge == "variance" and against is not None:
            improved = improved and _variance(outcome) < _variance(against)
        if judge == "mismatch" and against is not None:
            improved = improved and _mismatch(outcome) < _mismatch(against)
        kept = candidate and improved and not broken and not outcome.diverged
        if candidate and not broken and not outcome.diverged and (
                self.best is None or outcome.dev_error < self.best.dev_error):
            self.best = outcome
        judgement = {"judged_by": judge, "margin": margin,
                     "against": against.experiment_id if against is not None else None}
        experiments.record_end(self, exp_id, outcome, {**outcome.errors,
                                                       "seconds": outcome.seconds,
                                                       **judgement}, kept, replayed)
        row = experiment_record.experiment_row(exp_id, change, reason, outcome, split, kept,
                                               broken)
        if judge in ("variance", "mismatch"):
            row["judged_by"] = f"dev error and {'variance' if judge == 'variance' else 'mismatch'}"
        self.experiments.append(row)
        verdict = "kept" if kept else ("a member of the average" if not candidate else
                                       "breaks " + "; ".join(broken) if broken else
                                       f"not kept ({split} error did not improve"
                                       + (f" by more than {margin:.3g})" if margin else ")"))
        self.log(f"  {change}: train {outcome.errors['train']:.4g}, dev "
                 f"{outcome.errors['dev']:.4g} → {verdict}"
                 + (" [dim](journal)[/dim]" if replayed else ""))
        return outcome

    def consider(self, outcome: Outcome, change: str, reference: float, reason: str) -> bool:
        """Record a candidate built from trained networks (a seed average) as an experiment;
        it is kept, and becomes the run's choice, when its dev error is below `reference`
        (an unbiased comparison the caller states in `reason`) and it satisfices."""
        exp_id, replayed = experiments.candidate_or_replay(self, outcome, change, reason)
        broken = violations(self.constraints, {"latency_ms": outcome.latency_ms,
                                               "params": outcome.n_parameters,
                                               "train_seconds": outcome.seconds})
        kept = not broken and outcome.dev_error < reference
        if kept:
            self.best = outcome
        outcome.experiment_id = exp_id
        experiments.record_end(self, exp_id, outcome, {**outcome.errors}, kept, replayed)
        self.experiments.append(experiment_record.experiment_row(
            exp_id, change, reason, outcome, "dev", kept, broken, seconds=0.0))
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
        """Without a human-level error, the best baseline's dev error is the Bayes proxy
        (`baseline_comparison.bayes_proxy`)."""
        found = bayes_proxy(rows) if self.user_human is None else None
        if found is not None:
            self.human, self.proxy, decision = found
            self.decide(decision)

    # ---- the flow -----------------------------------------------------------------------------
    def initial_config(self) -> TrainConfig:
        """The seeds' first network for this data, decided and journaled."""
        return initial_network.initial_config(self)

    def iterate(self, current: Outcome) -> Outcome:
        """Fit the training set, then the dev set; report mismatch; search what is left;
        spend the rest on work that cannot overfit the dev set."""
        current = phases.satisfy_constraints(self, current)
        current = phases.fit_training_set(self, current)
        current = phases.fit_dev_set(self, current)
        current = phases.close_the_mismatch(self, current)
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
            self.decide(Decision("stop", {"seconds_left": round(self.remaining(), 1)},
                                 "time budget spent", "the run keeps to its --budget"))
        else:
            self.decide(Decision("stop", {"seconds_left": round(self.remaining(), 1)},
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
        base_rows, decision = self.tape.step(
            "baselines", lambda: steps.run_baselines(p, self.metric, self.seed), p.notes)
        self.sections["baselines"] = base_rows
        self.decide(decision)
        self.set_bayes_proxy(base_rows)
        config = self.initial_config()
        checks, decision = self.tape.step(
            "checks", lambda: steps.run_sanity_checks(p, config, self.seed), p.notes)
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
        curve_doc, decision = self.tape.step("learning_curve", lambda: steps.run_learning_curve(
            p, best.config, self.metric, lc_seconds, self.human, found.tolerance), p.notes)
        if decision is not None:
            self.sections["learning_curve"] = curve_doc
            self.decide(decision)
        best = self.iterate(best)
        return self.finish(best)

    def evaluate_test(self, best: Outcome) -> tuple[float, float, dict]:
        """The one access to the locked test split: (metric value, error, per-task)."""
        per_task: dict = {}
        value, error = steps.test_error(self.p, best.model, self.metric, per_task=per_task)
        return value, error, per_task

    def finish(self, best: Outcome) -> RunResult:
        if self.best is None:
            self.decide(Decision("satisficing", {"constraints": [str(c) for c in
                                                                 self.constraints]},
                                 "no candidate met the satisficing constraints",
                                 "the model reported is the last one trained, which breaks "
                                 "them too; relax --satisfice or change the architecture"))
        # pure arithmetic on the final model's dev outputs: the same on a replay
        threshold, decision = steps.choose_threshold(self.p, best, self.metric)
        if decision is not None:
            self.decide(decision)
        if threshold is not None:
            self.sections["decision_threshold"] = threshold
        value, error, self.sections["task_test"] = self.tape.test_once(
            self.p, lambda: self.evaluate_test(best))
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
        if self.tape.playing:  # the flow reads nothing more: what is left is another path
            self.tape.leave("the journal holds records after the run's last decision")
        self.tape.go_live()
        summary = write_outputs(self, best, found, value, error, recommendations)
        self.journal.set_spent(self.run_id, self.budget.elapsed())
        self.journal.end_run(self.run_id)
        experiment_record.forget_run(self.rundir, self.run_id)
        return RunResult(summary=summary, out=self.rundir.path, model=best.model,
                         prepared=self.p, decisions=self.decisions)


def _variance(outcome: Outcome) -> float:
    """Dev error minus training error (seed 003's variance)."""
    return float(outcome.errors["dev"]) - float(outcome.errors["train"])


def _mismatch(outcome: Outcome) -> float:
    """Dev error minus train-dev error (seed 003's data mismatch)."""
    return float(outcome.errors["dev"]) - float(outcome.errors["train_dev"])
