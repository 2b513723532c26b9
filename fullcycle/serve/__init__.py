"""Serving a bundle over HTTP and exporting it.

``from fullcycle.serve import Predictor`` gives the predictor (loaded from a bundle or the
run directory holding it); it is imported on first use, so importing this package stays
cheap for the parts that only need one module of it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Predictor"]


def __getattr__(name: str) -> Any:
    if name == "Predictor":
        from fullcycle.serve.predictor import Predictor

        return Predictor
    raise AttributeError(f"module 'fullcycle.serve' has no attribute {name!r}")
