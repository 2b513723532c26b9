"""The seeds' first tabular network: fully connected layers on embedded features.

Seed 001, step 2: "For structured learning problems ... one fully-connected hidden layer ...
The number of activations in that layer should be between the number of input neurons and
the number of output neurons. The midpoint between the two usually isn't a bad choice", and
beside it the rule ``N_h = N_s / (a (N_i + N_o))`` with ``a`` between 2 and 10.

A hidden block is ``Linear → [BatchNorm] → activation → [Dropout]``: batch norm sits between
the linear layer and the non-linearity (seed 004) and that linear layer has no bias, since
"b^[l] becomes redundant, the shift is absorbed by β^[l]" (seed 000). Dropout is inverted
dropout (seed 002: survivors scaled by 1/keep_prob, nothing dropped at evaluation), with
``dropout = 1 − keep_prob`` per hidden layer. The output layer emits logits; the task's
loss applies the sigmoid / softmax.

Categorical columns arrive inside ``x`` as float codes and are embedded with fastai's size
rule ``min(600, round(1.6 · n^0.56))`` for ``n`` categories; numeric columns pass through, or
through a numeric-feature embedding (piecewise-linear or periodic, Gorishniy et al. 2022):
the front end shared with `fullcycle.models.resnet`, in `fullcycle.models.embeddings`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from fullcycle.errors import FullcycleError
from fullcycle.models.embeddings import TabularNetwork, embedding_size
from fullcycle.models.init import init_for_activation, init_layer, warn_zeros

__all__ = ["ACTIVATIONS", "OUTPUT_WEIGHT_SCALE", "InitialArchitecture", "TabularMLP",
           "as_floats", "dropout_rates", "embedding_size", "init_output_bias",
           "init_output_layer", "initial_architecture", "midpoint_width", "output_layer",
           "prior_bias", "set_output_bias"]

ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": nn.LeakyReLU, "tanh": nn.Tanh,
                "sigmoid": nn.Sigmoid}


# Scale of the output layer's initial weights relative to the variance-1/n rule.
OUTPUT_WEIGHT_SCALE = 0.1


def midpoint_width(n_inputs: int, n_outputs: int) -> int:
    """The hidden width halfway between input and output sizes (seed 001), at least 1."""
    return max(1, round((n_inputs + n_outputs) / 2))


@dataclass(frozen=True)
class InitialArchitecture:
    """The seeds' starting architecture for a tabular problem, with the numbers behind it."""

    n_inputs: int
    n_outputs: int
    n_samples: int
    hidden: tuple[int, ...]
    rule_of_thumb: dict[int, float]  # a -> N_s / (a (N_i + N_o)), a = 2..10

    @property
    def reason(self) -> str:
        lo, hi = min(self.rule_of_thumb.values()), max(self.rule_of_thumb.values())
        return (
            f"one hidden layer of {self.hidden[0]} units, the midpoint between {self.n_inputs} "
            f"inputs and {self.n_outputs} outputs (seed 001); the rule N_s/(a(N_i+N_o)) gives "
            f"{lo:.1f} to {hi:.1f} for a = 10..2 with {self.n_samples} training examples"
        )

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["hidden"] = list(self.hidden)
        out["rule_of_thumb"] = {str(a): v for a, v in self.rule_of_thumb.items()}
        out["reason"] = self.reason
        return out


def initial_architecture(n_inputs: int, n_outputs: int, n_samples: int) -> InitialArchitecture:
    """One hidden layer at the midpoint width, and ``N_s / (a (N_i + N_o))`` for a = 2..10."""
    rule = {a: n_samples / (a * (n_inputs + n_outputs)) for a in range(2, 11)}
    return InitialArchitecture(n_inputs, n_outputs, n_samples,
                               (midpoint_width(n_inputs, n_outputs),), rule)


