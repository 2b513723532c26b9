"""Weight initializers, chosen from the activation function.

The seeds (000, 002, 003) give the rules, each a zero-mean Gaussian scaled by the number of
units feeding the layer, ``n^[l-1]`` (the fan-in):

=========  ===================================  =====================================
``he``     ``W = randn · √(2 / n^[l-1])``        ReLU family (He et al., 2015)
``xavier`` ``W = randn · √(1 / n^[l-1])``        tanh / sigmoid (seed 003's "Xavier")
``small``  ``W = randn · 0.01``                  seed 003's first random initialization
``zeros``  ``W = 0``                             breaks nothing but symmetry (seed 002)
=========  ===================================  =====================================

The seeds' "Xavier" is the fan-in variant (variance 1/n); Glorot's paper averages fan-in and
fan-out, which is the same for square layers. For leaky ReLU the He variance becomes
``2 / ((1 + a²) n)`` with ``a`` the negative slope. Biases start at zero: the random weights
already break the symmetry between units.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from fullcycle.errors import FullcycleError

INITS = ("auto", "he", "xavier", "small", "zeros")
ACTIVATIONS = ("relu", "leaky_relu", "tanh", "sigmoid")
LEAKY_SLOPE = 0.01  # torch's default negative slope


def init_for_activation(activation: str) -> str:
    """The seeds' initializer for an activation: He for the ReLU family, Xavier otherwise."""
    if activation not in ACTIVATIONS:
        raise FullcycleError(
            f"unknown activation {activation!r}; use one of: {', '.join(ACTIVATIONS)}"
        )
    return "he" if activation in ("relu", "leaky_relu") else "xavier"


def init_std(scheme: str, fan_in: int, activation: str = "relu") -> float:
    """The standard deviation of a layer's weights under ``scheme`` (0 for ``zeros``)."""
    if scheme == "he":
        slope = LEAKY_SLOPE if activation == "leaky_relu" else 0.0
        return math.sqrt(2.0 / ((1.0 + slope**2) * fan_in))
    if scheme == "xavier":
        return math.sqrt(1.0 / fan_in)
    if scheme == "small":
        return 0.01
    if scheme == "zeros":
        return 0.0
    raise FullcycleError(f"unknown init {scheme!r}; use one of: {', '.join(INITS)}")


def warn_zeros() -> None:
    """Zeros make every unit of a layer compute the same thing forever (seed 002)."""
    warnings.warn(
        "init='zeros' sets every weight to 0: all units in a layer get the same gradient and "
        "stay identical (the symmetry problem); use init='auto' (He for ReLU, Xavier for tanh)",
        UserWarning,
        stacklevel=3,
    )


@torch.no_grad()
def init_layer(layer: nn.Linear, scheme: str, activation: str = "relu") -> None:
    """Initialize one linear layer's weights by ``scheme`` and its bias to zero."""
    std = init_std(scheme, layer.in_features, activation)
    if std == 0.0:
        layer.weight.zero_()
    else:
        layer.weight.normal_(0.0, std)
    if layer.bias is not None:
        layer.bias.zero_()


def initialize(model: nn.Module, scheme: str = "auto", activation: str = "relu") -> str:
    """Initialize every `nn.Linear` in ``model``; returns the scheme used.

    ``auto`` picks the seeds' rule for ``activation``. Use `init_layer` to treat an output
    layer differently (it is not followed by the activation).
    """
    if scheme == "auto":
        scheme = init_for_activation(activation)
    if scheme == "zeros":
        warn_zeros()
    for module in model.modules():
        if isinstance(module, nn.Linear):
            init_layer(module, scheme, activation)
    return scheme
