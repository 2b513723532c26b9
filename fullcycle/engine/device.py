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


#: Multiply-adds per training step below which one CPU thread beats several: intra-op
#: threads synchronise on every small matrix product, which costs more than it saves on
#: small nets, and on a busy machine far more (a 2-unit net's epoch measured 3x slower with
#: two threads at load 10, a 256x256 one 20x).
SMALL_STEP_MACS = 2e7


@contextlib.contextmanager
def cpu_threads(n: int | None) -> Any:
    """Run the block with `n` intra-op CPU threads (None: leave the setting alone)."""
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def threads_for(model: torch.nn.Module, batch_size: int) -> int | None:
    """One thread for a small model's steps on the CPU, the default otherwise."""
    macs = batch_size * sum(p.numel() for p in model.parameters() if p.dim() > 1)
    return 1 if macs < SMALL_STEP_MACS else None
