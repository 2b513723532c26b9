"""scikit-learn estimators that run the recipe: `FullcycleClassifier`, `FullcycleRegressor`.

They follow scikit-learn's estimator contract, so they drop into `Pipeline`,
`cross_val_score` and `GridSearchCV`: ``__init__`` only stores parameters, ``fit`` learns and
ends every learned attribute in ``_``, inputs are validated at the door by scikit-learn's own
`validate_data` (so messages and exception types are the ones scikit-learn users know:
``ValueError`` for bad data, `NotFittedError` before ``fit``).

``fit(X, y)`` runs the recipe on the table ``X`` (numeric columns; missing values allowed,
they are imputed with the training median and flagged, as in `fullcycle run`) with its own
internal split into train / dev / test by the seeds' rule:

- by default the whole autopilot, `fullcycle.recipe.autopilot.run`, within ``budget``
  (baselines, sanity checks, LR finder, the bias and variance moves, test once);
- with ``epochs=N``, only the recipe's first network (the seeds' initial architecture, the
  task's cost, Adam, early stopping on the dev split) trained for at most N epochs — the quick
  setting for grids and cross-validation of many small fits.

Categorical or text columns belong in a `ColumnTransformer` in front of the estimator, the
scikit-learn way; ``out=`` keeps the run directory (report, bundle, journal) of the last fit.

>>> from sklearn.model_selection import cross_val_score            # doctest: +SKIP
>>> cross_val_score(FullcycleClassifier(epochs=30), X, y, cv=3)    # doctest: +SKIP
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from fullcycle.data.dataset import Prepared, prepare
from fullcycle.data.splits import SplitOptions
from fullcycle.errors import FullcycleError
from fullcycle.serve.predictor import Predictor

TARGET = "__target__"
MIN_SAMPLES = 3  # one row each for train, dev and test


class _FullcycleEstimator(BaseEstimator):
    """What the classifier and the regressor share: validation, the recipe, prediction."""

    _task_kind = ""  # "classification" or "regression"

    def __init__(self, budget: str | float = "5m", epochs: int | None = None,
                 hidden: tuple[int, ...] | None = None, metric: str | None = None,
                 human_level_error: float = 0.0, random_state: int = 0,
                 out: str | Path | None = None) -> None:
        self.budget = budget
        self.epochs = epochs
        self.hidden = hidden
        self.metric = metric
        self.human_level_error = human_level_error
        self.random_state = random_state
        self.out = out

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # imputed with the training median, plus a flag
        tags.non_deterministic = False  # seeded: the same data and parameters, the same model
        return tags

    # ---- fitting
    def _fit(self, X: Any, y: Any, task: str) -> _FullcycleEstimator:
        X, y = validate_data(self, X, y, ensure_all_finite="allow-nan", dtype="numeric",
                             y_numeric=task == "regression")
        if len(X) < MIN_SAMPLES:
            raise ValueError(f"{type(self).__name__} needs at least {MIN_SAMPLES} samples "
                             f"(train, dev and test get one each); got {len(X)} sample"
                             f"{'' if len(X) == 1 else 's'}")
        frame = self._frame(X)
        frame[TARGET] = y
        try:
            self.predictor_, self.summary_ = self._train(frame, task)
        except FullcycleError as exc:
            raise ValueError(str(exc)) from None  # scikit-learn's type for bad input
        return self

    def _train(self, frame: pd.DataFrame, task: str) -> tuple[Predictor, dict]:
        seed = int(self.random_state)
        if self.epochs is not None:
            prepared = prepare(frame, TARGET, task=task, split=SplitOptions(seed=seed))
            return self._train_first_network(prepared, int(self.epochs), seed)
        from fullcycle.recipe.autopilot import run

        with tempfile.TemporaryDirectory(prefix="fullcycle-sklearn-") as scratch:
            result = run(frame, TARGET, out=self.out or Path(scratch) / "run", task=task,
                         budget=self.budget, metric=self.metric,
                         human_level_error=self.human_level_error,
                         hidden=list(self.hidden) if self.hidden else None,
                         split=SplitOptions(seed=seed), seed=seed)
        p = result.prepared
        assert p is not None
        return _predictor(result.model, p), result.summary

    def _train_first_network(self, p: Prepared, epochs: int, seed: int
                             ) -> tuple[Predictor, dict]:
        """The autopilot's first experiment alone: the seeds' initial network at the LR
        finder's rate, at most ``epochs`` epochs, early stopping on the dev split."""
        from fullcycle.checks.lr_finder import lr_find
        from fullcycle.engine.losses import loss_for_task
        from fullcycle.recipe.config import TrainConfig
        from fullcycle.recipe.steps import choose_lr
        from fullcycle.recipe.trainer import build_model, resolved, train

        if epochs < 1:
            raise FullcycleError(f"epochs must be 1 or more, got {epochs}")
        config = resolved(p, TrainConfig(hidden=self.hidden, seed=seed))
        config = config.with_changes(epochs=min(epochs, int(config.epochs or epochs)))
        sweep = lr_find(build_model(p, config), (p.X["train"], p.y["train"]),
                        loss_for_task(p.task), batch_size=int(config.batch_size or 32),
                        seed=seed)
        _, lr, _ = choose_lr([sweep.to_check().to_dict()])
        outcome = train(p, config.with_changes(lr=lr), metric=self.metric)
        if outcome.diverged:
            raise FullcycleError(outcome.diverged)
        summary = {"task": p.task, "metric": {"name": outcome.metric, **outcome.metrics},
                   "errors": outcome.errors, "splits": p.sizes,
                   "config": outcome.config.to_dict(), "best_epoch": outcome.best_epoch,
                   "seconds": round(outcome.seconds, 3)}
        return _predictor(outcome.model, p), summary

    # ---- predicting
    def _frame(self, X: np.ndarray) -> pd.DataFrame:
        names = getattr(self, "feature_names_in_", None)
        columns = [str(c) for c in names] if names is not None else \
            [f"x{i}" for i in range(X.shape[1])]
        return pd.DataFrame(np.asarray(X, dtype=np.float64), columns=columns)

    def _predict_frame(self, X: Any) -> pd.DataFrame:
        check_is_fitted(self, "predictor_")
        X = validate_data(self, X, reset=False, ensure_all_finite="allow-nan", dtype="numeric")
        return self.predictor_.predict_frame(self._frame(X))


