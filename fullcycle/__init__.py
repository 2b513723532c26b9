"""fullcycle: run a deep-learning project the way the practical recipe says.

The Python API is imported lazily so that ``import fullcycle as fc`` stays fast and a
surface only pays for the layers it uses::

    import fullcycle as fc
    p = fc.prepare("data.csv", target="y")              # splits + train-only preprocessing
    outcome = fc.train(p, hidden=[64], epochs=40)         # the built-in net, errors per split
    result = fc.fit(model, (X_train, y_train), (X_dev, y_dev), loss="cross_entropy")
    fc.diagnose(train_error=0.01, dev_error=0.11)
    fc.run("data.csv", target="y", budget="5m")           # the whole recipe
"""

from __future__ import annotations

import importlib
from typing import Any

from fullcycle.errors import FullcycleError

__version__ = "0.1.0"

# public name -> module that defines it (same name inside that module)
_API = {
    # data (building blocks + I/O at the boundary)
    "load_table": "fullcycle.data.load",
    "infer_task": "fullcycle.data.task",
    "split_sizes": "fullcycle.data.splits",
    "make_split": "fullcycle.data.splits",
    "Preprocessor": "fullcycle.data.preprocess",
    "prepare": "fullcycle.data.dataset",
    "prepare_images": "fullcycle.data.images",
    # engine
    "fit": "fullcycle.engine.fit",
    "Callback": "fullcycle.engine.events",
    "JournalCallback": "fullcycle.engine.journaling",
    # models
    "TabularMLP": "fullcycle.models.mlp",
    "ImageResNet": "fullcycle.models.cnn",
    "pretrained_module": "fullcycle.models.transfer",
    "TabularResNet": "fullcycle.models.resnet",
    "SeedEnsemble": "fullcycle.models.ensemble",
    # checks
    "gradcheck": "fullcycle.checks.gradcheck",
    "lr_find": "fullcycle.checks.lr_finder",
    "run_checks": "fullcycle.checks.suite",
    # diagnosis
    "learning_curve": "fullcycle.diagnosis.learning_curves",
    "baselines": "fullcycle.diagnosis.baselines",
    "diagnose": "fullcycle.diagnosis.diagnosis",
    # recipe
    "train": "fullcycle.recipe.trainer",
    "TrainConfig": "fullcycle.recipe.config",
    "run": "fullcycle.recipe.autopilot",
    # search
    "search": "fullcycle.tuning.study",
    # error analysis
    "error_analysis": "fullcycle.analysis.errors",
    # bundle
    "load_bundle": "fullcycle.models.bundle",
    "save_bundle": "fullcycle.models.bundle",
    "Journal": "fullcycle.journal",
    # deploy and maintain
    "Predictor": "fullcycle.serve.predictor",
    "export_onnx": "fullcycle.serve.export",
    "create_app": "fullcycle.serve.app",
    "check_drift": "fullcycle.monitor.check",
    "dataset_drift": "fullcycle.monitor.drift",
    "retrain_bundle": "fullcycle.monitor.retrain",
}

__all__ = ["FullcycleError", "__version__", *_API]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'fullcycle' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
