"""Where training runs, and in which precision.

``device="auto"`` takes the GPU when PyTorch sees one and the CPU otherwise. Mixed precision
follows PyTorch's AMP recipe: ``bf16`` autocast needs no loss scaling (same exponent range as
float32); ``fp16`` autocast needs a `GradScaler`, which multiplies the loss before backward so
that small gradients do not underflow to zero in half precision, and unscales them before
clipping and the optimizer step.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

import torch

from fullcycle.engine.events import Callback
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
    """One thread for a small model's steps on the CPU, the default otherwise.

    Weights × batch counts a convolution's multiply-adds once per output position too few,
    so the first ResNet for pictures (77k weights) gets one thread as well — which is the
    measured choice on a shared machine: 556 against 92 pictures/s with two threads at load
    2.5 on 2 cores (28×28 pictures, batch 64); see also `machine_is_busy`.
    """
    macs = batch_size * sum(p.numel() for p in model.parameters() if p.dim() > 1)
    return 1 if macs < SMALL_STEP_MACS else None


def machine_is_busy() -> bool:
    """True when other processes hold the cores (load average ≥ cores − 1, several cores).

    Threads of one convolution wait on each other at every operation; when other processes
    hold the cores they wait long: a ResNet step on 28×28 pictures measured 42 pictures/s
    with two threads against 129 with one at load 8 on 2 cores (714 against 459 on the idle
    machine, where the second thread helps). Training and evaluating pictures then use one.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    return cores > 1 and os.getloadavg()[0] >= cores - 1 and torch.get_num_threads() > 1


@contextlib.contextmanager
def fewer_threads_when_busy() -> Iterator[None]:
    """One intra-op thread inside the block while the machine is busy (`machine_is_busy`)."""
    before = torch.get_num_threads()
    if machine_is_busy():
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


class BusyMachineThreads(Callback):
    """`fewer_threads_when_busy` around a fit, written down as a decision."""

    def __init__(self) -> None:
        self.before: int | None = None

    def before_fit(self, loop: Any) -> None:
        if machine_is_busy():
            self.before = torch.get_num_threads()
            torch.set_num_threads(1)
            loop.record_decision("threads", f"load average {os.getloadavg()[0]:.1f}",
                                 "train with one thread", "threads of one operation wait on "
                                 "each other when other processes hold the cores")

    def after_fit(self, loop: Any) -> None:
        if self.before is not None:
            torch.set_num_threads(self.before)
            self.before = None


class ChannelsLast(Callback):
    """Trains convolutions in channels-last memory order (NHWC), the layout oneDNN's CPU
    kernels and cuDNN's tensor cores are fastest in (PyTorch's channels-last tutorial):
    measured 15-35% more pictures/s for the first ResNet on one CPU thread. The network is
    put back in the ordinary layout after the fit (safetensors saves contiguous tensors)."""

    order = -40  # after `Augment` (-50): kornia gets the ordinary layout

    def before_fit(self, loop: Any) -> None:
        loop.model.to(memory_format=torch.channels_last)

    def before_batch(self, loop: Any) -> None:
        x, *rest = loop.batch
        if x.ndim == 4:
            loop.batch = (x.contiguous(memory_format=torch.channels_last), *rest)

    def after_fit(self, loop: Any) -> None:
        loop.model.to(memory_format=torch.contiguous_format)