def _predictor(model: Any, p: Prepared) -> Predictor:
    """The trained network as `fullcycle predict` would load it from its bundle, in memory:
    one decoding of logits into labels, probabilities and target units for every surface."""
    from fullcycle.models.bundle import Bundle
    from fullcycle.serve.runtime import TorchRuntime

    preprocessing = {"features": p.preprocessor.to_dict(), "target": p.target_encoding.to_dict()}
    bundle = Bundle(model=model.eval().cpu(), task=p.task, preprocessing=preprocessing,
                    metrics={}, input_schema=p.preprocessor.input_schema(),
                    architecture=dict(getattr(model, "config", {})),
                    classes=list(p.classes) or None)
    return Predictor(bundle, p.preprocessor, p.target_encoding, TorchRuntime(bundle.model))


class FullcycleClassifier(ClassifierMixin, _FullcycleEstimator):
    """A classifier whose ``fit`` runs the recipe (see the module docstring).

    Parameters:
        budget: time budget of the whole recipe, e.g. ``"90s"``, ``"5m"`` (as ``--budget``).
        epochs: None runs the autopilot; a number trains only the recipe's first network for
            at most that many epochs (quick; for grids and cross-validation).
        hidden: hidden sizes to start from instead of the seeds' rule, e.g. ``(64, 32)``.
        metric: the single evaluation metric (accuracy, f1, f1_macro, auc, log_loss).
        human_level_error: the Bayes-error proxy for the diagnosis (``--human-error``).
        random_state: the seed of the split, the initialization and the batch order.
        out: keep the last fit's run directory there (report, bundle, journal).

    Learned attributes: ``classes_``, ``n_features_in_`` (``feature_names_in_`` from a
    DataFrame), ``predictor_`` (network + preprocessing), ``summary_`` (errors per split,
    the diagnosis and experiments of the autopilot).
    """

    def fit(self, X: Any, y: Any) -> FullcycleClassifier:
        """Run the recipe on ``X``, ``y``; returns self."""
        X_checked, y_checked = validate_data(self, X, y, ensure_all_finite="allow-nan",
                                             dtype="numeric", reset=True)
        check_classification_targets(y_checked)
        if type_of_target(y_checked) not in ("binary", "multiclass"):
            raise ValueError(f"{type(self).__name__} takes one label per sample; got "
                             f"{type_of_target(y_checked)} targets")
        self.classes_, codes = np.unique(y_checked, return_inverse=True)
        if len(self.classes_) < 2:
            raise ValueError(f"{type(self).__name__} needs samples of at least 2 classes; got 1 "
                             f"class ({self.classes_[0]!r})")
        task = "binary" if len(self.classes_) == 2 else "multiclass"
        return self._fit(X, codes, task)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        out = self._predict_frame(X)
        # The recipe saw the codes 0..K-1 as labels; its columns are proba_<code>.
        return out[[f"proba_{i}" for i in range(len(self.classes_))]].to_numpy(np.float64)

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each sample (for two classes scored by F1: from the
        decision threshold the recipe chose on its dev split)."""
        proba = self.predict_proba(X)  # first: it says "not fitted" before classes_ is missed
        if len(self.classes_) == 2:
            threshold = self.predictor_.target.threshold
            return self.classes_[(proba[:, 1] >= threshold).astype(int)]
        return self.classes_[proba.argmax(axis=1)]


class FullcycleRegressor(RegressorMixin, _FullcycleEstimator):
    """A regressor whose ``fit`` runs the recipe (see `FullcycleClassifier` for parameters;
    ``metric`` is one of rmse, mae, r2). Predictions are in the target's own units."""

    def fit(self, X: Any, y: Any) -> FullcycleRegressor:
        """Run the recipe on ``X``, ``y``; returns self."""
        _, y_checked = validate_data(self, X, y, ensure_all_finite="allow-nan",
                                     dtype="numeric", y_numeric=True, reset=True)
        if not np.isfinite(y_checked).all():
            raise ValueError("y holds NaN or infinite values; drop or fill those samples")
        return self._fit(X, y_checked.astype(np.float64), "regression")

    def predict(self, X: Any) -> np.ndarray:
        """Predicted values, in the target's units."""
        return self._predict_frame(X)["prediction"].to_numpy(np.float64)
