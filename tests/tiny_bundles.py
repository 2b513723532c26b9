"""Small model bundles for the serving, export and monitoring tests (a few epochs each).

One table per task with a numeric column that has missing values (so the bundle has a
missing indicator) and a categorical column (so the network embeds), trained as the
recipe's trainer would, and saved with the training reference like every run's bundle.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fullcycle.data.dataset import prepare
from fullcycle.engine.fit import fit
from fullcycle.engine.losses import loss_for_task
from fullcycle.metrics import default_metric
from fullcycle.models.bundle import save_bundle
from fullcycle.models.mlp import TabularMLP, init_output_bias

TASKS = ("regression", "binary", "multiclass", "multilabel")


def task_frame(task: str, n: int = 240, seed: int = 0) -> pd.DataFrame:
    """Inputs x1 (with gaps), x2, kind (a/b/c); the target(s) depend on all three."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=n), rng.normal(2.0, 3.0, size=n)
    kind = rng.choice(["a", "b", "c"], size=n)
    score = x1 + 0.3 * x2 + np.select([kind == "a", kind == "b"], [1.0, -1.0], 0.0)
    frame = pd.DataFrame({"x1": x1, "x2": x2, "kind": kind})
    frame.loc[rng.random(n) < 0.1, "x1"] = np.nan
    if task == "regression":
        frame["y"] = 10 * score + rng.normal(size=n)
    elif task == "binary":
        frame["y"] = np.where(score + 0.3 * rng.normal(size=n) > 0.5, "yes", "no")
    elif task == "multiclass":
        frame["y"] = np.digitize(score, [-0.5, 1.0]).astype(str)
        frame["y"] = frame["y"].map({"0": "low", "1": "mid", "2": "high"})
    else:
        frame["tag_a"] = (score > 0.5).astype(int)
        frame["tag_b"] = (x2 > 2.0).astype(int)
    return frame


def target_of(task: str) -> str:
    return "tag_a,tag_b" if task == "multilabel" else "y"


def make_bundle(directory: Path, frame: pd.DataFrame, target: str, *, task: str | None = None,
                hidden: tuple[int, ...] = (8,), epochs: int = 3, batch_norm: bool = False,
                dropout: float = 0.0, seed: int = 0) -> Path:
    """Prepare ``frame``, train a small net for ``epochs`` and save the bundle."""
    p = prepare(frame, target, task=task)
    n_out = len(p.classes) if p.task in ("multiclass", "multilabel") else 1
    torch.manual_seed(seed)
    model = TabularMLP(p.preprocessor.n_features, n_out, hidden=list(hidden),
                       batch_norm=batch_norm, dropout=dropout,
                       categorical=p.preprocessor.categorical)
    init_output_bias(model, p.task, p.y["train"])
    result = fit(model, (p.X["train"], p.y["train"]), (p.X["dev"], p.y["dev"]),
                 loss=loss_for_task(p.task), epochs=epochs, lr=1e-2, batch_size=32,
                 seed=seed, progress=False, task=p.task)
    return save_bundle(directory, result.model.cpu().eval(),
                       {"features": p.preprocessor.to_dict(),
                        "target": p.target_encoding.to_dict()},
                       p.task, {"metric": {"name": default_metric(p.task, p.y["train"])},
                                "errors": {"dev": 0.5}},
                       p.preprocessor.input_schema(),
                       classes=list(p.classes) if p.classes else None,
                       reference=p.frame_of("train"))


def input_rows(frame: pd.DataFrame, n: int = 5) -> list[dict]:
    """JSON-ready input rows (no target columns; NaN as null)."""
    inputs = frame[["x1", "x2", "kind"]].head(n).astype(object)
    return inputs.where(inputs.notna(), None).to_dict("records")
