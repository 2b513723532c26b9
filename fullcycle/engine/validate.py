"""`fit`'s checks at the door: the data and the model's outputs, before any step is taken.

What users get wrong on the first call would otherwise surface deep inside torch, or worse,
as a training failure: an infinite value in X makes the loss NaN, the NaN guard lowers the
rate three times and `TrainingDiverged` blames the learning rate. So before training:

* inputs hold no NaN / inf (named: how many, the first row and column);
* one forward pass on the first batch (evaluation mode, no gradient, so no weights, batch
  norm statistics or random state change) shows what the model returns: a tensor, with as
  many outputs per example as the loss needs, and labels that fit it (class codes
  0..C-1 for softmax cross-entropy, 0/1 for binary cross-entropy);
* with a user's own loss and a metric name, that batch also tells the task the metric
  needs (width 1: binary; C columns and integer labels: multiclass; labels shaped like the
  outputs: multilabel), so ``metric="accuracy"`` works without ``task=``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn
from torch.utils.data import IterableDataset

from fullcycle import metrics as M
from fullcycle.engine.batches import Batch, InMemoryBatches, LoaderBatches
from fullcycle.errors import FullcycleError

Data = InMemoryBatches | LoaderBatches


def check_values(data: Data, name: str, loss: Any) -> None:
    """Refuse NaN / inf in the inputs, and in the targets unless the loss reads NaN as
    a missing label (``multilabel_bce``) or is the user's own."""
    if not isinstance(data, InMemoryBatches):
        return  # a loader's data is read lazily; the NaN guard catches what it yields
    *inputs, y = data.tensors
    for i, t in enumerate(inputs):
        what = f"{name} inputs" if len(inputs) == 1 else f"{name} input {i + 1}"
        _refuse_non_finite(t, what, "replace or drop them (np.nan_to_num, or fc.prepare, "
                                    "which imputes them) — one makes every loss NaN")
    if y.dtype.is_floating_point:
        allow_nan = loss == "multilabel_bce" or callable(loss)
        _refuse_non_finite(y, f"{name} targets", "drop those rows"
                           + ("" if allow_nan else " (only multilabel_bce reads NaN as a "
                              "missing label)"), allow_nan=allow_nan)


def _refuse_non_finite(t: Tensor, what: str, fix: str, allow_nan: bool = False) -> None:
    if not t.dtype.is_floating_point:
        return
    bad = torch.isinf(t) if allow_nan else ~torch.isfinite(t)
    count = int(bad.sum())
    if not count:
        return
    first = [int(i) for i in torch.nonzero(bad)[0]]
    where = f"row {first[0]}" + (f", column {first[1]}" if len(first) > 1 else "")
    infinite = int(torch.isinf(t).sum())
    kind = "infinite" if infinite == count else ("NaN" if infinite == 0 else "NaN or infinite")
    raise FullcycleError(f"{what} hold {count} {kind} value(s) (first at {where}); {fix}")


def first_batch(data: Data) -> Batch | None:
    """The first training batch without shuffling (None for a one-shot iterable loader).

    A shuffling DataLoader without its own generator draws its order from torch's global
    RNG; the draw is made on a fork of it, so `fit` still leaves that RNG as it found it.
    """
    if isinstance(data, InMemoryBatches):
        return tuple(t[: data.batch_size] for t in data.tensors)
    if isinstance(data, LoaderBatches) and isinstance(data.loader.dataset, IterableDataset):
        return None  # (a stream, `StreamBatches`, gives its first batch again on each pass)
    with torch.random.fork_rng(devices=[]):
        return next(iter(data.batches()), None)


