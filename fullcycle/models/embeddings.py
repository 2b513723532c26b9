"""The front end every built-in tabular network shares: embeddings of a table's columns.

A tabular batch ``x`` holds numeric columns (scaled), missing indicators and categorical
codes stored as floats (`fullcycle.data.preprocess`). `TabularNetwork` splits it:

- categorical codes go through ``nn.Embedding`` with fastai's width rule
  ``min(600, round(1.6 · n^0.56))`` for ``n`` categories;
- numeric columns (indicators included) pass through unchanged, or through one of the
  numeric-feature embeddings of Gorishniy, Rubachev & Babenko, "On Embeddings for Numerical
  Features in Tabular Deep Learning" (NeurIPS 2022), which let an MLP draw the sharp,
  non-smooth boundaries trees find easily (a checkerboard) instead of the smooth functions a
  ReLU net of raw inputs favours:

  * ``"ple"`` piecewise-linear encoding with quantile bins (their "Q-LR"): bin edges
    ``b_0 < … < b_T`` are quantiles of the column in the *training* split; bin ``t`` encodes
    ``(x − b_{t−1}) / (b_t − b_{t−1})`` clamped to [0, 1] (the first bin open to the left,
    the last to the right, so nothing is lost outside the training range), followed per
    feature by a linear layer and a ReLU;
  * ``"periodic"``: ``[sin(2π c x), cos(2π c x)]`` with trainable frequencies
    ``c ~ N(0, σ²)``, followed per feature by a linear layer and a ReLU (their "PLR").

Everything needed to rebuild the front end — bin edges included — is plain JSON in the
network's ``config``, so a bundle (safetensors + JSON) saves and loads it without pickle.
The bin edges are data statistics like the scaler's: computed once from training rows by
`numeric_embedding_spec` and frozen with the model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from fullcycle.errors import FullcycleError

NUMERIC_EMBEDDINGS = ("ple", "periodic")
# Defaults of the reference implementation (rtdl_num_embeddings): 48 quantile bins; periodic
# with 48 frequencies into 24 dimensions. σ is the one knob the paper tunes (0.01–100); on
# standardized / quantile-normal inputs σ = 1 puts periods between ~1 and many deviations.
PLE_BINS = 48
PERIODIC_FREQUENCIES = 48
PERIODIC_SIGMA = 1.0
EMBEDDING_DIM = 24
# Columns sampled for the quantiles at most (the bins of a million rows and of 100,000 agree).
_MAX_QUANTILE_ROWS = 100_000


def embedding_size(n_categories: int) -> int:
    """fastai's embedding width rule, ``min(600, round(1.6 · n^0.56))``."""
    return int(min(600, round(1.6 * n_categories**0.56)))


