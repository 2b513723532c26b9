"""Which rows a training run sees and how its predictions are cut: the target
distribution's rows weighted up (data mismatch) and a binary model's decision threshold."""

from __future__ import annotations

import numpy as np

from fullcycle.data.dataset import Prepared


def target_rows(prepared: Prepared) -> np.ndarray | None:
    """Which training rows come from the target distribution (`--dev-data`'s share of the
    training split); None when there is no such data (or they are pictures or streamed)."""
    rows = getattr(prepared, "rows", {}).get("train")
    n_source = getattr(prepared, "n_source_rows", None)
    if rows is None or n_source is None or prepared.is_images or len(rows) != len(
            prepared.X["train"]):
        return None
    mask = np.asarray(rows) >= n_source
    return mask if mask.any() else None


def weight_target_rows(prepared: Prepared, X: np.ndarray, y: np.ndarray, weight: int
                       ) -> tuple[np.ndarray, np.ndarray]:
    """The training arrays with the target-distribution rows repeated `weight` times in all
    (oversampling: every loss, optimizer and batch size works unchanged)."""
    mask = target_rows(prepared)
    if mask is None:
        return X, y
    extra = np.repeat(np.flatnonzero(mask), weight - 1)
    return np.concatenate([X, X[extra]]), np.concatenate([y, y[extra]])


def decision_threshold(prepared: Prepared) -> float:
    """The binary decision threshold the prepared target carries (0.5 unless chosen)."""
    encoding = getattr(prepared, "target_encoding", None)
    return float(getattr(encoding, "threshold", 0.5))