@torch.no_grad()
def probe_outputs(model: nn.Module, batch: Batch) -> Tensor:
    """The model's outputs on ``batch`` in evaluation mode, checked to be one tensor."""
    *inputs, _ = batch
    was_training = model.training
    model.eval()
    try:
        with torch.random.fork_rng(devices=[]):  # a forward that samples leaves no trace
            outputs = model(*inputs)
    finally:
        model.train(was_training)
    if isinstance(outputs, Tensor):
        return outputs
    if isinstance(outputs, dict):
        keys = ", ".join(map(str, outputs))
        raise FullcycleError(
            f"the model returned a dict (keys {keys}); fc.fit needs one tensor of outputs: "
            "return e.g. outputs['logits'] from forward (or wrap the model in a module "
            "that does)"
        )
    kind = (f"a {type(outputs).__name__} of {len(outputs)}"
            if isinstance(outputs, tuple | list) else f"a {type(outputs).__name__}")
    raise FullcycleError(f"the model returned {kind}; fc.fit needs one tensor of outputs: "
                         "return the prediction tensor alone from forward")


def infer_task(outputs: Tensor, y: Tensor, metric: str) -> str:
    """The task a metric name implies for these outputs and labels (see module docstring)."""
    if metric in M.REGRESSION:
        return "regression"
    width = outputs.shape[-1] if outputs.ndim >= 2 else 1
    if width == 1:
        return "binary"
    if y.shape == outputs.shape:
        return "multilabel"
    return "multiclass"


def check_targets(outputs: Tensor, data: Data, name: str, loss: Any, first: Batch) -> None:
    """Targets that fit the built-in loss and the model's output width."""
    if not isinstance(loss, str):
        return
    y = data.tensors[-1] if isinstance(data, InMemoryBatches) else first[-1]
    if len(y) == 0 or (y.dtype.is_floating_point and loss != "multilabel_bce"
                       and bool(torch.isnan(y).any())):
        return
    per_example = outputs[0].numel() if len(outputs) else 0
    if loss == "cross_entropy":
        classes = outputs.shape[-1] if outputs.ndim >= 2 else 1
        low, high = int(y.min()), int(y.max())
        if low < 0 or high >= classes:
            if low == 1 and high == classes:
                fix = "shift them: y - 1"
            elif high >= classes and low >= 0:
                fix = (f"give the last layer {high + 1} outputs, or recode the labels to "
                       f"0..{classes - 1}")
            else:
                fix = "recode them, e.g. codes = np.unique(y, return_inverse=True)[1]"
            raise FullcycleError(
                f"{name} labels run from {low} to {high} but the model has {classes} outputs "
                f"(class codes 0..{classes - 1}); {fix}"
            )
        return
    if loss in ("bce", "mse"):
        labels = y[0].numel() if y.ndim > 1 else 1
        if per_example != labels:
            raise FullcycleError(
                f"the model gives {per_example} output(s) per example but the {name} targets "
                f"hold {labels}; give the last layer {labels} output(s)"
                + (" (or use loss='cross_entropy' for classes)" if loss == "bce" else "")
            )
    if loss in ("bce", "multilabel_bce"):
        known = y[~torch.isnan(y)] if y.dtype.is_floating_point else y
        if len(known) and (float(known.min()) < 0 or float(known.max()) > 1):
            raise FullcycleError(
                f"{loss} needs targets between 0 and 1, but the {name} targets run between "
                f"{_num(known.min())} and {_num(known.max())}; recode them to 0/1 "
                "(e.g. y == positive_label)"
            )


def _num(value: Tensor) -> str:
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:.4g}"


def check_fit_data(model: nn.Module, train: Data, dev: Data | None, *, loss: Any,
                   task: str | None, metric: str | Callable[..., float] | None) -> str | None:
    """Every check above; returns the task (inferred when a metric name needs one)."""
    check_values(train, "train", loss)
    if dev is not None:
        check_values(dev, "dev", loss)
    batch = first_batch(train)
    if batch is None:
        if isinstance(metric, str) and task is None:
            raise FullcycleError(_NEEDS_TASK.format(metric=metric))
        return task
    outputs = probe_outputs(model, batch)
    check_targets(outputs, train, "train", loss, batch)
    if dev is not None and isinstance(dev, InMemoryBatches):
        check_targets(outputs, dev, "dev", loss, batch)
    if isinstance(metric, str) and task is None:
        task = infer_task(outputs, batch[-1], metric)
    return task


_NEEDS_TASK = ("metric {metric!r} with your own loss needs task=: pass task='binary', "
               "'multiclass', 'multilabel' or 'regression'")
