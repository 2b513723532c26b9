"""Which rows a training run sees and how its predictions are cut: the target
distribution's rows weighted up (data mismatch) and a binary model's decision threshold."""

from __future__ import annotations

from typing import Any

import numpy as np

from fullcycle.data.dataset import Prepared


def target_rows(prepared: Prepared) -> np.ndarray | None:
    """Which training rows come from the target distribution (`--dev-data`'s share of the
    training split); None when there is no such data (or the table is streamed)."""
    rows = getattr(prepared, "rows", {}).get("train")
    n_source = getattr(prepared, "n_source_rows", None)
    if rows is None or n_source is None or len(rows) != len(prepared.X["train"]):
        return None
    mask = np.asarray(rows) >= n_source
    return mask if mask.any() else None


def weight_target_rows(prepared: Prepared, X: Any, y: np.ndarray, weight: int
                       ) -> tuple[Any, np.ndarray]:
    """The training rows with the target-distribution rows repeated `weight` times in all
    (oversampling: every loss, optimizer and batch size works unchanged). `X` is a matrix
    or an `ImageArray` (whose rows then point at the same pictures and pixel cache)."""
    mask = target_rows(prepared)
    if mask is None:
        return X, y
    rows = np.concatenate([np.arange(len(y)), np.repeat(np.flatnonzero(mask), weight - 1)])
    return X[rows], y[rows]


def decision_threshold(prepared: Prepared) -> float:
    """The binary decision threshold the prepared target carries (0.5 unless chosen)."""
    encoding = getattr(prepared, "target_encoding", None)
    return float(getattr(encoding, "threshold", 0.5))
