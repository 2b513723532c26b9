"""What one experiment trains: a frozen configuration the recipe changes one knob at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from fullcycle.recipe.images import ImageKnobs


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of one training run of the built-in tabular network.

    Defaults are the seeds' starting point: Adam (β1 0.9, β2 0.999, ε 1e-8), mini-batches of
    a power of two, no regularization until the diagnosis asks for it.
    """

    hidden: tuple[int, ...] = (16,)
    activation: str = "relu"
    dropout: tuple[float, ...] = ()  # one rate per hidden layer; () means none
    batch_norm: bool = False
    l2: float = 0.0
    optimizer: str = "adam"
    lr: float = 1e-3
    schedule: str = "cosine"
    epochs: int = 30
    batch_size: int = 128
    patience: int = 6
    seed: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    images: ImageKnobs | None = None  # pictures: the ResNet and augmentation knobs

    def with_changes(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def dropout_per_layer(self) -> list[float]:
        rates = list(self.dropout) + [0.0] * (len(self.hidden) - len(self.dropout))
        return rates[: len(self.hidden)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(replace(self, images=None))
        data["hidden"] = list(self.hidden)
        data["dropout"] = list(self.dropout)
        data["images"] = self.images.to_dict() if self.images is not None else None
        return data

    def describe(self) -> str:
        """A short human description: "hidden 64,32 relu, adam lr 3e-3, dropout 0.25"."""
        network = (self.images.describe() if self.images is not None else
                   f"hidden {','.join(map(str, self.hidden))} {self.activation}")
        parts = [network, f"{self.optimizer} lr {self.lr:.2g}", f"batch {self.batch_size}",
                 f"{self.epochs} epochs"]
        if any(self.dropout):
            parts.append("dropout " + ",".join(f"{d:g}" for d in self.dropout_per_layer()))
        if self.l2:
            parts.append(f"L2 {self.l2:.2g}")
        if self.batch_norm:
            parts.append("batch norm")
        return ", ".join(parts)
