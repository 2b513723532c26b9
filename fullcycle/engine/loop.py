"""The training loop: mini-batch gradient descent with events at every step.

One epoch is the seeds' mini-batch gradient descent (seed 004: "forward propagation to
compute the loss, backpropagate to get the gradient, use the gradients to update the
weights"), then an evaluation on the dev set in evaluation mode. Everything optional
(clipping, guards, early stopping, journaling, checkpoints, progress) is a callback.

Per-batch work is kept to what a careful hand-written loop does: the running loss is summed
on the device without a host sync, and events without listeners are not dispatched.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch import Tensor, nn

from fullcycle.engine.batches import InMemoryBatches, LoaderBatches
from fullcycle.engine.device import autocast
from fullcycle.engine.evaluate import outputs_and_targets, score
from fullcycle.engine.events import Events
from fullcycle.engine.losses import LossFn
from fullcycle.engine.penalties import Penalty

Data = InMemoryBatches | LoaderBatches


class TrainingLoop:
    """State of one fit; callbacks read and change it through its attributes.

    Attributes a callback may use: ``model``, ``optimizer``, ``scheduler``, ``epoch``
    (1-based), ``epochs``, ``step`` (optimizer steps so far), ``batch_index``, ``batch``,
    ``outputs``, ``loss``, ``logs`` (this epoch's row of ``history``), ``history``,
    ``decisions``, ``best_epoch``, ``stop_training`` and ``restart_epoch`` (set them to stop,
    or to redo the current epoch from its start), ``error`` (set during a failing
    ``after_fit``).
    """

    def __init__(self, model: nn.Module, train: Data, dev: Data | None, *, loss_fn: LossFn,
                 optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler, penalty: Penalty,
                 epochs: int, device: torch.device, precision: str | None,
                 scaler: torch.amp.GradScaler | None, task: str | None, metric: Any,
                 loss_spec: Any, monitor: str | None, min_delta: float,
                 events: Events) -> None:
        self.model, self.train, self.dev = model, train, dev
        self.loss_fn, self.loss_spec = loss_fn, loss_spec
        self.optimizer, self.scheduler, self.penalty = optimizer, scheduler, penalty
        self.epochs, self.device, self.precision, self.scaler = epochs, device, precision, scaler
        self.task, self.metric, self.monitor, self.min_delta = task, metric, monitor, min_delta
        self.events = events
        self.steps_per_epoch = len(train)
        self.epoch = 0
        self.step = 0
        self.batch_index = 0
        self.batch: tuple[Tensor, ...] = ()
        self.outputs: Tensor | None = None
        self.loss: Tensor | None = None
        self.running_loss = torch.zeros((), device=device)
        self.seen = 0
        self.logs: dict[str, Any] = {}
        self.history: list[dict[str, Any]] = []
        self.decisions: list[dict[str, Any]] = []
        self.best_epoch: int | None = None
        self.best_value: float | None = None
        self.best_state: dict[str, Tensor] | None = None
        self.stop_training = False
        self.restart_epoch = False
        self.error: BaseException | None = None

    # ---------------------------------------------------------------- the loop
    def run(self) -> None:
        """Train from ``self.epoch + 1`` (0 unless resumed) to ``self.epochs``."""
        try:
            self.events("before_fit", self)
            while self.epoch < self.epochs and not self.stop_training:
                self.epoch += 1
                self.logs = {"epoch": self.epoch}
                started = time.perf_counter()
                self.events("before_epoch", self)
                # the rate this epoch runs at (its first batch's, for per-step schedules);
                # read after the scheduler stepped, it would be the next epoch's
                self.logs["lr"] = float(self.optimizer.param_groups[0]["lr"])
                self._train_epoch()
                if self.restart_epoch:  # a guard restored the epoch's starting state
                    self.restart_epoch = False
                    self.epoch -= 1
                    continue
                self._end_epoch(started)
                self.history.append(self.logs)
                self.events("after_epoch", self)
            self.restore_best()
        except BaseException as exc:
            self.error = exc
            raise
        finally:
            self.events("after_fit", self)

    def _train_epoch(self) -> None:
        model, opt, sched, scaler = (self.training_module(), self.optimizer, self.scheduler,
                                     self.scaler)
        # the handler lists, fetched once: an event nobody listens to costs an empty loop
        on = self.events.handlers
        before_batch, after_loss, after_backward = (on["before_batch"], on["after_loss"],
                                                    on["after_backward"])
        after_step, after_batch = on["after_step"], on["after_batch"]
        model.train()
        self.running_loss = torch.zeros((), device=self.device)
        self.seen = 0
        penalty = self.penalty if self.penalty.active else None
        # a constant rate needs no per-batch scheduler call (the guard edits base_lrs directly)
        step_schedule = not getattr(sched, "constant", False)
        for index, batch in enumerate(self.train.batches(self.epoch)):
            self.batch_index, self.batch = index, batch
            for handler in before_batch:
                handler(self)
            *inputs, y = self.batch
            with autocast(self.device, self.precision):
                self.outputs = model(*inputs)
                loss = self.loss_fn(self.outputs, y)
                if penalty is not None:
                    loss = loss + penalty()
            self.loss = loss
            for handler in after_loss:
                handler(self)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(self.loss).backward()
                scaler.unscale_(opt)  # so that clipping and guards see true gradients
            else:
                self.loss.backward()
            for handler in after_backward:
                handler(self)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            if step_schedule:
                sched.step()
            self.step += 1
            for handler in after_step:
                handler(self)
            self.count_batch(len(y))
            for handler in after_batch:
                handler(self)
            if self.ends_epoch_early():
                break

    # Four steps of the epoch that `fullcycle.engine.distributed.DistributedLoop` replaces
    # under torchrun; here, in one process, each is the plain thing.
    def training_module(self) -> nn.Module:
        """The module training steps call (under torchrun, the model wrapped in DDP)."""
        return self.model

    def count_batch(self, n: int) -> None:
        """Add the batch's cost (``n`` examples) to the epoch's running loss."""
        self.running_loss.add_(self.loss.detach().float(), alpha=n)
        self.seen += n

    def ends_epoch_early(self) -> bool:
        """True when a callback asked to stop or to redo the epoch."""
        return self.restart_epoch or self.stop_training

    def dev_outputs(self) -> tuple[Tensor, Tensor]:
        """The model's outputs on the whole dev set, and the dev targets."""
        assert self.dev is not None
        return outputs_and_targets(self.model, self.dev, self.precision)

    def mean_loss(self) -> float:
        """The epoch's mean training cost so far (one host sync)."""
        return float(self.running_loss) / max(self.seen, 1)

    def _end_epoch(self, started: float) -> None:
        logs = self.logs
        logs["train_loss"] = self.mean_loss()
        if self.penalty.active:
            with torch.no_grad():
                logs["penalty"] = float(self.penalty())
        if self.dev is not None:
            outputs, targets = self.dev_outputs()
            result = score(outputs, targets, loss=self.loss_spec, task=self.task,
                           metric=self.metric)
            logs["dev_loss"] = result.get("loss")
            logs["dev_metric"] = result.get("metric")
            logs["dev_error"] = result.get("error")
        logs["seconds"] = time.perf_counter() - started
        self._track_best()

    def _track_best(self) -> None:
        value = self.logs.get(self.monitor) if self.monitor else None
        if self.monitor is None:
            self.best_epoch = self.epoch  # nothing to compare on: the last epoch is kept
            return
        if value is None or not math.isfinite(value):
            return
        if self.best_value is None or value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch = float(value), self.epoch
            self.best_state = {k: v.detach().clone() for k, v in
                               self.model.state_dict().items()}
            self.logs["best"] = True

    def restore_best(self) -> None:
        """Load the weights of the best epoch (a no-op when the last epoch is the best)."""
        if self.best_state is not None and self.best_epoch != self.epoch:
            self.model.load_state_dict(self.best_state)

    # ------------------------------------------------------------ decisions
    def record_decision(self, kind: str, observed: str, action: str, reason: str,
                        **extra: Any) -> dict[str, Any]:
        """Write down a decision taken during training (journaled by the journal callback)."""
        decision = {"kind": kind, "epoch": self.epoch, "step": self.step,
                    "observed": observed, "action": action, "reason": reason, **extra}
        self.decisions.append(decision)
        return decision

    # ------------------------------------------------------- state snapshots
    def snapshot(self) -> dict[str, Any]:
        """An in-memory copy of everything a restart of the epoch needs."""
        return {
            "model": _clone(self.model.state_dict()),
            "optimizer": _clone(self.optimizer.state_dict()),
            "scheduler": _clone(self.scheduler.state_dict()),
            "scaler": None if self.scaler is None else self.scaler.state_dict(),
            "step": self.step,
        }

    def restore(self, snap: dict[str, Any]) -> None:
        """Go back to a `snapshot`."""
        self.model.load_state_dict(snap["model"])
        self.optimizer.load_state_dict(_clone(snap["optimizer"]))
        self.scheduler.load_state_dict(_clone(snap["scheduler"]))
        if self.scaler is not None and snap["scaler"] is not None:
            self.scaler.load_state_dict(snap["scaler"])
        self.step = snap["step"]

    def scale_lr(self, factor: float) -> tuple[float, float]:
        """Multiply the learning rate (and the schedule's base) by ``factor``; old, new."""
        old = float(self.optimizer.param_groups[0]["lr"])
        self.scheduler.base_lrs = [b * factor for b in self.scheduler.base_lrs]
        for group in self.optimizer.param_groups:
            group["lr"] *= factor
        self.scheduler._last_lr = [g["lr"] for g in self.optimizer.param_groups]
        return old, old * factor


def _clone(obj: Any) -> Any:
    """Copy a state dict: tensors cloned, containers rebuilt, scalars shared (immutable).

    `copy.deepcopy` does the same 50x slower (it goes through the pickle protocol per
    tensor), which would cost the NaN guard's per-epoch snapshot a few percent of speed.
    """
    if isinstance(obj, Tensor):
        return obj.detach().clone()
    if isinstance(obj, dict):
        return {k: _clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_clone(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(_clone(v) for v in obj)
    return obj
