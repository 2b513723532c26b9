"""Cost functions by task: step 1 of the six-step guide (seed 001).

"MSE for regression, binary cross-entropy for two classes, cross-entropy for more"; per-label
binary cross-entropy for multilabel (multi-task learning in seed 003), where a missing label
(NaN) is left out of the sum instead of being counted as a negative.

Every loss here takes the model's raw outputs (logits, never probabilities: the log-sum-exp
inside the torch losses is the numerically stable form) and returns the mean over examples.
For regression and binary tasks the model outputs shape ``(n, 1)`` and the target may be
``(n,)``; the losses reshape the target instead of silently broadcasting ``(n, 1) - (n,)``
into an ``(n, n)`` matrix.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

from fullcycle.errors import FullcycleError

LossFn = Callable[[Tensor, Tensor], Tensor]

TASKS = ("regression", "binary", "multiclass", "multilabel")


def _match(outputs: Tensor, targets: Tensor) -> Tensor:
    """Targets shaped like the outputs when they hold the same number of values."""
    if targets.shape != outputs.shape and targets.numel() == outputs.numel():
        targets = targets.reshape(outputs.shape)
    return targets.to(outputs.dtype)


def mse(outputs: Tensor, targets: Tensor) -> Tensor:
    """Mean squared error, the regression cost of seed 001."""
    return F.mse_loss(outputs, _match(outputs, targets))


def bce(outputs: Tensor, targets: Tensor) -> Tensor:
    """Binary cross-entropy on logits: ``-[y log σ(z) + (1-y) log(1-σ(z))]`` (seed 004)."""
    return F.binary_cross_entropy_with_logits(outputs, _match(outputs, targets))


def cross_entropy(outputs: Tensor, targets: Tensor) -> Tensor:
    """Softmax cross-entropy over C classes; targets are integer class codes."""
    if targets.dtype.is_floating_point:
        targets = targets.round()
    return F.cross_entropy(outputs, targets.reshape(-1).long())


def multilabel_bce(outputs: Tensor, targets: Tensor) -> Tensor:
    """Per-label binary cross-entropy, averaged over the labels that are present.

    A NaN target means "not labelled" (multi-task learning with partial labels, seed 003):
    it contributes neither loss nor gradient. A batch with no label at all gives a zero loss
    that still carries a (zero) gradient, so the loop's backward pass works unchanged.
    """
    targets = _match(outputs, targets)
    present = ~torch.isnan(targets)
    if not bool(present.any()):
        return outputs.sum() * 0.0
    losses = F.binary_cross_entropy_with_logits(
        outputs, torch.where(present, targets, torch.zeros_like(targets)), reduction="none"
    )
    return (losses * present).sum() / present.sum()


class MultiTaskLoss:
    """Several tasks on one trunk (seed 003): each head's loss on its labelled rows, summed.

    ``heads`` lists ``(task, width)`` per head, in the order of the model's outputs (a
    binary or regression head takes one output, a C-class head C). ``targets`` is an (n, T)
    matrix with one column per head (class codes as floats, NaN where that label is
    missing): a missing label contributes neither loss nor gradient, and a head with no
    label in the batch adds nothing. Each head's loss is its task's usual mean (MSE, BCE,
    softmax cross-entropy) over its labelled rows, so the sum weighs tasks equally.
    """

    def __init__(self, heads: list[tuple[str, int]]) -> None:
        if not heads:
            raise FullcycleError("a multi-task loss needs at least one head")
        for task, width in heads:
            if task not in ("regression", "binary", "multiclass") or width < 1:
                raise FullcycleError(f"a multi-task head is regression, binary or multiclass "
                                     f"with a positive width, got ({task!r}, {width})")
        self.heads = [(str(t), int(w)) for t, w in heads]
        self.width = sum(w for _, w in self.heads)

    def __call__(self, outputs: Tensor, targets: Tensor) -> Tensor:
        if outputs.ndim != 2 or outputs.shape[1] != self.width:
            raise FullcycleError(f"the model gives {tuple(outputs.shape)} outputs; the "
                                 f"{len(self.heads)} task heads need (n, {self.width})")
        targets = targets.reshape(len(outputs), -1)
        total = outputs.sum() * 0.0  # keeps a graph when no label is present at all
        start = 0
        for j, (task, width) in enumerate(self.heads):
            out = outputs[:, start : start + width]
            start += width
            present = ~torch.isnan(targets[:, j])
            if not bool(present.any()):
                continue
            y = targets[present, j]
            if task == "regression":
                total = total + mse(out[present], y)
            elif task == "binary":
                total = total + bce(out[present], y)
            else:
                total = total + cross_entropy(out[present], y)
        return total


LOSSES: dict[str, LossFn] = {
    "mse": mse,
    "bce": bce,
    "cross_entropy": cross_entropy,
    "multilabel_bce": multilabel_bce,
}

_TASK_LOSS = {
    "regression": "mse",
    "binary": "bce",
    "multiclass": "cross_entropy",
    "multilabel": "multilabel_bce",
}

_LOSS_TASK = {loss: task for task, loss in _TASK_LOSS.items()}


def loss_for_task(task: str) -> str:
    """The name of the seeds' cost function for a task (``"binary"`` -> ``"bce"``)."""
    if task not in _TASK_LOSS:
        raise FullcycleError(f"unknown task {task!r}; use one of: {', '.join(TASKS)}")
    return _TASK_LOSS[task]


def task_for_loss(loss: str | LossFn) -> str | None:
    """The task a built-in loss name implies, or None for a user's own loss."""
    return _LOSS_TASK.get(loss) if isinstance(loss, str) else None


def get_loss(loss: str | LossFn) -> LossFn:
    """A loss function from its name, or the user's own callable ``loss(outputs, targets)``."""
    if callable(loss):
        return loss
    if loss not in LOSSES:
        raise FullcycleError(
            f"unknown loss {loss!r}; use one of: {', '.join(LOSSES)}, or pass a callable"
        )
    return LOSSES[loss]
