"""`fc.fit`: train any PyTorch module on any data, the way the recipe trains.

Progressive disclosure, as in Keras: one call with the seeds' defaults (Adam, β1 0.9,
β2 0.999, ε 1e-8; mini-batches of 64) for the newcomer; keyword arguments for the engineer
(schedule, L2/L1, clipping, early stopping, checkpoints); `Callback` events for the expert.

>>> result = fit(model, (X_train, y_train), (X_dev, y_dev), loss="cross_entropy",
...              metric="accuracy", epochs=20, early_stopping=5)   # doctest: +SKIP
>>> result.best_epoch, result.history[-1]["dev_error"]               # doctest: +SKIP
"""

from __future__ import annotations

import inspect
import math
import secrets
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import nn

from fullcycle import metrics as M
from fullcycle.engine import distributed
from fullcycle.engine.batches import make_batches
from fullcycle.engine.callbacks import (
    Checkpoint,
    EarlyStopping,
    GradientClipping,
    NanGuard,
    TrainingDiverged,
)
from fullcycle.engine.checkpoint import load_checkpoint
from fullcycle.engine.device import check_precision, grad_scaler, resolve_device
from fullcycle.engine.evaluate import EVAL_BATCH
from fullcycle.engine.events import Callback, Events
from fullcycle.engine.journaling import JournalCallback
from fullcycle.engine.loop import TrainingLoop
from fullcycle.engine.losses import LossFn, get_loss, task_for_loss
from fullcycle.engine.optimizers import OptimizerSpec, make_optimizer
from fullcycle.engine.penalties import Penalty
from fullcycle.engine.progress import ProgressBar
from fullcycle.engine.schedules import Schedule, lr_scheduler, parse_schedule
from fullcycle.engine.validate import check_fit_data
from fullcycle.errors import FullcycleError

__all__ = ["FitResult", "TrainingDiverged", "fit"]

# Gradient clipping is on by default for recurrent networks, whose gradients explode through
# time (Pascanu, Mikolov & Bengio 2013, "On the difficulty of training recurrent neural
# networks"; seed 001: clipping is "a blunt but effective way of dealing with exploding
# gradients"). A global norm of 1 leaves ordinary steps alone and cuts only the spikes.
RECURRENT_CLIP_NORM = 1.0


@dataclass
class FitResult:
    """What a fit produced: the model at its best epoch, and how it got there."""

    model: nn.Module
    history: list[dict[str, Any]]
    best_epoch: int | None
    decisions: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    metric: str | None = None
    seconds: float = 0.0
    resumed_from: int | None = None

    @property
    def best(self) -> dict[str, Any] | None:
        """The history row of the best epoch."""
        return next((r for r in self.history if r["epoch"] == self.best_epoch), None)

    @property
    def epochs_run(self) -> int:
        return len(self.history)


def _positive(name: str, value: float, integer: bool = False) -> None:
    ok = value > 0 and (not integer or float(value).is_integer())
    if not ok or (isinstance(value, float) and not math.isfinite(value)):
        kind = "a positive integer" if integer else "a positive number"
        raise FullcycleError(f"{name} must be {kind}, got {value}")


def _journal_callback(journal: JournalCallback | None) -> JournalCallback | None:
    if journal is None or isinstance(journal, JournalCallback):
        return journal
    raise FullcycleError(
        "journal= takes a JournalCallback(journal, experiment_id) from "
        f"fullcycle.engine.journaling, got {type(journal).__name__}"
    )


def _early_stopping(spec: Any) -> EarlyStopping | None:
    if spec is None or spec is False:
        return None
    if isinstance(spec, EarlyStopping):
        return spec
    if isinstance(spec, bool):
        return EarlyStopping()
    if isinstance(spec, int):
        return EarlyStopping(patience=spec)
    if isinstance(spec, dict):
        return EarlyStopping(**spec)
    raise FullcycleError(
        f"early_stopping takes a patience (int), a dict or EarlyStopping, got {spec!r}"
    )


def _callbacks(items: Sequence[Callback | type[Callback]]) -> list[Callback]:
    """Callback instances; a Callback class that needs no argument is instantiated."""
    out = []
    for item in items:
        if isinstance(item, type) and issubclass(item, Callback):
            required = [p.name for p in inspect.signature(item).parameters.values()
                        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL,
                                                                   p.VAR_KEYWORD)]
            if required:
                raise FullcycleError(
                    f"callbacks=: {item.__name__} needs arguments ({', '.join(required)}); "
                    f"pass an instance, {item.__name__}(...)"
                )
            item = item()
        if not isinstance(item, Callback):
            raise FullcycleError(
                f"callbacks= takes fullcycle Callback instances (subclasses of fc.Callback), "
                f"got {item!r:.60}"
            )
        out.append(item)
    return out


