"""What one experiment trains: a frozen configuration the recipe changes one knob at a time."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any


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
    # text columns (`fullcycle.models.text`): 0 means "no text model"; sizes from the data
    text_embedding: int = 0
    text_hidden: int = 0
    text_layers: int = 1
    bidirectional: bool = False
    text_dropout: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> TrainConfig:
        return replace(self, **changes)

    def dropout_per_layer(self) -> list[float]:
        rates = list(self.dropout) + [0.0] * (len(self.hidden) - len(self.dropout))
        return rates[: len(self.hidden)]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["hidden"] = list(self.hidden)
        data["dropout"] = list(self.dropout)
        return data

    def describe(self) -> str:
        """A short human description: "hidden 64,32 relu, adam lr 3e-3, dropout 0.25"."""
        parts = [f"hidden {','.join(map(str, self.hidden)) or '-'} {self.activation}",
                 f"{self.optimizer} lr {self.lr:.2g}", f"batch {self.batch_size}",
                 f"{self.epochs} epochs"]
        if any(self.dropout):
            parts.append("dropout " + ",".join(f"{d:g}" for d in self.dropout_per_layer()))
        if self.l2:
            parts.append(f"L2 {self.l2:.2g}")
        if self.batch_norm:
            parts.append("batch norm")
        if self.text_hidden:
            kind = "BiLSTM" if self.bidirectional else "LSTM"
            parts.insert(0, f"text: embedding {self.text_embedding}, {self.text_layers}-layer "
                            f"{kind} {self.text_hidden}"
                         + (f", text dropout {self.text_dropout:g}" if self.text_dropout else ""))
        return ", ".join(parts)
