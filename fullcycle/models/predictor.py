"""Predict with a model bundle, applying exactly the training preprocessing.

Used by `Bundle.predict`, `fullcycle predict` and the HTTP server: the bundle's JSON
preprocessing turns a table into the feature matrix (strictly: a text value in a numeric
column is an error, not a silent NaN), the network gives logits, and the target encoding
turns them back into labels with their probabilities, or into values in the target's own
units. Input may be a DataFrame, one row as a dict (``{"age": 41, "city": "Lyon"}``, what a
JSON request holds), a list of such dicts, or a CSV/Parquet path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fullcycle.data.dataset import TargetEncoding
from fullcycle.data.load import load_table
from fullcycle.data.preprocess import Preprocessor
from fullcycle.engine.evaluate import predict
from fullcycle.errors import FullcycleError
from fullcycle.metrics import probabilities
from fullcycle.models.bundle import Bundle, load_bundle

Rows = pd.DataFrame | Mapping[str, Any] | list[Mapping[str, Any]] | str | Path


@dataclass
class Predictor:
    """A loaded bundle, ready to predict tables."""

    model: torch.nn.Module
    preprocessor: Preprocessor
    target: TargetEncoding
    task: str

    @classmethod
    def load(cls, directory: str | Path) -> Predictor:
        """From a bundle folder (or the run directory holding it as ``model/``)."""
        return cls.from_bundle(load_bundle(directory))

    @classmethod
    def from_bundle(cls, bundle: Bundle) -> Predictor:
        doc = bundle.preprocessing
        where = bundle.path or "the bundle"
        if not isinstance(doc, dict) or "features" not in doc or "target" not in doc:
            raise FullcycleError(
                f"bundle {where} has no usable preprocessing, so it cannot read table rows; "
                "call bundle.outputs(X) with a feature matrix, or save it with "
                "save_bundle(..., prepared=p)"
            )
        try:
            target = TargetEncoding.from_dict(doc["target"])
        except TypeError:
            raise FullcycleError(f"bundle {where} has a malformed target encoding; "
                                 "re-create it with fullcycle run") from None
        bundle.model.eval()
        return cls(bundle.model, Preprocessor.from_dict(doc["features"]), target, bundle.task)

    def predict(self, rows: Rows) -> pd.DataFrame:
        """`predict_frame` of a DataFrame, a dict row, a list of dict rows or a file path."""
        return self.predict_frame(as_frame(rows))

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per input row: `prediction` (and `proba_<class>` for classification)."""
        if len(frame) == 0:
            raise FullcycleError("no rows to predict; give a file with data rows")
        X = self.preprocessor.transform(frame, strict=True)
        outputs = predict(self.model, torch.from_numpy(X))
        if self.task == "regression":
            values = outputs.numpy().reshape(-1) * self.target.std + self.target.mean
            return pd.DataFrame({"prediction": values})
        proba = probabilities(self.task, outputs)
        if self.task == "multilabel":
            labels = list(self.target.classes)
            out = pd.DataFrame({f"proba_{c}": proba[:, j] for j, c in enumerate(labels)})
            for j, c in enumerate(labels):
                out.insert(j, f"prediction_{c}", (proba[:, j] >= 0.5).astype(int))
            return out
        if self.task == "binary":
            proba = np.column_stack([1 - proba, proba])
        classes = list(self.target.classes)
        out = pd.DataFrame({"prediction": [classes[int(i)] for i in proba.argmax(axis=1)]})
        for j, c in enumerate(classes):
            out[f"proba_{c}"] = proba[:, j]
        return out


def as_frame(rows: Rows) -> pd.DataFrame:
    """A DataFrame from any input `Predictor.predict` takes."""
    if isinstance(rows, pd.DataFrame):
        return rows
    if isinstance(rows, Mapping):
        rows = [rows]
    if isinstance(rows, list) and all(isinstance(r, Mapping) for r in rows):
        if any(isinstance(v, list | tuple | dict) for r in rows for v in r.values()):
            raise FullcycleError("each row must map a column name to one value, e.g. "
                                 "{'age': 41, 'city': 'Lyon'}")
        return pd.DataFrame.from_records(rows)
    if isinstance(rows, str | Path):
        return load_table(rows)
    raise FullcycleError(
        f"cannot predict a {type(rows).__name__}; give a DataFrame, one row as a dict "
        "(column -> value), a list of such dicts, or a CSV/Parquet path"
    )
