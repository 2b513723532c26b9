"""Outputs, loss, metric and error of a model on a data set, in evaluation mode.

Evaluation switches the model to ``eval()`` (dropout off, batch norm on its running
averages: seed 002 "at test time, we don't use dropout") and back to the mode it was in.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from fullcycle import metrics as M
from fullcycle.engine.batches import InMemoryBatches, LoaderBatches, make_batches
from fullcycle.engine.device import autocast, resolve_device
from fullcycle.engine.losses import LossFn, get_loss

EVAL_BATCH = 4096  # no gradients are kept, so evaluation can take much larger batches


@torch.no_grad()
def outputs_and_targets(model: nn.Module, batches: InMemoryBatches | LoaderBatches,
                        precision: str | None = None) -> tuple[Tensor, Tensor]:
    """Concatenated float32 outputs and the targets, on the model's device."""
    was_training = model.training
    model.eval()
    device = batches.device
    outs, ys = [], []
    try:
        with autocast(device, precision):
            for *inputs, y in batches.batches():
                outs.append(model(*inputs).float())
                ys.append(y)
    finally:
        model.train(was_training)
    return torch.cat(outs), torch.cat(ys)


def evaluate(model: nn.Module, data: Any, *, loss: str | LossFn | None = None,
             task: str | None = None, metric: str | Callable[..., float] | None = None,
             batch_size: int = EVAL_BATCH, device: str | torch.device | None = None,
             precision: str | None = None) -> dict[str, float]:
    """``{"loss", "metric", "error"}`` of ``model`` on ``data`` (arrays, tensors or a loader).

    ``metric`` is a name from `fullcycle.metrics` (needs ``task``) or a callable
    ``f(outputs, targets) -> error``; without one, the error is the loss.
    """
    if device is None:
        first = next(iter(model.parameters()), None)
        dev = first.device if first is not None else torch.device("cpu")
    else:
        dev = resolve_device(device)
    batches = data if isinstance(data, InMemoryBatches | LoaderBatches) else make_batches(
        data, batch_size, dev, shuffle=False, seed=0, name="evaluation")
    outputs, targets = outputs_and_targets(model, batches, precision)
    return score(outputs, targets, loss=loss, task=task, metric=metric)


def score(outputs: Tensor, targets: Tensor, *, loss: str | LossFn | None, task: str | None,
          metric: str | Callable[..., float] | None) -> dict[str, float]:
    """Loss, metric and error from outputs already computed."""
    result: dict[str, float] = {}
    if loss is not None:
        result["loss"] = float(get_loss(loss)(outputs, targets))
    if callable(metric):
        value = float(metric(outputs, targets))
        result["metric"] = result["error"] = value
    elif metric is not None and task is not None:
        value = M.compute_metric(metric, task, outputs, targets)
        result["metric"] = value
        result["error"] = M.error_from_metric(metric, value)
    elif "loss" in result:
        result["error"] = result["loss"]
    return result


@torch.no_grad()
def predict(model: nn.Module, *inputs: Any, batch_size: int = EVAL_BATCH,
            precision: str | None = None) -> Tensor:
    """The model's raw outputs (logits) for ``inputs``, as a float32 CPU tensor."""
    first = next(iter(model.parameters()), None)
    dev = first.device if first is not None else torch.device("cpu")
    placeholder = torch.zeros(len(inputs[0]))
    batches = make_batches((*inputs, placeholder), batch_size, dev, shuffle=False, seed=0,
                           name="prediction")
    outputs, _ = outputs_and_targets(model, batches, precision)
    return outputs.cpu()
