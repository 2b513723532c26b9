"""Where the error comes from: avoidable bias, variance, data mismatch, dev-set overfitting.

The diagnosis is a pure function of up to five error rates (seed 003, "Optimizing Bias vs
Variance" and "Bias and Variance with Mismatched Data Distribution")::

    human-level ──avoidable bias──▶ train ──variance──▶ train-dev ──data mismatch──▶ dev
                                                                    ──dev overfit──▶ test

- avoidable bias = train − human-level (human-level error is the proxy for Bayes error);
- variance       = train-dev − train, or dev − train when there is no train-dev set;
- data mismatch  = dev − train-dev (only with a train-dev set);
- dev overfit    = test − dev (seed 001, step 5: a worse test error means the
  hyperparameters were fitted to the dev set's noise).

The primary problem is the largest gap above the tolerance: seed 003's worked example fixes
bias when avoidable bias (6%) exceeds variance (3%) and variance when it is the other way
round (1% vs 3%). Ties go to the recipe's order (bias first: "always fix high bias problem
first"), then variance, data mismatch, dev overfit. Errors are anything where lower is
better and differences are meaningful: 1 − accuracy, 1 − F1, RMSE.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from fullcycle.errors import FullcycleError

#: Gaps at or below this are noise. Seed 002's bias/variance table calls train 0.5% /
#: dev 1% (Bayes ≈ 0) "low bias and low variance", so half a percentage point is fine.
DEFAULT_TOLERANCE = 0.005

#: Errors that are rates in [0, 1], whose noise follows the binomial standard error.
RATE_METRICS = ("accuracy", "f1", "f1_macro", "auc")

PROBLEMS = ("avoidable_bias", "variance", "data_mismatch", "dev_overfit")
"""The gaps in the recipe's order of attack (bias first, seed 003)."""

# Float subtraction leaves crumbs (0.16 - 0.15 = 0.010000000000000009); compare with this.
_EPS = 1e-12

#: The recipe's next actions per problem, in the order the seeds try them.
NEXT_ACTIONS: dict[str, tuple[str, ...]] = {
    # Seed 002 "basic recipe" and seed 003: bigger network, train longer / better
    # optimizer, then another architecture or a hyperparameter search; seed 001 step 3
    # adds learning-rate decay before the search.
    "avoidable_bias": (
        "train a bigger network (more hidden units, then more layers)",
        "train longer",
        "use a better optimizer (Adam, or momentum / RMSprop) with a tuned learning rate "
        "and learning-rate decay",
        "try a different architecture or a hyperparameter search",
    ),
    # Seed 003: more data, regularization (L2, dropout, augmentation), architecture;
    # seed 001 step 4 orders the regularizers: dropout 0.25 before the last linear layer
    # up to 0.5, then earlier layers; L2; batch norm; more data and augmentation.
    "variance": (
        "get more training data",
        "add dropout (p 0.25 before the last linear layer, up to 0.5, then earlier layers)",
        "add L2 regularization (weight decay, lambda on a log scale)",
        "add batch normalization, data augmentation and early stopping",
        "try a different architecture or a hyperparameter search",
    ),
    # Seed 003 "Fixing Data Mismatch".
    "data_mismatch": (
        "carry out manual error analysis on train-dev vs dev errors to learn how the "
        "training data differs from the dev/test data",
        "make the training data more similar: collect more data like the dev/test sets",
        "synthesize training data like the dev/test sets (artificial data synthesis), "
        "taking care the network does not overfit a small synthetic subset",
    ),
    # Seed 001 step 5 and seed 003 "Splitting the Data": a larger dev set.
    "dev_overfit": (
        "get a bigger dev set (more data or augmentation) and repeat the dev-set tuning",
        "tune less against the dev set, and never against the test set",
    ),
}


