"""When the recipe's direct moves are spent: random search around the best configuration.

Seed 000 ("Hyperparameter Tuning"): sample at random rather than on a grid, on the right
scale (log for the learning rate and L2's λ/m, powers of two for the mini-batch), and go from
coarse to fine. The recipe's one-knob moves were the first, coarsest look; this is
`fc.search` (`fullcycle.tuning`) run in memory with a space centred on the best
configuration so far: its coarse round samples around that centre, its fine round narrows
the ranges around the best coarse trials. Every trial is an ordinary experiment of the run:
journaled with its reason, kept only if dev improves and the satisficing constraints hold.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import optuna

from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.moves import Decision
from fullcycle.recipe.steps import ADAM_LR_RANGE
from fullcycle.recipe.trainer import Outcome, first_hidden
from fullcycle.tuning.objective import trial_config
from fullcycle.tuning.space import L2_PER_EXAMPLE, suggest_log, suggest_power_of_two
from fullcycle.tuning.study import search
from fullcycle.tuning.workers import TrialReport

if TYPE_CHECKING:
    from fullcycle.recipe.autopilot import Autopilot

TRIALS_PER_ROUND = 6
# Four rounds' worth, then stop: every extra comparison on the same dev set fits its noise a
# little more (seed 001: a dev set tuned too long needs refreshing), so the search ends early.
MAX_TRIALS = 4 * TRIALS_PER_ROUND
# ...and on a small dev set even fewer: about one trial per 20 dev examples, so that the
# winner's lead is not just the luck of a few examples (114 dev rows: 6 trials).
DEV_ROWS_PER_TRIAL = 20
# The coarse round searches the learning rate within a factor LR_SPAN of the best (log scale).
LR_SPAN = 8.0


def local_space(center: TrainConfig) -> Any:
    """A define-by-run space around `center`: rate within ×/÷ `LR_SPAN`, width ×/÷ 2, depth
    ±1, dropout 0–0.5, L2 (λ/m) on or off, batch ×/÷ 2 with the optimizer steps kept."""
    if center.images is not None:  # pictures: channels and blocks (recipe/image_moves)
        from fullcycle.recipe.image_moves import image_local_space

        return image_local_space(center)
    hidden = center.hidden or (1,)

    def space(trial: Any) -> dict[str, Any]:
        low, high = ADAM_LR_RANGE
        width = max(hidden)
        batch_low = max(32, (center.batch_size or 32) // 2)
        batch_high = max(batch_low, min(1024, (center.batch_size or 32) * 2))
        values: dict[str, Any] = {
            "lr": suggest_log(trial, "lr", max(low / 10, center.lr / LR_SPAN),
                              min(high, center.lr * LR_SPAN)),
            "hidden_units": trial.suggest_int("hidden_units", max(4, width // 2),
                                              min(1024, width * 2), log=True),
            "layers": trial.suggest_int("layers", max(1, len(hidden) - 1),
                                        min(4, len(hidden) + 1)),
            "dropout": round(trial.suggest_float("dropout", 0.0, 0.5), 3),
            "batch_size": suggest_power_of_two(trial, "batch_size", batch_low, batch_high),
            "seed": center.seed + trial.number + 1,
        }
        use_l2 = trial.suggest_categorical("use_l2", [False, True])
        values["l2_per_example"] = (suggest_log(trial, "l2_per_example", *L2_PER_EXAMPLE)
                                    if use_l2 else 0.0)
        if values["dropout"] <= 0.02:
            values["dropout"] = 0.0
        # keep the number of optimizer steps when the batch size changes
        values["epochs"] = max(5, round((center.epochs or 30) * values["batch_size"]
                                        / (center.batch_size or 32)))
        return values

    return space


class _Experiments:
    """The search's objective: each trial is one experiment of the autopilot's run."""

    def __init__(self, pilot: Autopilot, best: Outcome) -> None:
        self.pilot, self.best = pilot, best
        self.n_train = len(pilot.p.X["train"])
        self.first = first_hidden(pilot.p)

    def __call__(self, values: dict[str, Any], report: TrialReport) -> float:
        if self.best.config.images is not None:  # pictures (recipe/image_moves)
            from fullcycle.recipe.image_moves import image_trial_config

            config = image_trial_config(values, self.best.config, self.n_train)
        else:
            config = trial_config(values, self.best.config, n_train=self.n_train,
                                  first_hidden=self.first)
        tag = "coarse" if report.round == "coarse" else "fine"
        change = f"search trial {report.number + 1} ({tag}): {config.describe()}"
        reason = ("the recipe's moves are spent: random search on the right scales around the "
                  f"best configuration ({tag} round)")
        outcome = self.pilot.experiment(config, change, reason, self.best)
        if self.pilot.experiments[-1]["kept"]:
            self.best = outcome
        if not math.isfinite(outcome.dev_error):
            raise optuna.TrialPruned("diverged")  # a failed trial, not a value
        return outcome.dev_error


def refine_search(pilot: Autopilot, best: Outcome) -> Outcome:
    """Search around the best configuration within the trial cap and the time left."""
    limit = min(MAX_TRIALS, max(TRIALS_PER_ROUND, len(pilot.p.X["dev"]) // DEV_ROWS_PER_TRIAL))
    # Stop starting trials while one more typical trial still fits before the deadline.
    seconds = pilot.time_left() - 1.2 * _typical_seconds(pilot)
    if seconds <= 1.0:
        return best
    experiments = _Experiments(pilot, best)
    result = search(objective=experiments, space=local_space(best.config), trials=limit,
                    budget=seconds, pruner="none", seed=pilot.seed, record=False,
                    study_name="autopilot", clock=pilot.elapsed)  # journaled: a resume replays
    done = result.counts()
    if done.get("complete", 0) + done.get("pruned", 0) >= limit:
        pilot.decide(Decision(
            "stop", {"trials": limit, "seconds_left": round(pilot.time_left(), 1)},
            f"search finished after {limit} trials",
            f"more comparisons on {len(pilot.p.X['dev'])} dev rows would fit the dev set's "
            "noise; what is left of the budget goes to a longer final training"))
    return experiments.best


def _typical_seconds(pilot: Autopilot) -> float:
    recent = [e["seconds"] for e in pilot.experiments[-5:]]
    return sorted(recent)[len(recent) // 2] if recent else 1.0
