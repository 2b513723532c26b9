"""What every sanity check shares: the result type, batches, losses, and a tiny trainer.

A check works on any ``nn.Module``. A batch is ``(x, y)`` or ``(*inputs, y)`` (the model is
called as ``model(*inputs)``, as everywhere in fullcycle), given as tensors or arrays, or a
DataLoader from which the first rows are taken. The checks never train the user's model:
anything that takes an optimizer step works on a deep copy, so running them leaves the
model, its buffers and its ``.grad`` fields exactly as they were.

The optimisation steps the checks need are written here with ``torch.optim`` directly
rather than through the engine's loop, so that they stay small, fast and usable on any
module (the checks sit below the recipe and must not depend on the training loop).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import torch
from torch import Tensor, nn

from fullcycle.engine.losses import LossFn, get_loss
from fullcycle.errors import FullcycleError

Status = Literal["pass", "warn", "fail"]
Inputs = tuple[Tensor, ...]

_DROPOUT = (nn.modules.dropout._DropoutNd,)
_BATCH_NORM = (nn.modules.batchnorm._BatchNorm,)


@dataclass
class CheckResult:
    """The verdict of one check: ``status`` is ``"pass"``, ``"warn"`` or ``"fail"``,
    ``value`` the number behind it, ``message`` what was seen and, unless it passed, the fix.
    ``details`` holds the check's own numbers (per layer, per parameter) for reports."""

    name: str
    status: Status
    value: float | None
    message: str
    details: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        value = "" if self.value is None else f", value {self.value:.4g}"
        message = self.message if len(self.message) <= 70 else self.message[:69] + "…"
        more = f", details: {', '.join(self.details)}" if self.details else ""
        return f"CheckResult({self.name}: {self.status}{value}, {message!r}{more})"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready form: ``{"name", "status", "value", "message", "details"}``."""
        value = self.value
        if value is not None and not math.isfinite(value):
            value = None
        return {"name": self.name, "status": self.status, "value": value,
                "message": self.message, "details": self.details}


def as_tensor(array: Any) -> Tensor:
    """A tensor from a tensor, NumPy array or nested list (float64 arrays become float32)."""
    if isinstance(array, Tensor):
        return array
    arr = np.asarray(array)
    if arr.dtype == np.float64:
        arr = arr.astype(np.float32)
    if arr.dtype == object:
        raise FullcycleError("a batch column holds non-numeric values; encode it first "
                             "(fc.prepare does this for tables)")
    return torch.from_numpy(np.ascontiguousarray(arr))


def as_batch(data: Any, max_rows: int | None = None) -> tuple[Inputs, Tensor]:
    """``(inputs, target)`` from ``(x, y)``, ``(*inputs, y)`` or a DataLoader.

    From a DataLoader, batches are concatenated until ``max_rows`` rows are gathered.
    """
    if isinstance(data, torch.utils.data.DataLoader):
        parts: list[Sequence[Tensor]] = []
        rows = 0
        for batch in data:
            parts.append(tuple(as_tensor(t) for t in batch))
            rows += len(parts[-1][0])
            if max_rows is not None and rows >= max_rows:
                break
        if not parts:
            raise FullcycleError("the DataLoader yielded no batch; give the checks some data")
        data = tuple(torch.cat(cols) for cols in zip(*parts, strict=True))
    if not isinstance(data, tuple | list) or len(data) < 2:
        raise FullcycleError("a batch must be (x, y) or (*inputs, y); got "
                             f"{type(data).__name__}")
    tensors = tuple(as_tensor(t) for t in data)
    n = len(tensors[0])
    if n == 0:
        raise FullcycleError("the batch is empty; give the checks at least a few rows")
    if any(len(t) != n for t in tensors):
        raise FullcycleError("inputs and target hold different numbers of rows; align them")
    if max_rows is not None and n > max_rows:
        tensors = tuple(t[:max_rows] for t in tensors)
    return tensors[:-1], tensors[-1]


def take(inputs: Inputs, y: Tensor, index: Tensor) -> tuple[Inputs, Tensor]:
    """The rows ``index`` of every input and of the target."""
    return tuple(t[index] for t in inputs), y[index]


def subsample(inputs: Inputs, y: Tensor, n: int, seed: int = 0) -> tuple[Inputs, Tensor]:
    """At most ``n`` rows drawn without replacement (all rows when there are fewer)."""
    if len(y) <= n:
        return inputs, y
    generator = torch.Generator().manual_seed(seed)
    return take(inputs, y, torch.randperm(len(y), generator=generator)[:n])


def batch_for(model: nn.Module, data: Any, n: int, seed: int = 0) -> tuple[Inputs, Tensor]:
    """At most ``n`` rows of ``data`` (drawn with ``seed``), on the model's device."""
    inputs, y = subsample(*as_batch(data), n, seed)
    return to_device(inputs, y, device_of(model))


def resolve_loss(loss: str | LossFn) -> LossFn:
    """A loss function from a built-in name (``"mse"``, ``"bce"``, ...) or a callable."""
    return get_loss(loss)


def forward(model: nn.Module, inputs: Inputs) -> Tensor:
    """``model(*inputs)``; a tuple/list output gives its first tensor (e.g. logits, aux)."""
    out = model(*inputs)
    if isinstance(out, tuple | list):
        out = out[0]
    if not isinstance(out, Tensor):
        raise FullcycleError(f"the model returned {type(out).__name__}, not a tensor; "
                             "return the predictions (or a tuple whose first item they are)")
    return out