@dataclass(frozen=True)
class Diagnosis:
    """The gaps between successive errors, the primary problem and what to try next.

    A gap is ``None`` when the error it needs was not given. `problems` lists every gap
    above the tolerance, largest first; `primary_problem` is its first entry, or ``"none"``.
    """

    train_error: float
    dev_error: float
    human_level_error: float
    train_dev_error: float | None
    test_error: float | None
    tolerance: float
    avoidable_bias: float
    variance: float
    data_mismatch: float | None
    dev_overfit: float | None
    problems: tuple[str, ...]
    primary_problem: str
    next_actions: tuple[str, ...]
    notes: tuple[str, ...]

    def gaps(self) -> dict[str, float | None]:
        """The four gaps by name, in the recipe's order."""
        return {name: getattr(self, name) for name in PROBLEMS}

    def to_dict(self) -> dict[str, object]:
        """A JSON-able dict: the contract's keys first, then inputs, problems and notes."""
        data = asdict(self)
        head = ("avoidable_bias", "variance", "data_mismatch", "dev_overfit",
                "primary_problem", "next_actions")
        out: dict[str, object] = {key: data.pop(key) for key in head}
        out.update(data)
        for key, value in out.items():
            if isinstance(value, tuple):
                out[key] = list(value)
        return out


def _check_error(name: str, value: float | None, *, required: bool) -> float | None:
    if value is None:
        if required:
            raise FullcycleError(f"{name} is missing; pass the measured error rate")
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FullcycleError(
            f"{name} must be a number, got {value!r}; pass an error like 0.11"
        ) from None
    if not math.isfinite(number) or number < 0:
        raise FullcycleError(
            f"{name} must be a finite error >= 0, got {value!r}; pass an error like 0.11"
        )
    return number


def noise_tolerance(metric: str, error: float, n_dev: int,
                    floor: float = DEFAULT_TOLERANCE) -> float:
    """How big a gap must be, in `metric`'s own units, before it is more than noise.

    One standard error of the dev error: for a rate (1 − accuracy, 1 − F1) measured on
    `n_dev` examples, the binomial ``sqrt(e (1 − e) / n)``, never below `floor` (half a
    point, seed 002's "low bias, low variance" example); for an error in the target's units
    (RMSE, MAE, log loss) a relative one, ``e / sqrt(2 n)`` (the standard error of a sample
    standard deviation), never below 1% of the error. Targets in the tens then get
    tolerances in the tenths, not 0.005.
    """
    n = max(1, int(n_dev))
    e = max(0.0, float(error)) if math.isfinite(error) else 0.0
    if metric in RATE_METRICS:
        return max(floor, math.sqrt(min(e, 1.0) * (1.0 - min(e, 1.0)) / n))
    return max(0.01 * e, e / math.sqrt(2 * n), 1e-12)


def _gap(high: float | None, low: float | None) -> float | None:
    if high is None or low is None:
        return None
    return round(high - low, 12)


