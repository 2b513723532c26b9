"""Learning curves: train and dev error against training-set size, and would more data help?

Seed 000 ("Learning Curves"): plot training and dev error as a function of training-set
size; both high → bias, low train and high dev → variance. The recipe's variance remedy
"get more data" (seeds 001, 002, 003) is only worth its cost if the dev error is still
falling, so the dev curve is fitted with the usual power law of learning curves

    err(m) = a · m^(−b) + c        (a ≥ 0, b ≥ 0; c is the error with unlimited data)

and the verdict reads two numbers at the largest size m: the gap between the dev and train
curves (variance, which more data can close) and how much the fitted curve still falls
at 2m. Both must exceed the tolerance for `more_data_helps` to be true.

The training step is injected: ``train_fn(X, y) -> (train_error, dev_error)`` trains a fresh
model on the subset and measures it (the autopilot passes a closure around a network), so
this module does not depend on the recipe. A ``train_fn`` that takes four arguments is
called as ``train_fn(X, y, X_dev, y_dev)``.
"""

from __future__ import annotations

import inspect
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
from scipy.optimize import OptimizeWarning, curve_fit

from fullcycle.diagnosis.diagnosis import DEFAULT_TOLERANCE
from fullcycle.errors import FullcycleError
from fullcycle.metrics import default_metric, metric_error

#: The fewest sizes a curve is measured at (issue 5): the power law has three parameters,
#: and a fit needs more points than parameters to say anything.
MIN_SIZES = 5
#: The smallest default subset is 1/16 of the training set: four doublings below it.
SMALLEST_FRACTION = 1 / 16
MIN_ROWS = 16
# Measured learning-curve exponents lie well below 1 for deep networks (Hestness et al.,
# "Deep Learning Scaling is Predictable, Empirically", 2017) and at 1 for parametric
# models' variance; 2 leaves room for noise without letting the fit fall off a cliff.
_MAX_EXPONENT = 2.0

TrainFn = Callable[..., tuple[float, float]]


@dataclass(frozen=True)
class PowerLawFit:
    """``err(m) = a · m^(−b) + c`` fitted to the dev errors; r2 says how well it fits."""

    a: float
    b: float
    c: float
    r2: float

    def predict(self, m: float | np.ndarray) -> float | np.ndarray:
        """The fitted dev error at training-set size ``m``."""
        return self.a * np.power(m, -self.b) + self.c