class TabularMLP(TabularNetwork):
    """Embeddings for categorical columns, then fully connected hidden layers, then logits.

    ``hidden=None`` is the seeds' single midpoint layer; ``hidden=[]`` is a linear model.
    ``dropout`` is one probability for every hidden layer or one per hidden layer (seed 001
    starts with 0.25 before the last linear layer only: ``[0, ..., 0.25]``).
    ``numeric_embedding`` (from `fullcycle.models.embeddings.numeric_embedding_spec`) embeds
    the numeric columns; None passes them through.
    """

    def __init__(self, n_inputs: int, n_outputs: int, hidden: Sequence[int] | None = None,
                 activation: str = "relu", init: str = "auto",
                 dropout: float | Sequence[float] = 0.0, batch_norm: bool = False,
                 categorical: Sequence[tuple[int, int]] = (),
                 output_bias: float | Sequence[float] | None = None,
                 numeric_embedding: dict | None = None,
                 with_output: bool = True) -> None:
        super().__init__()
        if activation not in ACTIVATIONS:
            raise FullcycleError(
                f"unknown activation {activation!r}; use one of: {', '.join(ACTIVATIONS)}"
            )
        if n_inputs < 1 or n_outputs < 1:
            raise FullcycleError("the network needs at least one input and one output column")
        categorical = [(int(c), int(k)) for c, k in categorical]
        width_in = self.build_inputs(n_inputs, categorical, numeric_embedding)
        hidden = [midpoint_width(width_in, n_outputs)] if hidden is None else list(hidden)
        if any(int(h) < 1 for h in hidden):
            raise FullcycleError(f"hidden sizes must be positive integers, got {hidden}")
        hidden = [int(h) for h in hidden]
        drops = dropout_rates(dropout, len(hidden))
        scheme = init_for_activation(activation) if init == "auto" else init
        self._config = {
            "n_inputs": n_inputs, "n_outputs": n_outputs, "hidden": hidden,
            "activation": activation, "init": init, "dropout": drops,
            "batch_norm": bool(batch_norm), "categorical": [list(c) for c in categorical],
            "output_bias": None if output_bias is None else as_floats(output_bias),
            "numeric_embedding": numeric_embedding,
        }
        if not with_output:  # a trunk inside a larger net (text + table), which has the head
            self._config["with_output"] = False
        blocks: list[nn.Module] = []
        width = width_in
        for size, p in zip(hidden, drops, strict=True):
            linear = nn.Linear(width, size, bias=not batch_norm)
            init_layer(linear, scheme, activation)
            blocks.append(linear)
            if batch_norm:
                blocks.append(nn.BatchNorm1d(size))
            blocks.append(ACTIVATIONS[activation]())
            if p > 0:
                blocks.append(nn.Dropout(p))
            width = size
        self.body = nn.Sequential(*blocks)
        self.out_features = width
        if not with_output:
            return
        self.output = nn.Linear(width, n_outputs)
        init_output_layer(self.output, scheme, activation)
        if scheme == "zeros":
            warn_zeros()
        if output_bias is not None:
            set_output_bias(self, as_floats(output_bias))

    @property
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the architecture, as JSON-able values."""
        return {k: (list(v) if isinstance(v, list) else v) for k, v in self._config.items()}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TabularMLP:
        """Rebuild from `config` (weights are loaded separately)."""
        cfg = dict(config)
        cfg["categorical"] = [tuple(c) for c in cfg.get("categorical", [])]
        return cls(**cfg)

    def forward(self, x: Tensor) -> Tensor:
        trunk = self.trunk(x)
        return self.output(trunk) if hasattr(self, "output") else trunk

    def trunk(self, x: Tensor) -> Tensor:
        """The hidden representation before the output layer (embedded, then the body)."""
        return self.body(self.encode(x))


def init_output_layer(layer: nn.Linear, scheme: str, activation: str) -> None:
    """Initialize the layer that emits the logits.

    No activation follows it, so the ReLU factor 2 of He does not apply: it gets the
    variance-1/n rule unless the user asked for small or zero weights. Logits of unit spread
    put the initial loss well above ln C (1.31 against 0.69 seen on a 4-unit binary net); a
    tenth of that spread starts the network at the output bias, i.e. the class prior
    (issue 4: built-in nets start well).
    """
    init_layer(layer, scheme if scheme in ("zeros", "small") else "xavier", activation)
    if scheme not in ("zeros", "small"):
        with torch.no_grad():
            layer.weight.mul_(OUTPUT_WEIGHT_SCALE)


def dropout_rates(dropout: float | Sequence[float], n_layers: int) -> list[float]:
    """One dropout probability per hidden layer, from one for all or one per layer."""
    drops = [float(dropout)] * n_layers if isinstance(dropout, int | float) \
        else [float(p) for p in dropout]
    if len(drops) != n_layers or any(not 0.0 <= p < 1.0 for p in drops):
        raise FullcycleError(
            f"dropout must be one probability in [0, 1) or one per hidden layer "
            f"({n_layers}), got {dropout}"
        )
    return drops


def as_floats(value: float | Sequence[float]) -> list[float]:
    """One number or several, as a list of floats (an output bias)."""
    return [float(value)] if isinstance(value, int | float) else [float(v) for v in value]


def output_layer(model: nn.Module) -> nn.Linear:
    """The layer that emits the logits: ``model.output``, or the last `nn.Linear`."""
    layer = getattr(model, "output", None)
    if isinstance(layer, nn.Linear):
        return layer
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    if not linears:
        raise FullcycleError("the model has no linear output layer to set a bias on")
    return linears[-1]


@torch.no_grad()
def set_output_bias(model: nn.Module, values: Sequence[float]) -> None:
    """Set the output layer's bias (one value, or one per output)."""
    layer = output_layer(model)
    if layer.bias is None:
        raise FullcycleError("the output layer has no bias; build it with bias=True")
    bias = torch.as_tensor(list(values), dtype=layer.bias.dtype)
    if bias.numel() not in (1, layer.bias.numel()):
        raise FullcycleError(
            f"output_bias has {bias.numel()} values for {layer.bias.numel()} outputs"
        )
    layer.bias.copy_(bias.expand_as(layer.bias))


