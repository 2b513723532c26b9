"""Where training runs, and in which precision.

``device="auto"`` takes the GPU when PyTorch sees one and the CPU otherwise. Mixed precision
follows PyTorch's AMP recipe: ``bf16`` autocast needs no loss scaling (same exponent range as
float32); ``fp16`` autocast needs a `GradScaler`, which multiplies the loss before backward so
that small gradients do not underflow to zero in half precision, and unscales them before
clipping and the optimizer step.
"""

from __future__ import annotations

import contextlib
from typing import Any

import torch

from fullcycle.errors import FullcycleError

PRECISIONS = (None, "32", "bf16", "fp16")


def resolve_device(spec: str | torch.device | None = "auto") -> torch.device:
    """A `torch.device` from ``"auto"``, ``"cpu"``, ``"cuda"``, ``"cuda:1"`` or a device."""
    if isinstance(spec, torch.device):
        return spec
    if spec in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(str(spec))
    except RuntimeError as exc:
        raise FullcycleError(f"unknown device {spec!r}; use auto, cpu or cuda") from exc
    if device.type == "cuda" and not torch.cuda.is_available():
        raise FullcycleError(f"device {spec!r} asked for but PyTorch sees no GPU; use auto or cpu")
    return device


def check_precision(precision: str | None) -> str | None:
    """Validate a precision name; ``None`` and ``"32"`` both mean float32."""
    if precision not in PRECISIONS:
        raise FullcycleError(f"unknown precision {precision!r}; use 32, bf16 or fp16")
    return None if precision == "32" else precision


def autocast(device: torch.device, precision: str | None) -> Any:
    """The autocast context for a precision (a no-op context for float32)."""
    if precision is None:
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, precision: str | None) -> torch.amp.GradScaler | None:
    """A loss scaler for fp16 (None otherwise)."""
    if precision != "fp16":
        return None
    return torch.amp.GradScaler(device.type)
