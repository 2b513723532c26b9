"""Serving a bundle: `Predictor` (loaded from a bundle or a run directory) predicts tables,
rows given as dicts, or lists of them, with exactly the training preprocessing."""

from fullcycle.models.predictor import Predictor

__all__ = ["Predictor"]