def diagnose(
    train_error: float,
    dev_error: float,
    human_level_error: float = 0.0,
    train_dev_error: float | None = None,
    test_error: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    *,
    more_data_helps: bool | None = None,
    proxy: str | None = None,
) -> Diagnosis:
    """Split the error into avoidable bias, variance, data mismatch and dev overfitting.

    Args:
        train_error: error on the training set (1 − accuracy, 1 − F1, RMSE, ...).
        dev_error: error on the dev set, the target the project optimizes.
        human_level_error: the Bayes-error proxy (seed 003); 0 when unknown, as in seed
            002's table, which assumes "the Bayes error is quite small".
        train_dev_error: error on held-out data from the training distribution; needed to
            tell variance from data mismatch when dev comes from another distribution.
        test_error: error on the test set, measured once at the end.
        tolerance: gaps at or below this are treated as noise (same units as the errors).
        more_data_helps: a learning curve's verdict, when one was measured: for variance,
            "get more training data" stays first if the dev curve still falls and moves
            last if it has flattened (seed 001 puts more data after regularization when
            it is costly; the curve says whether it pays).
        proxy: where `human_level_error` comes from when it is not a human-level error,
            e.g. "the best baseline's dev error (gradient_boosting)": an error known to be
            achievable bounds the Bayes error from above, so the avoidable bias is reported
            as a bound ("at least").

    Returns:
        A `Diagnosis`. Raises `FullcycleError` for a negative, infinite or missing error.
    """
    train = _check_error("train error", train_error, required=True)
    dev = _check_error("dev error", dev_error, required=True)
    human = _check_error("human-level error", human_level_error, required=True)
    train_dev = _check_error("train-dev error", train_dev_error, required=False)
    test = _check_error("test error", test_error, required=False)
    tol = _check_error("tolerance", tolerance, required=True)
    assert train is not None and dev is not None and human is not None and tol is not None

    avoidable_bias = _gap(train, human)
    variance = _gap(train_dev, train) if train_dev is not None else _gap(dev, train)
    gaps: dict[str, float | None] = {
        "avoidable_bias": avoidable_bias,
        "variance": variance,
        "data_mismatch": _gap(dev, train_dev),
        "dev_overfit": _gap(test, dev),
    }
    # Largest gap first; the stable sort keeps the recipe's order (bias first) on ties.
    above = [name for name in PROBLEMS if (g := gaps[name]) is not None and g > tol + _EPS]
    problems = tuple(sorted(above, key=lambda name: -round(gaps[name] or 0.0, 9)))
    primary = problems[0] if problems else "none"

    notes = _notes(train, dev, human, train_dev, test, tol, gaps, primary)
    if proxy is not None:
        notes.insert(0, f"no human-level error given: the Bayes-error proxy is {proxy} "
                        f"({human:g}), an upper bound, so avoidable bias is at least "
                        f"{avoidable_bias:g}")
    if primary == "none":
        actions: tuple[str, ...] = (
            "do error analysis on the remaining dev errors to find what is left to fix",
        )
        if test is None:
            actions = ("evaluate on the test set once to confirm the dev error", *actions)
    else:
        actions = NEXT_ACTIONS[primary]
    if primary == "variance" and more_data_helps is not None:
        more_data, *others = actions
        if more_data_helps:
            actions = (f"{more_data} (the learning curve's dev error still falls)", *others)
        else:
            actions = (*others, f"{more_data} (last: the learning curve has flattened)")

    assert avoidable_bias is not None and variance is not None
    return Diagnosis(
        train_error=train, dev_error=dev, human_level_error=human,
        train_dev_error=train_dev, test_error=test, tolerance=tol,
        avoidable_bias=avoidable_bias, variance=variance,
        data_mismatch=gaps["data_mismatch"], dev_overfit=gaps["dev_overfit"],
        problems=problems, primary_problem=primary, next_actions=actions,
        notes=tuple(notes),
    )


def _notes(
    train: float,
    dev: float,
    human: float,
    train_dev: float | None,
    test: float | None,
    tol: float,
    gaps: dict[str, float | None],
    primary: str,
) -> list[str]:
    """Plain-language remarks on what the numbers mean beyond the primary problem."""
    notes: list[str] = []
    if gaps["avoidable_bias"] is not None and gaps["avoidable_bias"] < -tol - _EPS:
        notes.append(
            f"training error ({train:g}) is below human-level error ({human:g}): the "
            "network is overfitting the training set (or human-level error overestimates "
            "Bayes error); judge it by variance, not bias"
        )
    if train_dev is None:
        notes.append(
            "no train-dev error: variance is dev − train, which also holds any data "
            "mismatch when dev data comes from another distribution (pass a train-dev "
            "error to separate them)"
        )
    elif gaps["data_mismatch"] is not None and gaps["data_mismatch"] < -tol - _EPS:
        notes.append(
            f"dev error ({dev:g}) is below train-dev error ({train_dev:g}): the dev data "
            "is easier than the training data"
        )
    if gaps["variance"] is not None and gaps["variance"] < -tol - _EPS:
        held_out = "train-dev" if train_dev is not None else "dev"
        notes.append(
            f"{held_out} error is below training error: check the {held_out} set is large "
            "enough and that regularization (dropout) is off when measuring training error"
        )
    if gaps["dev_overfit"] is not None and gaps["dev_overfit"] < -tol - _EPS:
        notes.append("test error is below dev error: no sign of overfitting the dev set")
    if len([p for p in PROBLEMS if (g := gaps[p]) is not None and g > tol + _EPS]) > 1:
        others = [p for p in PROBLEMS if p != primary and (gaps[p] or 0.0) > tol + _EPS]
        notes.append(
            f"also above tolerance: {', '.join(o.replace('_', ' ') for o in others)}; fix "
            f"{primary.replace('_', ' ')} first (the largest gap), one change at a time"
        )
    if primary == "none":
        notes.append(f"every gap is within the tolerance of {tol:g}")
    return notes
