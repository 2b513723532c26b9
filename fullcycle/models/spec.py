"""A user's own `nn.Sequential` of torch.nn layers, described as JSON and rebuilt from it.

A bundle must never execute code or unpickle when it is loaded, so a network is stored as
data: for the built-in nets their config; for an ``nn.Sequential`` the list of its layers,
each a torch.nn class name from the allow-list below and the constructor arguments read
back from the layer (``nn.Linear(4, 8)`` is ``{"type": "Linear", "args": {"in_features": 4,
"out_features": 8, "bias": true}}``). Loading looks each name up in that list — never an
import path — and calls the constructor. Describing checks itself: the rebuilt network
must print (``repr``) and hold tensors exactly like the original, or the model is refused
with the way out (a registered architecture).
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from fullcycle.errors import FullcycleError

# Layers whose constructor arguments are all readable back as attributes of the same name.
SAFE_LAYERS: dict[str, type[nn.Module]] = {cls.__name__: cls for cls in (
    nn.Linear, nn.Bilinear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d,
    nn.ConvTranspose2d, nn.MaxPool1d, nn.MaxPool2d, nn.AvgPool1d, nn.AvgPool2d,
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d,
    nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
    nn.InstanceNorm1d, nn.InstanceNorm2d, nn.Dropout, nn.Dropout1d, nn.Dropout2d,
    nn.AlphaDropout, nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU,
    nn.GELU, nn.SiLU, nn.Mish, nn.Tanh, nn.Sigmoid, nn.Hardtanh, nn.Hardswish,
    nn.Hardsigmoid, nn.Softplus, nn.Softsign, nn.Softmax, nn.LogSoftmax, nn.Identity,
    nn.Flatten, nn.Unflatten, nn.Embedding,
)}
_SKIPPED_ARGS = {"self", "device", "dtype"}


def describe(model: nn.Sequential) -> list[dict[str, Any]]:
    """The JSON description of ``model``'s layers; refuses what it cannot describe exactly."""
    layers = [_describe_layer(name, layer) for name, layer in model.named_children()]
    rebuilt = build(layers)
    same_tensors = ({k: tuple(v.shape) for k, v in rebuilt.state_dict().items()}
                    == {k: tuple(v.shape) for k, v in model.state_dict().items()})
    if repr(rebuilt) != repr(model) or not same_tensors:
        raise FullcycleError(
            "this nn.Sequential cannot be described exactly from its layers' settings; "
            "give the module .config and from_config() and register it with "
            "fullcycle.models.bundle.register_architecture"
        )
    return layers


def _describe_layer(name: str, layer: nn.Module) -> dict[str, Any]:
    kind = type(layer).__name__
    if type(layer) is nn.Sequential:
        return {"name": name, "type": "Sequential",
                "layers": [_describe_layer(n, child) for n, child in layer.named_children()]}
    if SAFE_LAYERS.get(kind) is not type(layer):
        raise FullcycleError(
            f"layer {name!r} is a {kind}, which a bundle cannot rebuild without running your "
            "code; use torch.nn layers only (Linear, Conv2d, ReLU, Dropout, BatchNorm1d, ...), "
            "or give your module .config and from_config() and register it with "
            "fullcycle.models.bundle.register_architecture"
        )
    args: dict[str, Any] = {}
    for param in inspect.signature(type(layer).__init__).parameters.values():
        if param.name in _SKIPPED_ARGS or param.name.startswith("_") or param.kind in (
                param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        if param.name == "bias" and isinstance(param.default, bool):
            value: Any = getattr(layer, "bias", None) is not None
        elif hasattr(layer, param.name):
            value = getattr(layer, param.name)
        elif param.default is not param.empty:
            continue
        else:
            raise FullcycleError(f"layer {name!r} ({kind}): its {param.name} cannot be read "
                                 "back; register the module's architecture instead")
        args[param.name] = _json_value(value, name, kind, param.name)
    return {"name": name, "type": kind, "args": args}


def _json_value(value: Any, layer: str, kind: str, arg: str) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, tuple | list) and all(isinstance(v, int | float) for v in value):
        return list(value)
    raise FullcycleError(f"layer {layer!r} ({kind}): {arg}={value!r} is not plain data; "
                         "register the module's architecture instead")


def build(layers: list[dict[str, Any]]) -> nn.Sequential:
    """The `nn.Sequential` a `describe` list stands for (names from `SAFE_LAYERS` only)."""
    if not isinstance(layers, list):
        raise FullcycleError("the Sequential architecture is not a list of layers")
    model = nn.Sequential()
    for layer in layers:
        if not isinstance(layer, dict) or "type" not in layer:
            raise FullcycleError("a layer of the Sequential architecture has no 'type'")
        name = str(layer.get("name", len(model)))
        if layer["type"] == "Sequential":
            model.add_module(name, build(layer.get("layers", [])))
            continue
        cls = SAFE_LAYERS.get(layer["type"])
        if cls is None:
            raise FullcycleError(f"layer type {layer['type']!r} is not one a bundle may build")
        args = {k: tuple(v) if isinstance(v, list) else v
                for k, v in (layer.get("args") or {}).items()}
        try:
            model.add_module(name, cls(**args))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise FullcycleError(f"layer {name!r} ({layer['type']}) cannot be built from "
                                 f"{args}: {exc}") from None
    return model


class SequentialArchitecture:
    """The bundle registry's entry for ``nn.Sequential``: ``from_config({"layers": [...]})``."""

    @staticmethod
    def from_config(config: dict[str, Any]) -> nn.Sequential:
        return build(config["layers"])
