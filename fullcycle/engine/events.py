"""Events the training loop fires, and the `Callback` base class that hooks into them.

The names read like the loop (fastai's convention)::

    before_fit
      before_epoch
        before_batch → forward → after_loss → backward → after_backward
                     → optimizer step → after_step → after_batch
      (dev evaluation) after_epoch
    after_fit            (always fires, also when training fails: ``loop.error`` is set)

Early stopping, clipping, the NaN guard, journaling, checkpoints and progress bars are all
callbacks; the loop itself holds no branch for any of them. A callback reads and writes the
loop's attributes (``loop.model``, ``loop.loss``, ``loop.logs``, ``loop.stop_training``...).
Callbacks run in increasing ``order``; the loop only calls the methods a callback
overrides, so an unused event costs nothing per batch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torch import Tensor

if TYPE_CHECKING:
    from fullcycle.engine.loop import TrainingLoop

EVENTS = (
    "before_fit",
    "before_epoch",
    "before_batch",
    "after_loss",
    "after_backward",
    "after_step",
    "after_batch",
    "after_epoch",
    "after_fit",
)


class Callback:
    """Base class: override any event method ``def after_epoch(self, loop): ...``.

    ``order`` sorts callbacks (lower runs first). A callback that must survive a resume
    returns its state from `state_dict` (JSON values) and `tensor_state` (tensors).
    ``rank_zero_only``: under torchrun, only the process of rank 0 runs it (the ones that
    write: journal, checkpoints, progress bars, trackers).
    """

    order: int = 0
    rank_zero_only: bool = False

    def before_fit(self, loop: TrainingLoop) -> None: ...
    def before_epoch(self, loop: TrainingLoop) -> None: ...
    def before_batch(self, loop: TrainingLoop) -> None: ...
    def after_loss(self, loop: TrainingLoop) -> None: ...
    def after_backward(self, loop: TrainingLoop) -> None: ...
    def after_step(self, loop: TrainingLoop) -> None: ...
    def after_batch(self, loop: TrainingLoop) -> None: ...
    def after_epoch(self, loop: TrainingLoop) -> None: ...
    def after_fit(self, loop: TrainingLoop) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state saved in checkpoints."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what `state_dict` returned."""

    def tensor_state(self) -> dict[str, Tensor]:
        """Tensors saved in checkpoints (safetensors), if any."""
        return {}

    def load_tensor_state(self, tensors: dict[str, Tensor]) -> None:
        """Restore what `tensor_state` returned."""

    @property
    def name(self) -> str:
        return type(self).__name__


class Events:
    """Dispatches each event to the callbacks that override it, in ``order``."""

    def __init__(self, callbacks: list[Callback]) -> None:
        self.callbacks = sorted(callbacks, key=lambda cb: cb.order)
        self.handlers: dict[str, list[Any]] = {}  # event -> bound methods, in order
        for event in EVENTS:
            self.handlers[event] = [
                getattr(cb, event)
                for cb in self.callbacks
                if getattr(type(cb), event) is not getattr(Callback, event)
            ]

    def __call__(self, event: str, loop: TrainingLoop) -> None:
        for handler in self.handlers[event]:
            handler(loop)

    def has(self, event: str) -> bool:
        """True when some callback listens to ``event`` (lets the loop skip work)."""
        return bool(self.handlers[event])