def device_of(model: nn.Module) -> torch.device:
    """Where the model's parameters live (CPU for a parameterless model)."""
    for p in model.parameters():
        return p.device
    return torch.device("cpu")


def to_device(inputs: Inputs, y: Tensor, device: torch.device) -> tuple[Inputs, Tensor]:
    return tuple(t.to(device) for t in inputs), y.to(device)


def to_float64(inputs: Inputs, y: Tensor) -> tuple[Inputs, Tensor]:
    """Floating inputs and target in float64; integer ones (class codes, token ids) kept."""
    def cast(t: Tensor) -> Tensor:
        return t.double() if t.is_floating_point() else t

    return tuple(cast(t) for t in inputs), cast(y)


def dropout_off(model: nn.Module) -> nn.Module:
    """Put every dropout layer in eval mode (identity); other layers keep their mode."""
    for module in model.modules():
        if isinstance(module, _DROPOUT):
            module.eval()
    return model


def batch_norm_frozen(model: nn.Module) -> nn.Module:
    """Put every batch-norm layer in eval mode, so it uses running statistics."""
    for module in model.modules():
        if isinstance(module, _BATCH_NORM):
            module.eval()
    return model


def trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    """Named parameters that require a gradient, each tensor once (tied weights once)."""
    seen: set[int] = set()
    out = []
    for name, p in model.named_parameters():
        if p.requires_grad and id(p) not in seen:
            seen.add(id(p))
            out.append((name, p))
    return out


def clone_model(model: nn.Module) -> nn.Module:
    """A deep copy to train or mutate, so the user's model is never touched."""
    return copy.deepcopy(model)


def infer_task(y: Tensor, out: Tensor) -> str:
    """A best guess at the task from the target and output shapes, for user models."""
    if y.ndim == 2 and y.shape[1] > 1 and y.is_floating_point():
        return "multilabel"
    if not y.is_floating_point():
        return "multiclass" if out.ndim == 2 and out.shape[1] > 1 else "binary"
    finite = y[torch.isfinite(y)]
    if finite.numel() and bool(((finite == 0) | (finite == 1)).all()):
        return "multiclass" if out.ndim == 2 and out.shape[1] > 2 else "binary"
    return "regression"


def minibatches(n: int, batch_size: int, generator: torch.Generator) -> Iterator[Tensor]:
    """Row indices of shuffled mini-batches, reshuffled at every pass, without end.

    A last batch of a single row is skipped (when there are more rows): batch norm cannot
    normalize one example in training mode, and one row is all noise anyway.
    """
    while True:
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            index = order[start:start + batch_size]
            if len(index) > 1 or n == 1:
                yield index


def short_training(model: nn.Module, inputs: Inputs, y: Tensor, loss_fn: LossFn, *,
                   steps: int, lr: float, batch_size: int, seed: int = 0,
                   stop: Callable[[int, float], bool] | None = None) -> list[float]:
    """Train ``model`` in place with Adam for at most ``steps`` mini-batch steps.

    Returns the training loss of every step. ``stop(step, loss)`` ends training early when
    it returns True. A non-finite loss ends training.
    The caller sets the model's mode (e.g. train mode with dropout off).
    """
    optimizer = torch.optim.Adam([p for _, p in trainable(model)], lr=lr)
    generator = torch.Generator().manual_seed(seed)
    batches = minibatches(len(y), batch_size, generator)
    history: list[float] = []
    for step in range(1, steps + 1):
        xb, yb = take(inputs, y, next(batches))
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(forward(model, xb), yb)
        value = float(loss.detach())
        history.append(value)
        if not math.isfinite(value):
            break
        if stop is not None and stop(step, value):
            break
        loss.backward()
        optimizer.step()
    return history


@torch.no_grad()
@torch.no_grad()
def row_losses(model: nn.Module, inputs: Inputs, y: Tensor, loss_fn: LossFn,
               batch_size: int = 1024) -> np.ndarray:
    """Each row's loss in eval mode (the loss function called on one row at a time, so any
    loss that averages over a batch gives its per-row value)."""
    was_training = model.training
    model.eval()
    out = []
    for start in range(0, len(y), batch_size):
        xb = tuple(t[start:start + batch_size] for t in inputs)
        yb = y[start:start + batch_size]
        predicted = forward(model, xb)
        out += [float(loss_fn(predicted[i:i + 1], yb[i:i + 1])) for i in range(len(yb))]
    model.train(was_training)
    return np.asarray(out)


@torch.no_grad()
def evaluate_loss(model: nn.Module, inputs: Inputs, y: Tensor, loss_fn: LossFn,
                  batch_size: int = 1024) -> float:
    """The loss over all rows in eval mode, averaged by rows (mini-batched for memory)."""
    was_training = model.training
    model.eval()
    total, n = 0.0, len(y)
    for start in range(0, n, batch_size):
        xb = tuple(t[start:start + batch_size] for t in inputs)
        yb = y[start:start + batch_size]
        total += float(loss_fn(forward(model, xb), yb)) * len(yb)
    model.train(was_training)
    return total / n
