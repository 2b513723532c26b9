"""What one experiment trains: a frozen configuration the recipe changes one knob at a time.

`TrainConfig` is the one set of defaults for the built-in tabular network, used by
`fc.train`, `fc.run` (the autopilot), `fc.search` (its trials) and `fullcycle train`. A
field left at ``None`` is chosen from the data by the rules in `resolve` — stated once, here:

* ``hidden=None``: one hidden layer at the midpoint between the network's input width
  (after categorical embeddings) and its outputs (seed 001, step 2);
* ``batch_size=None``: a power of two giving at least ~50 steps an epoch, 32 to 512
  (seed 003: mini-batches of 64 to 512, powers of two);
* ``epochs=None``: about `TARGET_STEPS` optimizer steps, 10 to 200 epochs;
* ``patience=None``: early stopping after an eighth of the epochs without dev improvement
  (at least 5); ``patience=0`` turns early stopping off.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from fullcycle.errors import FullcycleError

if TYPE_CHECKING:
    from fullcycle.recipe.images import ImageKnobs

# Enough optimizer steps for a first fit to converge on small data (where an epoch is a few
# steps) without many epochs on large data; early stopping ends it sooner when dev stalls.
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS = 10, 200


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run of the built-in tabular network.

    Defaults are the seeds' starting point: Adam (β1 0.9, β2 0.999, ε 1e-8), cosine decay
    (seed 000), mini-batches of a power of two, no regularization until the diagnosis asks
    for it. ``l2`` is λ of the cost's ``λ/(2m) Σ‖W‖²`` (seed 002), ``l1`` λ of ``λ/m Σ|W|``;
    ``dropout`` holds one rate per hidden layer (``()`` is none); ``schedule`` is a name from
    `fullcycle.engine.schedules` with optional parameters (``"staircase:drop=0.5,every=10"``)
    or None for a constant rate.
    """

    hidden: tuple[int, ...] | None = None
    activation: str = "relu"
    init: str = "auto"
    dropout: tuple[float, ...] = ()
    batch_norm: bool = False
    l2: float = 0.0
    l1: float = 0.0
    optimizer: str = "adam"
    beta1: float = 0.9
    lr: float = 1e-3
    schedule: str | None = "cosine"
    epochs: int | None = None
    batch_size: int | None = None
    patience: int | None = None
    clip_norm: float | None = None
    clip_value: float | None = None
    seed: int = 0
    images: ImageKnobs | None = None  # pictures: the ResNet's and augmentation's knobs

    def __post_init__(self) -> None:
        # Lists from JSON or a user become tuples, so configs compare and hash as values.
        if self.hidden is not None and not isinstance(self.hidden, tuple):
            object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))
        if not isinstance(self.dropout, tuple):
            rates = self.dropout
            rates = [rates] * len(self.hidden or (0,)) if isinstance(rates, int | float) \
                else rates
            object.__setattr__(self, "dropout", tuple(float(r) for r in rates))
        if isinstance(self.images, dict):  # from JSON (a journal): no pretrained network
            from fullcycle.recipe.images import ImageKnobs

            object.__setattr__(self, "images", ImageKnobs.from_dict(self.images))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        """A config from `to_dict`'s output (or any subset of the fields)."""
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise FullcycleError(f"unknown training setting(s) {', '.join(sorted(unknown))}; "
                                 f"known: {', '.join(sorted(known))}")
        return cls(**data)

    def with_changes(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def dropout_per_layer(self) -> list[float]:
        hidden = self.hidden or ()
        rates = list(self.dropout) + [0.0] * (len(hidden) - len(self.dropout))
        return rates[: len(hidden)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, images=None))
        data["hidden"] = None if self.hidden is None else list(self.hidden)
        data["dropout"] = list(self.dropout)
        data["images"] = self.images.to_dict() if self.images is not None else None
        return data

    def describe(self) -> str:
        """A short human description: "hidden 64,32 relu, adam lr 3e-3, dropout 0.25"."""
        hidden = "midpoint" if self.hidden is None else ",".join(map(str, self.hidden))
        network = (self.images.describe() if self.images is not None
                   else f"hidden {hidden} {self.activation}")
        parts = [network, f"{self.optimizer} lr {self.lr:.2g}"]
        if self.batch_size is not None:
            parts.append(f"batch {self.batch_size}")
        if self.epochs is not None:
            parts.append(f"{self.epochs} epochs")
        if any(self.dropout):
            parts.append("dropout " + ",".join(f"{d:g}" for d in self.dropout_per_layer()))
        if self.l2:
            parts.append(f"L2 {self.l2:.2g}")
        if self.l1:
            parts.append(f"L1 {self.l1:.2g}")
        if self.batch_norm:
            parts.append("batch norm")
        return ", ".join(parts)


def choose_batch_size(n_train: int) -> int:
    """A power of two giving ≳ 50 steps per epoch, between 32 and 512 (seed 003: 64–512)."""
    size = 32
    while size < 512 and n_train / (size * 2) >= 50:
        size *= 2
    return size


def choose_epochs(n_train: int, batch_size: int) -> tuple[int, int]:
    """(epochs, early-stopping patience) for about TARGET_STEPS optimizer steps."""
    steps_per_epoch = max(1, math.ceil(n_train / batch_size))
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, math.ceil(TARGET_STEPS / steps_per_epoch)))
    return epochs, max(5, epochs // 8)


def resolve(config: TrainConfig, n_train: int, first_hidden: int) -> TrainConfig:
    """`config` with every ``None`` chosen from the data (see the module docstring).

    `first_hidden` is the midpoint width of the network that will be built (its input width
    after embeddings), so the rule lives in one place (`fullcycle.recipe.trainer`).
    """
    changes: dict[str, Any] = {}
    if config.hidden is None:
        changes["hidden"] = (first_hidden,)
    batch = config.batch_size or choose_batch_size(n_train)
    changes["batch_size"] = batch
    epochs, patience = choose_epochs(n_train, batch)
    if config.epochs is None:
        changes["epochs"] = epochs
    else:
        patience = max(5, config.epochs // 8)
    if config.patience is None:
        changes["patience"] = patience
    return config.with_changes(**changes)
