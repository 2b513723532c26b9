"""Search spaces as ordinary Python (define-by-run), each value drawn on its right scale.

A space is a function `space(trial) -> config`: it calls `trial.suggest_*` and returns the
hyperparameters a trial trains with, exactly as in Optuna. The scale is stated where the
value is drawn, because the seeds' tuning section is mostly about scales (seed 000,
"Using an Appropriate Scale"):

* rates and penalties that span orders of magnitude (learning rate, L2 λ, decay) are
  sampled **log-uniformly**, so each decade gets about as many samples;
* terms close to 1 (momentum's β, Adam's β1) are sampled as **1 − β on a log scale**,
  because β = 0.9 averages over ~10 steps and β = 0.999 over ~1000 (τ ≈ 1/(1 − β)): equal
  steps of β near 1 change the average far more than equal steps near 0.9;
* the mini-batch size is a **power of two** (seed 004, mini-batch gradient descent).

`default_space` lists the hyperparameters in the seeds' order of importance: first those
seed 000 names as what "performance depends strongly on" (learning rate, momentum, hidden
units, mini-batch size), then depth and learning-rate decay (seed 001 reaches for them when
the training set is still not fit), then the dev-set regularizers (dropout, L2; seed 001).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

from fullcycle.errors import FullcycleError


class Trial(Protocol):
    """What a space needs from a trial: Optuna's `suggest_*` methods."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


Space = Callable[[Any], dict[str, Any]]

#: Prefixes of the parameters Optuna stores for the derived scales, so the report can name
#: the hyperparameter and the scale it was searched on.
ONE_MINUS = "one_minus_"
LOG2 = "log2_"

#: L2 is searched as λ/m, the weight decay each step applies (the cost adds
#: λ/(2m)·Σ‖W‖², seed 002), so one range fits any training-set size: λ = value × m.
#: The autopilot's L2 ladder (`fullcycle.recipe.moves`) climbs the same scale.
L2_PER_EXAMPLE = (1e-7, 1e-2)


def suggest_log(trial: Trial, name: str, low: float, high: float) -> float:
    """Draw `name` log-uniformly in [low, high]: as many samples per decade (seed 000)."""
    return trial.suggest_float(name, low, high, log=True)


def suggest_one_minus(trial: Trial, name: str, low: float, high: float) -> float:
    """Draw β in [low, high] (both < 1) with 1 − β log-uniform (seed 000, appropriate scale).

    Optuna stores the drawn `1 − β` as `one_minus_<name>`; the config gets β itself.
    With low 0.9 and high 0.999, the decades 0.9–0.99 and 0.99–0.999 get equal shares.
    """
    if not 0.0 <= low < high < 1.0:
        raise FullcycleError(
            f"{name} range [{low}, {high}] is not inside [0, 1); a momentum term is searched "
            "as 1 - beta, so give 0 <= low < high < 1, e.g. 0.9 and 0.999"
        )
    one_minus = trial.suggest_float(ONE_MINUS + name, 1.0 - high, 1.0 - low, log=True)
    return 1.0 - one_minus


def suggest_power_of_two(trial: Trial, name: str, low: int, high: int) -> int:
    """Draw a power of two between `low` and `high` (both powers of two), uniform in log2.

    Optuna stores the exponent as `log2_<name>`; the config gets the size itself.
    """
    lo, hi = math.log2(low), math.log2(high)
    if not (lo.is_integer() and hi.is_integer() and lo <= hi):
        raise FullcycleError(
            f"{name} range [{low}, {high}] must be two powers of two, low <= high, "
            "e.g. 64 and 1024"
        )
    return 2 ** trial.suggest_int(LOG2 + name, int(lo), int(hi))


def default_space(trial: Trial) -> dict[str, Any]:
    """The recipe's space for the built-in tabular MLP, most important hyperparameter first.

    Ranges: learning rate 1e-5–1e-1 (Adam's 1e-3 default two decades from each end);
    β1 0.9–0.999 (seed 003: "β is usually 0.9", Adam's β2 default is 0.999); hidden units
    16–512 and 1–4 hidden layers (seed 001: tinker with width and depth); mini-batch 64–1024
    as a power of two; dropout 0–0.5 (seed 001: dropout at p = 0.25, "tuning dropout up to
    p = 0.50"); L2 as λ/m in `L2_PER_EXAMPLE` and decay 1e-3–1 in `lr / (1 + decay · epoch)`
    (seed 003's first decay form), both log-uniform.
    """
    return {
        "lr": suggest_log(trial, "lr", 1e-5, 1e-1),
        "beta1": suggest_one_minus(trial, "beta1", 0.9, 0.999),
        "hidden_units": trial.suggest_int("hidden_units", 16, 512, log=True),
        "batch_size": suggest_power_of_two(trial, "batch_size", 64, 1024),
        "layers": trial.suggest_int("layers", 1, 4),
        "lr_decay": suggest_log(trial, "lr_decay", 1e-3, 1.0),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "l2_per_example": suggest_log(trial, "l2_per_example", *L2_PER_EXAMPLE),
    }


def describe_param(name: str) -> str:
    """Name a stored Optuna parameter the way a person reads it (`1 − beta1`, `log2 batch`)."""
    if name.startswith(ONE_MINUS):
        return f"1 - {name[len(ONE_MINUS):]}"
    if name.startswith(LOG2):
        return f"log2 {name[len(LOG2):]}"
    return name


def config_key(name: str) -> str:
    """The config key a stored Optuna parameter draws (`one_minus_beta1` -> `beta1`)."""
    for prefix in (ONE_MINUS, LOG2):
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name