def prior_bias(task: str, y_train: Any, n_outputs: int,
               heads: Sequence[tuple[str, int]] = ()) -> list[float]:
    """The output bias an uninformed model should have: the prior in logit space.

    Binary: ``log(p / (1 − p))``; multiclass: log class frequencies (softmax of them is the
    prior); multilabel: per-label log-odds over present labels; regression: the target mean.
    A model that starts at the prior starts at the majority-class / mean baseline instead of
    paying a large first loss on imbalanced data (Karpathy, "init well").
    """
    y = np.asarray(y_train.detach().cpu() if isinstance(y_train, Tensor) else y_train,
                   dtype=np.float64)
    eps = 1e-6
    if task == "multitask":
        columns = y.reshape(len(y), -1)
        values: list[float] = []
        for j, (head, width) in enumerate(heads):
            known = columns[~np.isnan(columns[:, j]), j]
            values += prior_bias(head, known if len(known) else np.zeros(1), width)
        if len(values) != n_outputs:
            raise FullcycleError(f"the heads take {len(values)} outputs, the model has "
                                 f"{n_outputs}")
        return values
    if task == "binary":
        p = float(np.clip(np.nanmean(y), eps, 1 - eps))
        return [math.log(p / (1 - p))] * n_outputs
    if task == "multiclass":
        counts = np.bincount(y.astype(np.int64).ravel(), minlength=n_outputs)[:n_outputs]
        freq = np.clip(counts / max(counts.sum(), 1), eps, None)
        return [float(v) for v in np.log(freq)]
    if task == "multilabel":
        p = np.clip(np.nan_to_num(np.nanmean(y.reshape(len(y), -1), axis=0), nan=0.5),
                    eps, 1 - eps)
        return [float(v) for v in np.log(p / (1 - p))]
    if task == "regression":
        means = np.nanmean(y.reshape(len(y), -1), axis=0)
        return [float(v) for v in np.broadcast_to(means, (n_outputs,))]
    raise FullcycleError(f"unknown task {task!r}; use regression, binary, multiclass or multilabel")


def init_output_bias(model: nn.Module, task: str, y_train: Any,
                     heads: Sequence[tuple[str, int]] = ()) -> list[float]:
    """Set the output bias to the training prior (see `prior_bias`); returns the values."""
    values = prior_bias(task, y_train, output_layer(model).out_features, heads)
    set_output_bias(model, values)
    return values