@dataclass(frozen=True)
class LearningCurve:
    """Errors per training-set size, the power-law fit and the verdict on more data."""

    sizes: tuple[int, ...]
    train_errors: tuple[float, ...]
    dev_errors: tuple[float, ...]
    fit: PowerLawFit | None
    verdict: str
    more_data_helps: bool | None  # None: one size trained, no curve to tell from
    gap: float
    predicted_gain_2x: float | None
    human_level_error: float
    tolerance: float
    seconds: tuple[float, ...]
    skipped_sizes: tuple[int, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: ``{sizes, train_errors, dev_errors, fit, verdict, more_data_helps, ...}``."""
        data = asdict(self)
        return {key: (list(v) if isinstance(v, tuple) else v) for key, v in data.items()}


def default_sizes(m: int, n: int = MIN_SIZES) -> list[int]:
    """``n`` sizes spaced evenly on a log scale from ``m / 16`` up to ``m`` (all rows)."""
    smallest = min(m, max(MIN_ROWS, int(round(m * SMALLEST_FRACTION))))
    sizes = sorted({int(round(s)) for s in np.geomspace(smallest, m, n)})
    if len(sizes) < MIN_SIZES:
        raise FullcycleError(
            f"a learning curve needs at least {MIN_SIZES} different training-set sizes but "
            f"{m} rows allow {len(sizes)}; use more training rows (at least {MIN_ROWS + 8})"
        )
    return sizes


def _resolve_sizes(sizes: Sequence[float] | None, m: int) -> list[int]:
    if sizes is None:
        return default_sizes(m)
    resolved = set()
    for s in sizes:
        size = int(round(s * m)) if isinstance(s, float) and 0 < s <= 1 else int(s)
        if not 1 <= size <= m:
            raise FullcycleError(f"learning-curve size {s!r} is outside 1..{m} (the training "
                                 "rows); pass row counts or fractions in (0, 1]")
        resolved.add(size)
    if len(resolved) < MIN_SIZES:
        raise FullcycleError(f"a learning curve needs at least {MIN_SIZES} different sizes, "
                             f"got {sorted(resolved)}; pass more sizes or leave the default")
    return sorted(resolved)


def nested_order(y: np.ndarray, seed: int = 0) -> np.ndarray:
    """A row order whose every prefix is a random sample, stratified for class labels.

    Each subset is a prefix of the next (the curves measure data, not a reshuffle). For
    class labels, each row's key is its shuffled rank within its class divided by the class
    size, so every prefix holds the classes in their overall proportions.
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    flat = y.reshape(n, -1)
    is_labels = (flat.shape[1] == 1 and np.isfinite(flat).all()
                 and np.array_equal(flat, np.round(flat)) and len(np.unique(flat)) <= 100)
    if not is_labels:
        return rng.permutation(n)
    keys = np.empty(n)
    for label in np.unique(flat):
        rows = np.flatnonzero(flat[:, 0] == label)
        ranks = rng.permutation(len(rows))
        keys[rows] = (ranks + rng.uniform(size=len(rows))) / len(rows)
    return np.argsort(keys, kind="stable")


def fit_power_law(sizes: Sequence[int], errors: Sequence[float]) -> PowerLawFit | None:
    """Least-squares fit of ``a · m^(−b) + c`` (scipy's curve_fit); None if it fails.

    Sizes are scaled by the largest before fitting (so ``a`` is well-conditioned), then
    ``a`` is reported in the original units.
    """
    m = np.asarray(sizes, dtype=np.float64)
    err = np.asarray(errors, dtype=np.float64)
    if len(m) < 3 or not np.isfinite(err).all():
        return None
    scale = m.max()
    x = m / scale

    def law(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
        return a * np.power(x, -b) + c

    c0 = 0.5 * err.min()
    b0 = 0.5
    a0 = max(err[0] - c0, 1e-6) * x[0] ** b0
    upper_c = max(err.max(), 1e-12)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            (a, b, c), _ = curve_fit(law, x, err, p0=(a0, b0, min(c0, upper_c)),
                                     bounds=([0.0, 0.0, 0.0], [np.inf, _MAX_EXPONENT, upper_c]),
                                     maxfev=10_000)
    except (RuntimeError, ValueError):
        return None
    if b < 1e-6:  # a flat curve: a·m^0 + c is one constant, so put all of it in c
        a, b, c = 0.0, 0.0, a + c
    residual = float(np.sum((err - law(x, a, b, c)) ** 2))
    total = float(np.sum((err - err.mean()) ** 2))
    r2 = 1.0 - residual / total if total > 0 else 1.0
    return PowerLawFit(a=float(a * scale ** b), b=float(b), c=float(c), r2=r2)


def _call(train_fn: TrainFn, X: np.ndarray, y: np.ndarray, X_dev: Any, y_dev: Any,
          with_dev: bool) -> tuple[float, float]:
    result = train_fn(X, y, X_dev, y_dev) if with_dev else train_fn(X, y)
    try:
        train_error, dev_error = (float(v) for v in result)
    except (TypeError, ValueError):
        raise FullcycleError(f"train_fn returned {result!r}; it must return "
                             "(train_error, dev_error) as two numbers") from None
    if not (math.isfinite(train_error) and math.isfinite(dev_error)):
        raise FullcycleError(f"train_fn returned non-finite errors {result!r} at {len(X)} "
                             "rows; check the training at that size (learning rate, NaN)")
    return train_error, dev_error


def _takes_dev(train_fn: TrainFn) -> bool:
    try:
        params = inspect.signature(train_fn).parameters.values()
    except (TypeError, ValueError):
        return False
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return True
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 4


def _verdict(sizes: list[int], train: list[float], dev: list[float], fit: PowerLawFit | None,
             tol: float, human: float) -> tuple[str, bool | None, float, float | None]:
    m = sizes[-1]
    gap = dev[-1] - train[-1]
    if fit is not None:
        gain = float(fit.predict(m) - fit.predict(2 * m))
        # A floor at ~0 is the fit's bound, not a measurement: say so rather than print
        # "toward 1.98e-16".
        floor = (f"toward {fit.c:.3g} with unlimited data" if fit.c > 0.01 * min(dev)
                 else "no floor visible over these sizes")
        falls = f"the fitted dev curve falls {gain:.3g} from {m} to {2 * m} rows ({floor})"
    elif len(sizes) >= 2:  # no fit: the last observed slope per doubling of the data
        gain = (dev[-2] - dev[-1]) / max(math.log2(sizes[-1] / sizes[-2]), 1e-12)
        falls = f"the dev error fell {gain:.3g} per doubling over the last two sizes (no fit)"
    else:  # one size: no curve, so no claim either way about more data
        return (f"one training-set size ({m} rows) is too few to tell whether more data "
                f"would help: a curve needs two or more (dev error {gap:.3g} above "
                "training error at that size)", None, gap, None)
    helps = gain is not None and gap > tol and gain > tol
    if helps:
        verdict = (f"more data should help: dev error is {gap:.3g} above training error "
                   f"(variance) and {falls}")
    elif gap > tol:
        verdict = (f"more data of this kind will help little: {falls}, though dev error is "
                   f"{gap:.3g} above training error; reduce variance with regularization "
                   "(dropout, L2) or another architecture")
    elif train[-1] - human <= tol:
        verdict = (f"more data will not help: the train and dev curves have met (gap "
                   f"{gap:.3g}) within {tol:g} of human-level error, a good fit")
    else:
        verdict = (f"more data will not help: the train and dev curves have met (gap "
                   f"{gap:.3g}) {train[-1] - human:.3g} above human-level error; that is "
                   "bias, so try a bigger network or train longer")
    return verdict, helps, gap, gain


def learning_curve(
    train_fn: TrainFn,
    X_train: Any,
    y_train: Any,
    X_dev: Any = None,
    y_dev: Any = None,
    sizes: Sequence[float] | None = None,
    *,
    human_level_error: float = 0.0,
    tolerance: float = DEFAULT_TOLERANCE,
    seed: int = 0,
    budget: float | None = None,
) -> LearningCurve:
    """Train on nested subsets of growing size and say whether more data would help.

    Args:
        train_fn: trains a fresh model on ``(X, y)`` and returns ``(train_error,
            dev_error)``; given four parameters it is called ``(X, y, X_dev, y_dev)``.
        X_train, y_train: the training split; subsets are prefixes of one seeded,
            class-stratified order, so each is contained in the next.
        X_dev, y_dev: the dev split, handed to a four-argument ``train_fn``.
        sizes: row counts, or fractions in (0, 1] of the training rows; at least five.
            Default: five sizes on a log scale from 1/16 of the rows to all of them.
        human_level_error: the Bayes-error proxy; curves that meet within the tolerance of
            it are a good fit (seed 000: "if both are low → good fit"), not bias.
        tolerance: gaps and gains at or below this are noise (as in `diagnose`).
        seed: seeds the subset order.
        budget: seconds; stop before a size whose estimated time (linear in rows, from the
            sizes measured so far) would overrun; skipped sizes are listed in the result.
    """
    for name, value in (("human_level_error", human_level_error), ("tolerance", tolerance)):
        if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
            raise FullcycleError(f"{name} must be a finite number >= 0, got {value!r}")
    X = np.asarray(X_train)
    y = np.asarray(y_train)
    if len(X) != len(y):
        raise FullcycleError(f"X_train has {len(X)} rows but y_train has {len(y)}; pass "
                             "features and targets of the same rows")
    grid = _resolve_sizes(sizes, len(X))
    order = nested_order(y, seed)
    with_dev = _takes_dev(train_fn)

    done: list[int] = []
    train_errors: list[float] = []
    dev_errors: list[float] = []
    seconds: list[float] = []
    start = time.perf_counter()
    for size in grid:
        if budget is not None and done:
            per_row = sum(seconds) / sum(done)
            if time.perf_counter() - start + per_row * size > budget:
                break
        rows = np.sort(order[:size])
        t0 = time.perf_counter()
        tr, dv = _call(train_fn, X[rows], y[rows], X_dev, y_dev, with_dev)
        seconds.append(time.perf_counter() - t0)
        done.append(size)
        train_errors.append(tr)
        dev_errors.append(dv)

    # more points than the law's three parameters, or the "fit" is an interpolation
    fit = fit_power_law(done, dev_errors) if len(done) > 3 else None
    verdict, helps, gap, gain = _verdict(done, train_errors, dev_errors, fit, tolerance,
                                         human_level_error)
    if len(done) < len(grid):
        verdict += f" (time budget: {len(grid) - len(done)} larger sizes skipped)"
    return LearningCurve(
        sizes=tuple(done), train_errors=tuple(train_errors), dev_errors=tuple(dev_errors),
        fit=fit, verdict=verdict, more_data_helps=helps, gap=gap, predicted_gain_2x=gain,
        human_level_error=float(human_level_error), tolerance=float(tolerance),
        seconds=tuple(seconds), skipped_sizes=tuple(grid[len(done):]),
    )


def estimator_train_fn(make_estimator: Callable[[], Any], task: str, X_dev: Any, y_dev: Any,
                       metric: str | None = None) -> TrainFn:
    """A ``train_fn`` that fits a fresh scikit-learn estimator per subset.

    ``make_estimator()`` returns an unfitted estimator; errors use `fullcycle.metrics`
    on ``predict_proba`` (classification) or ``predict`` (regression), so the curve reads
    like the baselines. Multilabel needs a custom ``train_fn``.
    """
    if task not in ("regression", "binary", "multiclass"):
        raise FullcycleError(f"estimator_train_fn handles regression, binary and multiclass, "
                             f"not {task!r}; pass your own train_fn(X, y)")
    X_dv, y_dv = np.asarray(X_dev), np.asarray(y_dev)
    n_classes = int(np.max(y_dv)) + 1 if task == "multiclass" else 2

    def outputs(model: Any, Z: np.ndarray) -> np.ndarray:
        if task == "regression":
            return model.predict(Z)
        proba = np.zeros((len(Z), max(n_classes, int(model.classes_.max()) + 1)))
        proba[:, model.classes_.astype(int)] = model.predict_proba(Z)
        return proba[:, 1] if task == "binary" else proba

    def train_fn(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        name = metric or default_metric(task, y)
        target = y if task == "regression" else y.astype(int)
        model = make_estimator().fit(X, target)
        return (metric_error(name, task, outputs(model, X), y, from_logits=False),
                metric_error(name, task, outputs(model, X_dv), y_dv, from_logits=False))

    return train_fn


def network_train_fn(make_model: Callable[[], Any], task: str, X_dev: Any, y_dev: Any,
                     metric: str | None = None, **fit_options: Any) -> TrainFn:
    """A ``train_fn`` that trains a fresh network per subset with `fullcycle.engine.fit`.

    ``make_model()`` returns a new `nn.Module` (e.g. ``lambda: TabularMLP(n_in, n_out)``);
    ``fit_options`` go to ``fit`` (epochs, lr, batch_size, l2, early_stopping, ...). Both
    errors are measured in evaluation mode after training (dropout off, seed 002), so the
    training error is not inflated by regularization noise.
    """
    from fullcycle.engine.evaluate import evaluate
    from fullcycle.engine.fit import fit
    from fullcycle.engine.losses import loss_for_task

    options = {"progress": False, **fit_options}
    dev = (X_dev, y_dev)

    def train_fn(X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        name = metric or default_metric(task, y)
        result = fit(make_model(), (X, y), dev, loss=loss_for_task(task), task=task,
                     metric=name, **options)
        train_error = evaluate(result.model, (X, y), task=task, metric=name)["error"]
        dev_error = evaluate(result.model, dev, task=task, metric=name)["error"]
        return train_error, dev_error

    return train_fn
