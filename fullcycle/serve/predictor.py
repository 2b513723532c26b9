"""Predict with a model bundle, applying exactly the training preprocessing.

Used by `fullcycle predict`, the HTTP server and the drift monitor: the bundle's JSON
preprocessing turns a table (or the server's validated rows) into the feature matrix
(strictly: a text value in a numeric column is an error, not a silent NaN), a runtime
(PyTorch, or the ONNX export) gives logits, and the target encoding turns them back into
labels with their probabilities, or into values in the target's own units. One decoding
for every surface, so a served prediction equals the one `fullcycle predict` writes.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from fullcycle.data.image_preprocess import ImagePreprocessor, load_preprocessor
from fullcycle.data.load import TableSource, load_table
from fullcycle.data.preprocess import Preprocessor
from fullcycle.data.target_encoding import TargetEncoding
from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import Bundle, load_bundle
from fullcycle.serve.runtime import Runtime, TorchRuntime, choose_runtime


@dataclass
class Predictor:
    """A loaded bundle, ready to predict tables or rows."""

    bundle: Bundle
    preprocessor: Preprocessor | ImagePreprocessor
    target: TargetEncoding
    runtime: Runtime

    @classmethod
    def load(cls, directory: str | Path, runtime: str = "torch") -> Predictor:
        """Load a bundle (its folder, or the run directory holding it as ``model/``);
        ``runtime`` is torch, onnx, or auto (ONNX when exported)."""
        bundle = load_bundle(directory)
        doc = bundle.preprocessing
        if not isinstance(doc, dict) or "features" not in doc or "target" not in doc:
            raise FullcycleError(
                f"bundle {directory} has no usable preprocessing, so it cannot read table "
                "rows; re-create it with fullcycle run, or save it with "
                "save_bundle(..., prepared=p)"
            )
        try:
            target = TargetEncoding.from_dict(doc["target"])
        except TypeError:
            raise FullcycleError(f"bundle {directory} has a malformed target encoding; "
                                 "re-create it with fullcycle run") from None
        preprocessor = load_preprocessor(doc["features"])
        pictures = isinstance(preprocessor, ImagePreprocessor)  # read from files by PyTorch
        engine = (TorchRuntime(bundle.model) if runtime == "torch" or pictures
                  else choose_runtime(bundle, runtime))
        return cls(bundle, preprocessor, target, engine)

    @property
    def is_images(self) -> bool:
        """True for a bundle trained on pictures: rows then name picture files."""
        return isinstance(self.preprocessor, ImagePreprocessor)

    @property
    def task(self) -> str:
        return self.bundle.task

    @property
    def model(self) -> torch.nn.Module:
        return self.bundle.model

    @property
    def output_columns(self) -> list[str]:
        """The columns every prediction has, in order (as `fullcycle predict` writes them)."""
        if self.task == "multitask":
            columns = []
            for head in self.target.head_list():
                columns.append(f"prediction_{head.name}")
                if head.task != "regression":
                    columns += [f"proba_{head.name}_{c}" for c in head.classes]
            return columns
        return self.target.output_columns

    def predict(self, rows: TableSource | Mapping[str, Any] | list[Mapping[str, Any]]
                ) -> pd.DataFrame:
        """`predict_frame` of a DataFrame, one row as a dict, a list of them, or a path."""
        return self.predict_frame(load_table(rows, name="rows to predict"))

    def predict_frame(self, frame: pd.DataFrame, *, strict: bool = True) -> pd.DataFrame:
        """One row per input row: `prediction` (and `proba_<class>` for classification)."""
        if len(frame) == 0:
            raise FullcycleError("no rows to predict; give a file with data rows")
        X = self.preprocessor.transform(frame, strict=strict)
        return pd.DataFrame(self.decode(self.runtime.outputs(X)), columns=self.output_columns)

    def predict_records(self, rows: list[dict]) -> list[dict]:
        """Predictions for rows given as dicts of typed values (the server's path)."""
        return self.predict_inputs(self.preprocessor.transform_records(rows))

    def predict_inputs(self, X: Any) -> list[dict]:
        """Predictions, one dict per row, for network inputs already made: a feature matrix,
        an `ImageArray`, or decoded pictures float32 (n, C, H, W) (the server's uploads)."""
        columns = self.decode(self.runtime.outputs(X))
        names = self.output_columns
        values = [columns[name].tolist() for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*values, strict=True)]

    def decode(self, outputs: np.ndarray) -> dict[str, np.ndarray]:
        """Logits -> prediction columns: labels and probabilities, or target-unit values."""
        if self.task == "multitask":
            return self._multitask(outputs)
        return self.target.decode(outputs)

    def _multitask(self, outputs: np.ndarray) -> dict[str, np.ndarray]:
        """Per target: ``prediction_<target>`` and, for classes, ``proba_<target>_<class>``."""
        from fullcycle.analysis.multitask import head_predictions
        from fullcycle.data.task import head_slices

        heads = self.target.head_list()
        out: dict[str, np.ndarray] = {}
        for head, enc, where in zip(heads, self.target.heads, head_slices(heads), strict=True):
            pred = head_predictions(head, outputs[:, where], enc["mean"], enc["std"])
            if head.task == "regression":
                out[f"prediction_{head.name}"] = np.asarray(pred, dtype=np.float64)
                continue
            proba = np.column_stack([1 - pred, pred]) if head.task == "binary" else pred
            classes = list(head.classes)
            out[f"prediction_{head.name}"] = np.asarray(classes, dtype=object)[
                proba.argmax(axis=1)]
            for c, label in enumerate(classes):
                out[f"proba_{head.name}_{label}"] = proba[:, c]
        return out
