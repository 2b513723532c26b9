"""Experiment tracking in the tools users already run: MLflow and TensorBoard.

Both are optional extras (``pip install 'fullcycle[mlflow]'``, ``'fullcycle[tensorboard]'``);
without them nothing changes and nothing of theirs is imported. Two ways in:

- live, for any fit: `fullcycle.tracking.mlflow.MLflowCallback` and
  `fullcycle.tracking.tensorboard.TensorBoardCallback` are engine callbacks
  (``fc.fit(..., callbacks=[MLflowCallback()])``): the fit's configuration, every epoch's
  metrics, the training decisions (NaN guard, early stopping) as tags;
- for a whole run (``fullcycle run --mlflow``, ``fc.run(..., tracking=Tracking(...))``): when
  the run directory is complete, its journal is logged — one MLflow run for the run (its
  configuration, the recipe's decisions as tags, the errors per split, ``report.html``,
  ``summary.json`` and the model bundle as artifacts) with one nested run per experiment
  (configuration, why it was run, whether it was kept, its per-epoch metrics), and per-epoch
  TensorBoard scalars per experiment. The journal is the record of what happened, so what
  MLflow shows is exactly what the report shows, also for a run resumed after a crash.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fullcycle.errors import FullcycleError

if TYPE_CHECKING:
    from fullcycle.engine.events import Callback

DEFAULT_EXPERIMENT = "fullcycle"


@dataclass(frozen=True)
class Tracking:
    """Where to track: an MLflow tracking URI and/or a TensorBoard folder (None: not there)."""

    mlflow_uri: str | None = None
    tensorboard_dir: Path | None = None
    experiment: str = DEFAULT_EXPERIMENT

    @classmethod
    def from_flags(cls, mlflow: bool = False, tensorboard: str | Path | None = None,
                   experiment: str | None = None) -> Tracking | None:
        """The CLI's ``--mlflow`` / ``--tensorboard DIR``; ``MLFLOW_TRACKING_URI`` set in the
        environment turns MLflow on too (when MLflow is installed). None when neither."""
        uri = os.environ.get("MLFLOW_TRACKING_URI") or None
        if mlflow:
            require("mlflow", "--mlflow")
            if uri is None:
                import mlflow as mlflow_module

                uri = mlflow_module.get_tracking_uri()  # MLflow's default: ./mlflow.db
        elif uri is not None and not installed("mlflow"):
            uri = None  # the variable is for another tool here; fullcycle[mlflow] is absent
        if tensorboard is not None:
            require("tensorboard", "--tensorboard")
        if uri is None and tensorboard is None:
            return None
        name = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        return cls(uri, None if tensorboard is None else Path(tensorboard), name)

    def callbacks(self, run_name: str | None = None,
                  params: dict[str, Any] | None = None) -> list[Callback]:
        """Live callbacks for one fit (rank 0 only under torchrun)."""
        found: list[Callback] = []
        if self.mlflow_uri is not None:
            from fullcycle.tracking.mlflow import MLflowCallback

            found.append(MLflowCallback(self.mlflow_uri, self.experiment, run_name, params))
        if self.tensorboard_dir is not None:
            from fullcycle.tracking.tensorboard import TensorBoardCallback

            name = run_name or "fit"
            found.append(TensorBoardCallback(self.tensorboard_dir / name))
        return found

    def log_run(self, run_dir: str | Path) -> dict[str, Any]:
        """Log a finished run directory; returns where it went (MLflow run id, TB folder)."""
        from fullcycle.engine.distributed import is_main_process

        where: dict[str, Any] = {}
        if not is_main_process():
            return where
        if self.mlflow_uri is not None:
            from fullcycle.tracking.mlflow import log_run_directory

            where["mlflow_run_id"] = log_run_directory(run_dir, self.mlflow_uri,
                                                       self.experiment)
        if self.tensorboard_dir is not None:
            from fullcycle.tracking.tensorboard import log_run_directory as log_scalars

            where["tensorboard_dir"] = str(log_scalars(run_dir, self.tensorboard_dir))
        return where


def installed(module: str) -> bool:
    """Whether an optional extra's module can be imported (without importing it)."""
    import importlib.util

    return importlib.util.find_spec(module) is not None


def require(module: str, flag: str) -> None:
    """A one-line error naming the extra to install when ``module`` is missing."""
    if not installed(module):
        extra = "mlflow" if module == "mlflow" else "tensorboard"
        raise FullcycleError(f"{flag} needs the {module} package; install it with "
                             f"pip install 'fullcycle[{extra}]'")


def numeric_items(values: dict[str, Any]) -> dict[str, float]:
    """The finite numbers of a metrics row (booleans and text left out)."""
    import math

    out = {}
    for key, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if math.isfinite(value):
            out[key] = float(value)
    return out


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested configuration as ``{"a.b": "value"}`` strings (MLflow params, TB text)."""
    out: dict[str, str] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = str(value)
    return out
