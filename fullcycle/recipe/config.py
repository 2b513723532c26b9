"""What one experiment trains: a frozen configuration the recipe changes one knob at a time.

`TrainConfig` is the one set of defaults for the built-in tabular network, used by
`fc.train`, `fc.run` (the autopilot), `fc.search` (its trials) and `fullcycle train`. A
field left at ``None`` is chosen from the data by the rules in `resolve` — stated once, here:

* ``hidden=None``: one hidden layer at the midpoint between the network's input width
  (after categorical embeddings) and its outputs (seed 001, step 2);
* ``batch_size=None``: a power of two giving at least ~50 steps an epoch, 32 to 512
  (seed 003: mini-batches of 64 to 512, powers of two);
* ``epochs=None``: about `TARGET_STEPS` optimizer steps, 10 to 200 epochs;
* ``patience=None``: early stopping after a quarter of the epochs without dev improvement
  (at least 8: the best epoch's weights are restored anyway, so a longer wait costs only
  time, while a short one stops a bigger network before it has fit the training set);
  ``patience=0`` turns early stopping off.

On a table with text columns (the embedding + LSTM of `fullcycle.models.text`) three more:

* ``text_embedding=None`` / ``text_hidden=None``: `text_sizes` of the largest vocabulary and
  the training-set size (seed 001, step 2: "an embedding followed by an LSTM");
* ``batch_size=None``: at least `TEXT_MIN_BATCH`;
* ``clip_norm=None``: `RECURRENT_CLIP_NORM` (unless ``clip_value`` is set), the engine's
  default for recurrent nets; ``clip_norm=0`` turns clipping off.

On a table of text only, ``hidden=None`` is ``()``: the table's body has no column to read.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from typing import TYPE_CHECKING, Any

from fullcycle.engine.fit import RECURRENT_CLIP_NORM
from fullcycle.errors import FullcycleError
from fullcycle.models.embeddings import NUMERIC_EMBEDDINGS
from fullcycle.models.text import text_sizes

if TYPE_CHECKING:
    from fullcycle.recipe.images import ImageKnobs

# Enough optimizer steps for a first fit to converge on small data (where an epoch is a few
# steps) without many epochs on large data; early stopping ends it sooner when dev stalls.
TARGET_STEPS = 2000
MIN_EPOCHS, MAX_EPOCHS = 10, 200
ARCHITECTURE_NAMES = ("mlp", "resnet")
# An LSTM step costs about as much at 128 rows as at 32 on the CPU (measured 6x the
# samples/s), so text batches start at 128, within seed 003's 64-512.
TEXT_MIN_BATCH = 128


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run of the built-in network (the tabular net, with an
    embedding + LSTM path per text column when the table has them).

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
    # "mlp" (`TabularMLP`) or "resnet" (`TabularResNet`, Gorishniy et al. 2021); numeric
    # columns embedded "ple" (piecewise-linear) or "periodic" (Gorishniy et al. 2022), or not
    architecture: str = "mlp"
    numeric_embedding: str | None = None
    # text columns (`fullcycle.models.text`, used only when the data has them): None sizes
    # are chosen from the vocabulary and the data (see `resolve`)
    text_embedding: int | None = None
    text_hidden: int | None = None
    text_layers: int = 1
    bidirectional: bool = False
    text_dropout: float = 0.0
    # pictures (`fullcycle.recipe.images`): the ResNet's and augmentation's knobs
    images: ImageKnobs | None = None
    # the training rows that come from the target distribution (--dev-data's share of train)
    # are seen this many times per epoch (seed 003, fixing data mismatch: make the training
    # data more similar to dev)
    target_weight: int = 1

    def __post_init__(self) -> None:
        if self.architecture not in ARCHITECTURE_NAMES:
            raise FullcycleError(f"unknown architecture {self.architecture!r}; use one of: "
                                 f"{', '.join(ARCHITECTURE_NAMES)}")
        if self.numeric_embedding not in (None, *NUMERIC_EMBEDDINGS):
            raise FullcycleError(f"unknown numeric embedding {self.numeric_embedding!r}; use "
                                 f"one of: {', '.join(NUMERIC_EMBEDDINGS)} (or none)")
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
        hidden = "midpoint" if self.hidden is None else ",".join(map(str, self.hidden)) or "-"
        network = (self.images.describe() if self.images is not None
                   else f"hidden {hidden} {self.activation}")
        parts = [network, f"{self.optimizer} lr {self.lr:.2g}"]
        if self.architecture != "mlp":
            parts.insert(0, self.architecture)
        if self.numeric_embedding:
            parts.append(f"{self.numeric_embedding} numeric embedding")
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
        if self.target_weight > 1:
            parts.append(f"target-distribution rows ×{self.target_weight}")
        if self.text_hidden:
            kind = "BiLSTM" if self.bidirectional else "LSTM"
            parts.insert(0, f"text: embedding {self.text_embedding}, {self.text_layers}-layer "
                            f"{kind} {self.text_hidden}"
                         + (f", text dropout {self.text_dropout:g}" if self.text_dropout else ""))
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
    return epochs, max(8, epochs // 4)


def resolve(config: TrainConfig, n_train: int, first_hidden: int,
            text_vocabulary: int | None = None) -> TrainConfig:
    """`config` with every ``None`` chosen from the data (see the module docstring).

    `first_hidden` is the midpoint width of the network that will be built (its input width
    after embeddings; 0 when the table has only text columns), so the rule lives in one place
    (`fullcycle.recipe.trainer`). `text_vocabulary` is the largest text column's vocabulary,
    None without text columns.
    """
    changes: dict[str, Any] = {}
    if config.hidden is None:
        changes["hidden"] = (first_hidden,) if first_hidden else ()
    batch = config.batch_size or choose_batch_size(n_train)
    if text_vocabulary is not None:
        if config.batch_size is None:
            batch = max(batch, TEXT_MIN_BATCH)
        embedding, hidden = text_sizes(text_vocabulary, n_train)
        if config.text_embedding is None:
            changes["text_embedding"] = embedding
        if config.text_hidden is None:
            changes["text_hidden"] = hidden
        if config.clip_norm is None and config.clip_value is None:
            changes["clip_norm"] = RECURRENT_CLIP_NORM
    changes["batch_size"] = batch
    epochs, patience = choose_epochs(n_train, batch)
    if config.epochs is None:
        changes["epochs"] = epochs
    else:
        patience = max(8, config.epochs // 4)
    if config.patience is None:
        changes["patience"] = patience
    return config.with_changes(**changes)
