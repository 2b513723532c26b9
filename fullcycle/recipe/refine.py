"""When the recipe's direct moves are spent: random search around the best configuration.

Seed 000 ("Hyperparameter Tuning"): sample at random rather than on a grid, on the right
scale (log for the learning rate and L2 λ, powers of two for the mini-batch), and go from
coarse to fine — here the recipe's one-knob moves were the coarse round, and each round of
this search re-centres its ranges on the best configuration so far and narrows them.
Every trial is an ordinary experiment: journaled with its reason, kept only if dev improves.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import optuna

from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.moves import Decision
from fullcycle.recipe.steps import ADAM_LR_RANGE
from fullcycle.recipe.trainer import Outcome
from fullcycle.tuning.space import suggest_log, suggest_power_of_two

if TYPE_CHECKING:
    from fullcycle.recipe.autopilot import Autopilot

TRIALS_PER_ROUND = 6
# Four rounds, then stop: every extra comparison on the same dev set fits its noise a little
# more (seed 001: a dev set tuned too long needs refreshing), so the search ends early.
MAX_TRIALS = 4 * TRIALS_PER_ROUND
# ...and on a small dev set even fewer: about one trial per 20 dev examples, so that the
# winner's lead is not just the luck of a few examples (114 dev rows: 6 trials).
DEV_ROWS_PER_TRIAL = 20
# Round r searches the learning rate within a factor SPAN / 2^r of the best (log scale).
LR_SPAN = 8.0
L2_PER_EXAMPLE = (1e-7, 1e-2)


def _space(trial: optuna.Trial, center: TrainConfig, round_index: int, n_train: int
           ) -> TrainConfig:
    """One sample around `center`: narrower in later rounds (coarse to fine)."""
    span = max(1.5, LR_SPAN / 2 ** round_index)
    low, high = ADAM_LR_RANGE
    lr = suggest_log(trial, "lr", max(low / 10, center.lr / span), min(high, center.lr * span))
    if center.images is not None:  # pictures: channels, blocks, dropout (recipe/images)
        from fullcycle.recipe.image_moves import image_search_space

        return image_search_space(trial, center.with_changes(lr=lr), n_train)
    width = max(center.hidden)
    units = trial.suggest_int("hidden_units", max(4, width // 2), min(1024, width * 2), log=True)
    layers = trial.suggest_int("layers", max(1, len(center.hidden) - 1),
                               min(4, len(center.hidden) + 1))
    use_l2 = trial.suggest_categorical("use_l2", [False, True])
    l2 = suggest_log(trial, "l2_per_example", *L2_PER_EXAMPLE) * n_train if use_l2 else 0.0
    dropout = trial.suggest_float("dropout", 0.0, 0.5)
    low = max(32, center.batch_size // 2)
    high = max(low, min(1024, center.batch_size * 2))
    batch = suggest_power_of_two(trial, "batch_size", low, high)
    return center.with_changes(
        lr=lr, hidden=tuple([units] * layers), l2=l2, batch_size=batch,
        dropout=tuple([0.0] * (layers - 1) + [round(dropout, 3)]) if dropout > 0.02 else (),
        seed=center.seed + trial.number + 1, epochs=_epochs_for(center, batch),
    )


def _epochs_for(center: TrainConfig, batch_size: int) -> int:
    """Keep the number of optimizer steps when the batch size changes."""
    return max(5, round(center.epochs * batch_size / center.batch_size))


def refine_search(pilot: Autopilot, best: Outcome) -> Outcome:
    """Random search rounds around the best configuration until the budget is spent."""
    n_train = len(pilot.p.X["train"])
    optuna.logging.set_verbosity(optuna.logging.WARNING)  # our own lines say what happens
    study = optuna.create_study(direction="minimize",
                                sampler=optuna.samplers.RandomSampler(seed=pilot.seed))
    trials = 0
    limit = min(MAX_TRIALS, max(TRIALS_PER_ROUND, len(pilot.p.X["dev"]) // DEV_ROWS_PER_TRIAL))
    while trials < limit and pilot.time_left() > max(1.0, 1.2 * _typical_seconds(pilot)):
        round_index = trials // TRIALS_PER_ROUND
        trial = study.ask()
        config = _space(trial, best.config, round_index, n_train)
        change = f"search round {round_index + 1}: {config.describe()}"
        reason = ("the recipe's moves are spent: random search on the right scales around the "
                  f"best configuration (round {round_index + 1}, narrower each round)")
        outcome = pilot.experiment(config, change, reason, best)
        if math.isfinite(outcome.dev_error):
            study.tell(trial, outcome.dev_error)
        else:  # diverged: a failed trial, not a value
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        if pilot.experiments[-1]["kept"]:
            best = outcome
        trials += 1
    if trials >= limit:
        pilot.decide(Decision(
            "stop", {"trials": trials, "seconds_left": round(pilot.time_left(), 1)},
            f"search finished after {trials} trials",
            f"more comparisons on {len(pilot.p.X['dev'])} dev rows would fit the dev set's "
            "noise; the rest of the budget is left unused"))
    return best


def _typical_seconds(pilot: Autopilot) -> float:
    recent = [e["seconds"] for e in pilot.experiments[-5:]]
    return sorted(recent)[len(recent) // 2] if recent else 1.0
