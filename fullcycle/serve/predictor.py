"""Predict with a model bundle, applying exactly the training preprocessing.

Used by `fullcycle predict` and by the HTTP server: the bundle's JSON preprocessing turns a
table into the feature matrix (strictly: a text value in a numeric column is an error, not a
silent NaN), the network gives logits, and the target encoding turns them back into labels
with their probabilities, or into values in the target's own units.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from fullcycle.data.dataset import TargetEncoding
from fullcycle.data.image_dataset import (
    ImageArray,
    ImagePreprocessor,
    load_preprocessor,
    predict_images,
)
from fullcycle.data.preprocess import Preprocessor
from fullcycle.engine.evaluate import predict
from fullcycle.errors import FullcycleError
from fullcycle.metrics import probabilities
from fullcycle.models.bundle import load_bundle


@dataclass
class Predictor:
    """A loaded bundle, ready to predict tables."""

    model: torch.nn.Module
    preprocessor: Preprocessor | ImagePreprocessor
    target: TargetEncoding
    task: str

    @classmethod
    def load(cls, directory: str | Path) -> Predictor:
        bundle = load_bundle(directory)
        doc = bundle.preprocessing
        if not isinstance(doc, dict) or "features" not in doc or "target" not in doc:
            raise FullcycleError(
                f"bundle {directory} has no usable preprocessing; re-create it with fullcycle run"
            )
        try:
            target = TargetEncoding.from_dict(doc["target"])
        except TypeError:
            raise FullcycleError(f"bundle {directory} has a malformed target encoding; "
                                 "re-create it with fullcycle run") from None
        bundle.model.eval()
        return cls(bundle.model, load_preprocessor(doc["features"]), target, bundle.task)

    @property
    def is_images(self) -> bool:
        """True for a bundle trained on pictures: rows then name picture files."""
        return isinstance(self.preprocessor, ImagePreprocessor)

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """One row per input row: `prediction` (and `proba_<class>` for classification)."""
        if len(frame) == 0:
            raise FullcycleError("no rows to predict; give a file with data rows")
        X = self.preprocessor.transform(frame, strict=True)
        outputs = (predict_images(self.model, X) if isinstance(X, ImageArray)
                   else predict(self.model, torch.from_numpy(X)))
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
