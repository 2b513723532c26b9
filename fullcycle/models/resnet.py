"""A residual MLP for tables: "another architecture" when a bigger plain MLP stops helping.

Gorishniy, Rubachev, Khrulkov & Babenko, "Revisiting Deep Learning Models for Tabular Data"
(NeurIPS 2021): a ResNet-like network is a strong simple baseline for tabular deep learning,
and seed 003 lists "try a different architecture" among the remedies for avoidable bias.
The skip connections let the net grow deep without the optimization trouble of a deep
plain stack (seed 003's ResNets: "learning the identity function is easy")::

    h = Linear(encode(x))                                   # to the stream width d
    h = h + Dropout(Linear(ReLU(Linear(Norm(h)))))           # per block, inner width f·d_i
    logits = Linear(ReLU(Norm(h)))                           # the prediction head

``hidden`` lists the blocks: the residual stream has width ``hidden[0]`` and block ``i`` an
inner width ``hidden_factor · hidden[i]`` (the paper's d_hidden = factor · d_main, factor 1–4;
2 here). ``norm`` is ``"batch"`` (the paper's) or ``"layer"``, which needs no batch
statistics. The front end — categorical embeddings, optional numeric-feature embeddings —
is the one `TabularMLP` uses (`fullcycle.models.embeddings.TabularNetwork`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import Tensor, nn

from fullcycle.errors import FullcycleError
from fullcycle.models.embeddings import TabularNetwork
from fullcycle.models.init import init_for_activation, init_layer
from fullcycle.models.mlp import (
    ACTIVATIONS,
    as_floats,
    dropout_rates,
    init_output_layer,
    set_output_bias,
)

HIDDEN_FACTOR = 2.0
NORMS = {"batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


class ResidualBlock(nn.Module):
    """``x + Dropout(Linear(ReLU(Linear(Norm(x)))))``."""

    def __init__(self, width: int, inner: int, norm: str, activation: str, dropout: float,
                 scheme: str) -> None:
        super().__init__()
        self.norm = NORMS[norm](width)
        self.expand, self.project = nn.Linear(width, inner), nn.Linear(inner, width)
        init_layer(self.expand, scheme, activation)  # an activation follows it
        init_layer(self.project, "xavier", activation)  # none follows: variance-1/n
        self.activation = ACTIVATIONS[activation]()
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, x: Tensor) -> Tensor:
        return x + self.dropout(self.project(self.activation(self.expand(self.norm(x)))))


class TabularResNet(TabularNetwork):
    """Embedded inputs, a linear map to the residual stream, residual blocks, a norm-ReLU-
    linear head emitting logits. ``dropout``: one rate for all blocks or one per block."""

    def __init__(self, n_inputs: int, n_outputs: int, hidden: Sequence[int] = (64,),
                 hidden_factor: float = HIDDEN_FACTOR, activation: str = "relu",
                 init: str = "auto", dropout: float | Sequence[float] = 0.0,
                 norm: str = "batch", categorical: Sequence[tuple[int, int]] = (),
                 output_bias: float | Sequence[float] | None = None,
                 numeric_embedding: dict | None = None) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise FullcycleError(
                f"unknown activation {activation!r}; use one of: {', '.join(ACTIVATIONS)}")
        if norm not in NORMS:
            raise FullcycleError(f"unknown norm {norm!r}; use one of: {', '.join(NORMS)}")
        if n_inputs < 1 or n_outputs < 1:
            raise FullcycleError("the network needs at least one input and one output column")
        hidden = [int(h) for h in hidden]
        if not hidden or any(h < 1 for h in hidden) or not hidden_factor > 0:
            raise FullcycleError(f"a residual network needs at least one block of positive "
                                 f"width and hidden_factor > 0, got hidden {hidden}, "
                                 f"hidden_factor {hidden_factor}")
        drops = dropout_rates(dropout, len(hidden))
        categorical = [(int(c), int(k)) for c, k in categorical]
        width_in = self.build_inputs(n_inputs, categorical, numeric_embedding)
        scheme = init_for_activation(activation) if init == "auto" else init
        self._config = {
            "n_inputs": n_inputs, "n_outputs": n_outputs, "hidden": hidden,
            "hidden_factor": float(hidden_factor), "activation": activation, "init": init,
            "dropout": drops, "norm": norm, "categorical": [list(c) for c in categorical],
            "output_bias": None if output_bias is None else as_floats(output_bias),
            "numeric_embedding": numeric_embedding,
        }
        width = hidden[0]
        # the stream is not followed by an activation: variance-1/n keeps its scale
        self.stem = nn.Linear(width_in, width)
        init_layer(self.stem, "xavier", activation)
        self.blocks = nn.Sequential(*(
            ResidualBlock(width, max(1, round(hidden_factor * h)), norm, activation, p, scheme)
            for h, p in zip(hidden, drops, strict=True)))
        self.head_norm = NORMS[norm](width)
        self.head_activation = ACTIVATIONS[activation]()
        self.output = nn.Linear(width, n_outputs)
        init_output_layer(self.output, scheme, activation)
        if output_bias is not None:
            set_output_bias(self, as_floats(output_bias))

    @property
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the architecture, as JSON-able values."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._config.items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TabularResNet:
        """Rebuild from `config` (weights are loaded separately)."""
        cfg = dict(config)
        cfg["categorical"] = [tuple(c) for c in cfg.get("categorical", [])]
        return cls(**cfg)

    def forward(self, x: Tensor) -> Tensor:
        h = self.blocks(self.stem(self.encode(x)))
        return self.output(self.head_activation(self.head_norm(h)))