def quantile_bin_edges(values: np.ndarray, n_bins: int = PLE_BINS) -> list[float]:
    """Edges of up to ``n_bins`` equal-frequency bins of one column (ties merged)."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return [-1.0, 1.0]
    edges = np.unique(np.quantile(values, np.linspace(0.0, 1.0, n_bins + 1)))
    if len(edges) < 2:  # a constant column: one bin around it
        edges = np.array([edges[0] - 0.5, edges[0] + 0.5])
    return [float(e) for e in edges]


def numeric_columns(n_inputs: int, categorical: Sequence[tuple[int, int]]) -> list[int]:
    """Indices of the columns of ``x`` that are not categorical codes, in order."""
    codes = {int(c) for c, _ in categorical}
    return [i for i in range(n_inputs) if i not in codes]


def numeric_embedding_spec(kind: str | None, X_train: Any,
                           categorical: Sequence[tuple[int, int]] = (), *,
                           n_bins: int = PLE_BINS, dim: int = EMBEDDING_DIM,
                           frequencies: int = PERIODIC_FREQUENCIES,
                           sigma: float = PERIODIC_SIGMA, seed: int = 0) -> dict | None:
    """The JSON description of a numeric embedding, its data statistics from ``X_train``.

    ``X_train`` must be the *training* rows (the bins are statistics, like the scaler's);
    ``categorical`` says which of its columns are codes (``Preprocessor.categorical``).
    """
    if kind is None:
        return None
    if kind not in NUMERIC_EMBEDDINGS:
        raise FullcycleError(f"unknown numeric embedding {kind!r}; use one of: "
                             f"{', '.join(NUMERIC_EMBEDDINGS)} (or none)")
    X = np.asarray(X_train, dtype=np.float64)
    if X.ndim != 2:
        raise FullcycleError(f"X_train must be a (rows, features) table, got shape {X.shape}")
    if kind == "periodic":
        return {"kind": "periodic", "frequencies": int(frequencies), "sigma": float(sigma),
                "dim": int(dim)}
    if len(X) > _MAX_QUANTILE_ROWS:
        X = X[np.random.default_rng(seed).choice(len(X), _MAX_QUANTILE_ROWS, replace=False)]
    edges = [quantile_bin_edges(X[:, j], n_bins)
             for j in numeric_columns(X.shape[1], categorical)]
    return {"kind": "ple", "edges": edges, "dim": int(dim)}


class PiecewiseLinearEmbedding(nn.Module):
    """Piecewise-linear encoding of each numeric column on its own bins, then a per-feature
    linear layer and a ReLU: (batch, features) → (batch, features · dim)."""

    def __init__(self, edges: Sequence[Sequence[float]], dim: int) -> None:
        super().__init__()
        n_features, n_bins = len(edges), max(len(e) - 1 for e in edges)
        left = torch.zeros(n_features, n_bins, dtype=torch.float64)
        width = torch.ones(n_features, n_bins, dtype=torch.float64)
        # Clamp bounds per bin: [0, 1] inside, open at the two ends; padding bins (columns
        # with fewer distinct quantiles) clamp to [0, 0] and so always encode 0.
        lower = torch.zeros(n_features, n_bins, dtype=torch.float64)
        upper = torch.zeros(n_features, n_bins, dtype=torch.float64)
        for i, column in enumerate(edges):
            e = torch.tensor([float(v) for v in column], dtype=torch.float64)
            if e.numel() < 2 or not bool((e[1:] > e[:-1]).all()):
                raise FullcycleError(f"bin edges of numeric column {i} must be at least two "
                                     "increasing numbers; compute them with "
                                     "numeric_embedding_spec('ple', X_train)")
            n = e.numel() - 1
            left[i, :n], width[i, :n], upper[i, :n] = e[:-1], e[1:] - e[:-1], 1.0
            lower[i, 0], upper[i, n - 1] = -math.inf, math.inf
        for name, value in (("left", left), ("width", width), ("lower", lower),
                            ("upper", upper)):
            self.register_buffer(name, value.float(), persistent=False)  # rebuilt from JSON
        self.weight = nn.Parameter(torch.empty(n_features, n_bins, dim))
        self.bias = nn.Parameter(torch.empty(n_features, dim))
        bound = 1.0 / math.sqrt(n_bins)  # nn.Linear's default, fan-in = bins
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def encode(self, x: Tensor) -> Tensor:
        """The encoding itself: (batch, features) → (batch, features, bins)."""
        raw = (x.unsqueeze(-1) - self.left) / self.width
        return torch.minimum(torch.maximum(raw, self.lower), self.upper)

    def forward(self, x: Tensor) -> Tensor:
        out = torch.einsum("bft,ftd->bfd", self.encode(x), self.weight) + self.bias
        return torch.relu(out).flatten(1)


class PeriodicEmbedding(nn.Module):
    """``[sin(2π c x), cos(2π c x)]`` with trainable frequencies per column, then a
    per-feature linear layer and a ReLU: (batch, features) → (batch, features · dim)."""

    def __init__(self, n_features: int, frequencies: int, sigma: float, dim: int) -> None:
        super().__init__()
        if frequencies < 1 or dim < 1 or not sigma > 0:
            raise FullcycleError("a periodic embedding needs frequencies ≥ 1, dim ≥ 1 and "
                                 f"sigma > 0, got {frequencies}, {dim}, {sigma}")
        self.frequencies = nn.Parameter(torch.randn(n_features, frequencies) * sigma)
        self.weight = nn.Parameter(torch.empty(n_features, 2 * frequencies, dim))
        self.bias = nn.Parameter(torch.empty(n_features, dim))
        bound = 1.0 / math.sqrt(2 * frequencies)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, x: Tensor) -> Tensor:
        angle = 2 * math.pi * self.frequencies * x.unsqueeze(-1)
        features = torch.cat([torch.cos(angle), torch.sin(angle)], dim=-1)
        out = torch.einsum("bfk,fkd->bfd", features, self.weight) + self.bias
        return torch.relu(out).flatten(1)


def build_numeric_embedding(spec: dict | None, n_numeric: int) -> nn.Module | None:
    """The module a `numeric_embedding_spec` describes, for ``n_numeric`` columns."""
    if spec is None or n_numeric == 0:
        return None
    if not isinstance(spec, dict) or spec.get("kind") not in NUMERIC_EMBEDDINGS:
        raise FullcycleError(f"numeric_embedding must be None or a description from "
                             f"numeric_embedding_spec (kind one of "
                             f"{', '.join(NUMERIC_EMBEDDINGS)}), got {spec!r}")
    dim = int(spec.get("dim", EMBEDDING_DIM))
    if spec["kind"] == "periodic":
        return PeriodicEmbedding(n_numeric, int(spec.get("frequencies", PERIODIC_FREQUENCIES)),
                                 float(spec.get("sigma", PERIODIC_SIGMA)), dim)
    edges = spec.get("edges")
    if not isinstance(edges, list) or len(edges) != n_numeric:
        count = len(edges) if isinstance(edges, list) else "no"
        raise FullcycleError(f"piecewise-linear encoding has {count} bin-edge lists for "
                             f"{n_numeric} numeric columns; compute them with "
                             "numeric_embedding_spec('ple', X_train, categorical)")
    return PiecewiseLinearEmbedding(edges, dim)


class TabularNetwork(nn.Module):
    """Base of the built-in tabular networks: builds and applies the shared front end.

    A subclass calls `build_inputs` in its ``__init__`` (it returns the width the body sees)
    and `encode` at the start of ``forward``.
    """

    def build_inputs(self, n_inputs: int, categorical: Sequence[tuple[int, int]],
                     numeric_embedding: dict | None = None) -> int:
        """Create the categorical embeddings and the numeric embedding; return the width."""
        for column, cardinality in categorical:
            if not 0 <= column < n_inputs or cardinality < 1:
                raise FullcycleError(
                    f"categorical column {column} (cardinality {cardinality}) is outside the "
                    f"{n_inputs} input columns; pass (column index, number of categories)"
                )
        numeric = numeric_columns(n_inputs, categorical)
        emb_sizes = [embedding_size(k) for _, k in categorical]
        self.has_categorical = bool(categorical)
        self.register_buffer("numeric_index", torch.tensor(numeric, dtype=torch.long),
                             persistent=False)
        self.register_buffer("categorical_index",
                             torch.tensor([c for c, _ in categorical], dtype=torch.long),
                             persistent=False)
        self.cardinalities = [k for _, k in categorical]
        self.embeddings = nn.ModuleList(
            nn.Embedding(k, d) for (_, k), d in zip(categorical, emb_sizes, strict=True)
        )
        self.numeric_embedding = build_numeric_embedding(numeric_embedding, len(numeric))
        numeric_width = len(numeric)
        if self.numeric_embedding is not None:
            dim = int(numeric_embedding.get("dim", EMBEDDING_DIM))  # type: ignore[union-attr]
            numeric_width = len(numeric) * dim
        return numeric_width + sum(emb_sizes)

    def encode(self, x: Tensor) -> Tensor:
        """(batch, columns) → (batch, width): numeric part embedded or passed through, then
        the categorical embeddings."""
        if not self.has_categorical and self.numeric_embedding is None:
            return x
        numeric = x.index_select(1, self.numeric_index) if self.has_categorical else x
        parts = [numeric if self.numeric_embedding is None else self.numeric_embedding(numeric)]
        if self.has_categorical:
            codes = x.index_select(1, self.categorical_index).round().long()
            for j, emb in enumerate(self.embeddings):
                # unseen codes map to the last ("unknown") category instead of crashing
                parts.append(emb(codes[:, j].clamp(0, self.cardinalities[j] - 1)))
        return torch.cat(parts, dim=1) if len(parts) > 1 else parts[0]