def fit(model: nn.Module, train: Any, dev: Any = None, *,
        loss: str | LossFn, optimizer: OptimizerSpec = "adam", lr: float = 1e-3,
        schedule: str | Schedule | dict[str, Any] | None = None, epochs: int = 10,
        batch_size: int = 64, l2: float = 0.0, l1: float = 0.0,
        clip_norm: float | str | None = "auto", clip_value: float | None = None,
        early_stopping: int | bool | dict[str, Any] | EarlyStopping | None = None,
        metric: str | Callable[..., float] | None = None,
        callbacks: Sequence[Callback | type[Callback]] = (),
        device: str | torch.device = "auto", precision: str | None = None,
        seed: int | None = None,
        checkpoint_dir: str | Path | None = None, resume: bool = False,
        journal: JournalCallback | None = None, progress: bool | Callback = True,
        task: str | None = None,
        nan_guard: bool | NanGuard = True, eval_batch_size: int = EVAL_BATCH,
        optimizer_options: dict[str, Any] | None = None) -> FitResult:
    """Train ``model`` on ``train`` and evaluate on ``dev`` after every epoch.

    Args:
        model: any `nn.Module`; called as ``model(x)`` or ``model(*inputs)``.
        train, dev: ``(X, y)`` / ``(*inputs, y)`` arrays or tensors (batched in memory by
            slicing a random permutation), or a `DataLoader` yielding such tuples.
        loss: ``"mse"``, ``"bce"``, ``"cross_entropy"``, ``"multilabel_bce"`` or a callable
            ``loss(outputs, targets)``.
        optimizer: ``"adam"`` (default), ``"adamw"``, ``"sgd"``, ``"momentum"`` (seeds' form),
            ``"rmsprop"``, an optimizer instance or a factory ``f(params, lr=...)``.
        schedule: a name from `fullcycle.engine.schedules` (``"cosine"``,
            ``"staircase:drop=0.5,every=10"``...), a `Schedule`, a dict or None (constant).
        l2, l1: λ of ``λ/(2m)Σ‖W‖²`` and ``λ/m Σ|W|`` (biases and norm layers excluded).
        clip_norm, clip_value: gradient clipping thresholds. ``clip_norm="auto"`` (the
            default) clips recurrent networks (any `nn.RNNBase` inside) at a global norm of
            `RECURRENT_CLIP_NORM` and says so in ``result.decisions``; None turns it off.
        early_stopping: patience in epochs, or an `EarlyStopping`. With dev data the best
            epoch's weights are restored at the end in any case.
        metric: a `fullcycle.metrics` name (default: the task's, see `default_metric`) or a
            callable ``f(outputs, targets) -> error``; the dev error drives best-epoch choice.
        task: regression/binary/multiclass/multilabel; inferred from a built-in loss name.
        precision: None / ``"32"``, ``"bf16"`` or ``"fp16"`` (autocast; fp16 adds a scaler).
        seed: makes the fit reproducible: dropout's random numbers start from it and each
            epoch's batch order is a function of ``(seed, epoch)``, so a resumed fit sees the
            same order (pass the same seed when resuming). None (default) draws a fresh
            one. Either way torch's global RNG is left as it was: the fit runs on a fork of
            it (`torch.random.fork_rng`), so calling `fit` never reseeds the caller's RNG.
        checkpoint_dir, resume: save the full state after every epoch; continue from it
            (a `Checkpoint` in ``callbacks`` saves instead, e.g. every N seconds).
        journal: a `JournalCallback(journal, experiment_id)` to log each epoch and decision.
        progress: Rich progress bars (True), none (False), or your own callback.
        nan_guard: restore-and-lower-the-rate on NaN/inf or divergence (see `NanGuard`).

    Returns:
        A `FitResult`; ``result.model`` holds the best epoch's weights.

    Raises:
        FullcycleError: invalid arguments or data (a message naming the fix).
        TrainingDiverged: the loss stayed NaN/exploding after repeated rate reductions.
    """
    started = time.perf_counter()
    if not isinstance(model, nn.Module):
        raise FullcycleError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    _positive("epochs", epochs, integer=True)
    _positive("batch_size", batch_size, integer=True)
    _positive("lr", lr)
    for name, value in (("l2", l2), ("l1", l1)):
        if value < 0:
            raise FullcycleError(f"{name} must be zero or positive, got {value}")
    loss_fn = get_loss(loss)
    task = task or task_for_loss(loss)
    if isinstance(metric, str) and metric not in M.METRICS:
        raise FullcycleError(f"unknown metric {metric!r}; use one of: {', '.join(M.METRICS)}")
    extra_callbacks = _callbacks(callbacks)
    precision = check_precision(precision)
    group = distributed.setup(device)  # None unless launched by torchrun
    dev_device = group.device if group else resolve_device(device)
    if seed is None:
        seed = secrets.randbelow(2**31)  # fresh, without touching torch's global RNG
    seed = distributed.shared_seed(seed, group)  # every rank: rank 0's (same batch order)
    model.to(dev_device)

    has_bn = any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    train_batches = make_batches(train, batch_size, dev_device, shuffle=True, seed=seed,
                                 name="train", drop_singleton=has_bn)
    dev_batches = None if dev is None else make_batches(
        dev, eval_batch_size, dev_device, shuffle=False, seed=seed, name="dev")
    if len(train_batches) == 0:
        raise FullcycleError("the training data yields no batch; pass at least one example")
    task = check_fit_data(model, train_batches, dev_batches, loss=loss, task=task,
                          metric=metric)
    if group is not None:  # checked whole (the same verdict on every rank), then shared
        train_batches, dev_batches = distributed.shard(train_batches, dev_batches, group, has_bn)
    if isinstance(metric, str):
        allowed = M.REGRESSION if task == "regression" else M.CLASSIFICATION
        if metric not in allowed:
            raise FullcycleError(
                f"metric {metric!r} does not fit a {task} task; use one of: {', '.join(allowed)}"
            )
    elif metric is None and task is not None:
        metric = M.default_metric(task)

    opt = make_optimizer(optimizer, model, lr, **(optimizer_options or {}))
    sched = lr_scheduler(opt, parse_schedule(schedule), len(train_batches), int(epochs))
    penalty = Penalty(model, train_batches.n_examples, l2=l2, l1=l1)

    stopper = _early_stopping(early_stopping)
    if stopper is not None and dev is None and stopper.monitor != "train_loss":
        raise FullcycleError("early stopping watches the dev error; pass dev=(X_dev, y_dev)")
    cbs: list[Callback] = []
    if nan_guard:
        cbs.append(nan_guard if isinstance(nan_guard, NanGuard) else NanGuard())
    clip_reason = None
    if clip_norm == "auto":
        recurrent = any(isinstance(m, nn.RNNBase) for m in model.modules())
        clip_norm = RECURRENT_CLIP_NORM if recurrent and clip_value is None else None
        if clip_norm is not None:
            clip_reason = ("recurrent networks' gradients explode through time (Pascanu et "
                           "al. 2013); clipping is on by default for them, pass clip_norm=None "
                           "to turn it off")
    elif isinstance(clip_norm, str):
        raise FullcycleError(f"clip_norm takes a positive number, None or 'auto', got "
                             f"{clip_norm!r}")
    if clip_norm is not None or clip_value is not None:
        cbs.append(GradientClipping(clip_norm, clip_value, reason=clip_reason))
    if stopper is not None:
        cbs.append(stopper)
    journal_cb = _journal_callback(journal)
    if journal_cb is not None:
        cbs.append(journal_cb)
    if progress:
        cbs.append(progress if isinstance(progress, Callback) else ProgressBar())
    cbs.extend(extra_callbacks)
    if checkpoint_dir is not None and not any(isinstance(cb, Checkpoint)
                                              for cb in extra_callbacks):
        cbs.append(Checkpoint(checkpoint_dir))  # a `Checkpoint` of the caller's replaces it

    cbs = distributed.for_this_rank(cbs, group)
    monitor = stopper.monitor if stopper is not None else ("dev_error" if dev is not None
                                                           else None)
    loop = (TrainingLoop if group is None else partial(distributed.DistributedLoop, group))(
        model, train_batches, dev_batches, loss_fn=loss_fn, optimizer=opt, scheduler=sched,
        penalty=penalty, epochs=int(epochs), device=dev_device, precision=precision,
        scaler=grad_scaler(dev_device, precision), task=task, metric=metric,
        loss_spec=loss, monitor=monitor,
        min_delta=stopper.min_delta if stopper is not None else 0.0, events=Events(cbs),
    )
    resumed_from = None
    if resume and checkpoint_dir is None:
        raise FullcycleError("resume=True needs checkpoint_dir= (where the state was saved)")
    forked = [dev_device.index or 0] if dev_device.type == "cuda" else []
    with torch.random.fork_rng(devices=forked):  # the caller's RNG comes back untouched
        torch.manual_seed(seed)
        if resume and load_checkpoint(checkpoint_dir, loop):
            resumed_from = loop.epoch
        loop.run()
    distributed.finish(group)
    return FitResult(
        model=model, history=loop.history, best_epoch=loop.best_epoch,
        decisions=loop.decisions, stopped_early=loop.stop_training and stopper is not None
        and stopper.stopped_epoch is not None, metric=metric if isinstance(metric, str)
        else None, seconds=time.perf_counter() - started, resumed_from=resumed_from,
    )
