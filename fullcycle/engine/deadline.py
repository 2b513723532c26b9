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
    """After each epoch, fit the remaining epochs (and the schedule) into the time left."""

    order = 90  # after early stopping and journaling have seen the epoch

    def __init__(self, deadline: float, schedule: Schedule, margin: float = 0.05) -> None:
        self.deadline, self.schedule, self.margin = deadline, schedule, margin
        self.started = 0.0

    def before_fit(self, loop: Any) -> None:
        self.started = time.monotonic()

    def after_epoch(self, loop: Any) -> None:
        if loop.stop_training or loop.epoch >= loop.epochs:
            return
        now = time.monotonic()
        per_epoch = (now - self.started) / max(loop.epoch, 1)
        left = (self.deadline - now) * (1.0 - self.margin)
        fits = int(math.floor(left / per_epoch)) if per_epoch > 0 else loop.epochs
        if loop.epoch + fits >= loop.epochs:
            return
        new_total = max(loop.epoch + 1, loop.epoch + fits)
        old = loop.scheduler
        fresh = lr_scheduler(loop.optimizer, self.schedule, loop.steps_per_epoch, new_total)
        fresh.base_lrs = list(old.base_lrs)  # keep what the NaN guard may have lowered
        fresh.last_epoch = loop.step - 1
        fresh.step()
        loop.scheduler = fresh
        loop.record_decision(
            "epochs", f"{per_epoch:.1f}s per epoch, {max(left, 0):.0f}s left",
            f"train {new_total} epochs instead of {loop.epochs}",
            "the learning-rate schedule should end before the time budget does, rather "
            "than be cut mid-way")
        loop.epochs = new_total
