"""Shorten a fit to what its time allows, so that its learning-rate schedule ends in time.

A run under a time budget that is cut at the deadline stops in the middle of its schedule,
with the rate still high (a cosine schedule cut at 40% still trains at 80% of its rate),
and keeps the weights of a network that never annealed. `ScheduleToDeadline` measures the
epochs as they go and, when the remaining epochs cannot finish before `deadline`, lowers the
number of epochs to what fits and rebuilds the schedule over that new length, continuing
from the current step. Speed is measured during the fit itself, so a busy machine gets
fewer epochs rather than a cut schedule. The change is written down as a decision.
"""

from __future__ import annotations

import math
import time
from typing import Any

from fullcycle.engine.events import Callback
from fullcycle.engine.schedules import Schedule, lr_scheduler


class ScheduleToDeadline(Callback):
    """After each epoch, fit the remaining steps (and the schedule) into the time left.

    The plan is made in mini-batch steps, so the last epoch may end part-way: on a large
    data set an epoch is minutes, and rounding down to whole epochs left up to one unused
    (Fashion-MNIST at 10 minutes on a busy machine: 2 epochs of 115-164 s planned into a
    223 s remainder, 100 s of the fit's time unused).
    """

    order = 90  # after early stopping and journaling have seen the epoch

    def __init__(self, deadline: float, schedule: Schedule, margin: float = 0.05) -> None:
        self.deadline, self.schedule, self.margin = deadline, schedule, margin
        self.started = 0.0
        self.stop_at: int | None = None  # the step the shortened fit ends after

    def before_fit(self, loop: Any) -> None:
        self.started = time.monotonic()
        self.stop_at = None

    def after_batch(self, loop: Any) -> None:
        if self.stop_at is not None and loop.step >= self.stop_at:
            loop.stop_training = True

    def after_epoch(self, loop: Any) -> None:
        if loop.stop_training or loop.epoch >= loop.epochs:
            return
        now = time.monotonic()
        per_epoch = (now - self.started) / max(loop.epoch, 1)
        steps = max(int(loop.steps_per_epoch), 1)
        per_step = per_epoch / steps  # the dev evaluation shared out over the epoch's steps
        left = (self.deadline - now) * (1.0 - self.margin)
        planned = self.stop_at if self.stop_at is not None else loop.epochs * steps
        fits = int(math.floor(left / per_step)) if per_step > 0 else planned
        if loop.step + fits >= planned:
            return
        new_steps = loop.step + max(1, fits)  # at least one more step
        total = new_steps / steps  # epochs, fractional when the last one ends part-way
        old = loop.scheduler
        fresh = lr_scheduler(loop.optimizer, self.schedule, steps, total)
        fresh.base_lrs = list(old.base_lrs)  # keep what the NaN guard may have lowered
        fresh.last_epoch = loop.step - 1
        fresh.step()
        loop.scheduler = fresh
        shown = f"{total:.0f}" if new_steps % steps == 0 else f"{total:.2f}"
        loop.record_decision(
            "epochs", f"{per_epoch:.1f}s per epoch, {max(left, 0):.0f}s left",
            f"train {shown} epochs instead of {planned / steps:.3g}",
            "the learning-rate schedule should end before the time budget does, rather "
            "than be cut mid-way")
        loop.epochs = int(math.ceil(total))
        self.stop_at = new_steps if new_steps % steps else None
