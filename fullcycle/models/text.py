"""The seeds' first architecture for text: an embedding and an LSTM, beside the table's net.

Seed 001, step 2: "for text, an embedding followed by an LSTM". Each text column has its
own tokenizer (`fullcycle.data.text`), so its own embedding table and its own one-layer
LSTM; the columns of the table go through the existing `TabularMLP` body; the pieces are
concatenated and one linear head emits the logits (several heads side by side for a
multi-task target: one linear layer per task on the shared trunk is the same matrix as their
concatenation).

Sequences are **packed** (``pack_padded_sequence``): the LSTM runs over each text's real
tokens only, so a row's output never depends on how much padding its batch needed (the
batch-independence check holds across padded rows). A one-direction LSTM on the CPU runs
over the padded batch and masks the padding instead, which gives the same outputs faster
(see `TextEncoder.forward`).
The text vector is the last hidden state, a pooling of all hidden states, or ULMFiT's
"concat pooling" of last, max and mean (Howard & Ruder 2018, used by fastai's text
learner), the default: on short texts the max over positions keeps a single decisive word
that the last state may have forgotten.

The token ids arrive inside ``x`` as floats after the tabular columns (see
`Preprocessor.text`), so every part of fullcycle that feeds a matrix to a model works.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from fullcycle.errors import FullcycleError
from fullcycle.models.init import init_layer
from fullcycle.models.mlp import OUTPUT_WEIGHT_SCALE, TabularMLP, embedding_size, set_output_bias

POOLINGS = ("last", "mean", "max", "concat")
# Embedding width: fastai's rule min(600, 1.6·V^0.56) for V tokens, capped here at 128 (the
# width of Keras' and fastai's small text examples; wider embeddings of a vocabulary learned
# from one data set mostly memorize it), at least 16.
MAX_TEXT_WIDTH, MIN_TEXT_WIDTH = 128, 16
# Below this many training rows, a width above 32 has more parameters than examples to fit
# them (the seeds' N_s / (a (N_i + N_o)) reasoning applied to the recurrent layer).
SMALL_DATA_ROWS, SMALL_DATA_WIDTH = 2000, 32


def text_sizes(vocabulary: int, n_train: int) -> tuple[int, int]:
    """(embedding width, LSTM hidden size) from the vocabulary and the training-set size."""
    width = int(min(MAX_TEXT_WIDTH, max(MIN_TEXT_WIDTH, embedding_size(vocabulary))))
    if n_train < SMALL_DATA_ROWS:
        width = min(width, SMALL_DATA_WIDTH)
    width = max(MIN_TEXT_WIDTH, 8 * round(width / 8))
    return width, width


class TextEncoder(nn.Module):
    """Token ids (n, L), 0-padded → one vector per text: embedding, LSTM, pooling."""

    def __init__(self, vocabulary: int, embedding_dim: int, hidden_size: int, *,
                 layers: int = 1, bidirectional: bool = False, pooling: str = "concat",
                 dropout: float = 0.0) -> None:
        super().__init__()
        if pooling not in POOLINGS:
            raise FullcycleError(f"unknown pooling {pooling!r}; use one of: "
                                 f"{', '.join(POOLINGS)}")
        if min(vocabulary, embedding_dim, hidden_size, layers) < 1:
            raise FullcycleError("vocabulary, embedding, hidden size and layers must be "
                                 "positive")
        if not 0.0 <= dropout < 1.0:
            raise FullcycleError(f"text dropout must be in [0, 1), got {dropout}")
        self.pooling, self.bidirectional = pooling, bidirectional
        # padding_idx: id 0 embeds to zeros and gets no gradient
        self.embedding = nn.Embedding(vocabulary, embedding_dim, padding_idx=0)
        self.dropout = nn.Dropout(dropout)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=layers, batch_first=True,
                            bidirectional=bidirectional,
                            dropout=dropout if layers > 1 else 0.0)
        state = hidden_size * (2 if bidirectional else 1)
        self.out_features = state * (3 if pooling == "concat" else 1)

    def forward(self, ids: Tensor, packed: bool | None = None) -> Tensor:
        """`packed=True` packs the sequences; `packed=False` runs the LSTM over the padding
        and masks it afterwards. A unidirectional LSTM is causal (a state never sees the
        positions after it), so both give the same vectors (tested); the padded run is 3.6×
        faster on the CPU (measured: 1170 against 330 samples/s at batch 128), so None (the
        default) packs only where it matters: bidirectional LSTMs, and on GPUs (cuDNN's
        packed kernels)."""
        if packed is None:
            packed = self.bidirectional or ids.is_cuda
        ids = ids.clamp(0, self.embedding.num_embeddings - 1)
        # a row of padding only (a zeroed input) is read as one padding step, not refused
        lengths = (ids != 0).sum(dim=1).clamp(min=1)
        embedded = self.dropout(self.embedding(ids))
        width = ids.shape[1]
        if packed:
            sequence = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True,
                                            enforce_sorted=False)
            out, (h, _) = self.lstm(sequence)
            states, _ = pad_packed_sequence(out, batch_first=True, total_length=width)
            last = torch.cat([h[-2], h[-1]], dim=1) if self.bidirectional else h[-1]
        else:
            if self.bidirectional:
                raise FullcycleError("padded (unpacked) runs are only equivalent for a "
                                     "unidirectional LSTM; use packed=True")
            states, _ = self.lstm(embedded)
            # each row's state at its last real token (a gather, so the ONNX export keeps
            # the row count dynamic)
            at = (lengths - 1).view(-1, 1, 1).expand(-1, 1, states.shape[2])
            last = states.gather(1, at).squeeze(1)
        if self.pooling == "last":
            return last
        mask = (torch.arange(width, device=ids.device)[None, :] < lengths[:, None])
        mask = mask.unsqueeze(-1).to(states.dtype)
        mean = (states * mask).sum(dim=1) / lengths[:, None].to(states.dtype)
        if self.pooling == "mean":
            return mean
        biggest = states.masked_fill(mask == 0, float("-inf")).max(dim=1).values
        if self.pooling == "max":
            return biggest
        return torch.cat([last, biggest, mean], dim=1)


class TextMLP(nn.Module):
    """Text columns through `TextEncoder`s, table columns through `TabularMLP`'s body, one
    linear head on their concatenation.

    ``text`` lists ``(first column in x, length cap, vocabulary size)`` per text column
    (`Preprocessor.text`); the columns before the first text column are the table's.
    ``dropout`` is applied to the joined vector before the head (seed 001: dropout first
    before the last linear layer) and ``text_dropout`` to the embeddings (and between LSTM
    layers).
    """

    def __init__(self, n_inputs: int, n_outputs: int, text: Sequence[Sequence[int]], *,
                 embedding_dim: int = 64, hidden_size: int = 64, layers: int = 1,
                 bidirectional: bool = False, pooling: str = "concat",
                 text_dropout: float = 0.0, dropout: float = 0.0,
                 hidden: Sequence[int] = (), activation: str = "relu",
                 batch_norm: bool = False, categorical: Sequence[tuple[int, int]] = (),
                 output_bias: float | Sequence[float] | None = None) -> None:
        super().__init__()
        text = [tuple(int(v) for v in t) for t in text]
        if not text:
            raise FullcycleError("TextMLP needs at least one text column; use TabularMLP")
        if n_outputs < 1:
            raise FullcycleError("the network needs at least one output")
        n_tabular = text[0][0]
        end = n_tabular
        for start, length, vocabulary in text:
            if start != end or length < 1 or vocabulary < len(("pad", "unk", "empty", "miss")):
                raise FullcycleError(f"text column spec {(start, length, vocabulary)} does not "
                                     "follow the previous columns; pass Preprocessor.text")
            end = start + length
        if end != n_inputs:
            raise FullcycleError(f"the text columns end at {end} but x has {n_inputs} columns")
        if not 0.0 <= dropout < 1.0:
            raise FullcycleError(f"dropout must be in [0, 1), got {dropout}")
        self._config: dict[str, Any] = {
            "n_inputs": n_inputs, "n_outputs": n_outputs, "text": [list(t) for t in text],
            "embedding_dim": int(embedding_dim), "hidden_size": int(hidden_size),
            "layers": int(layers), "bidirectional": bool(bidirectional), "pooling": pooling,
            "text_dropout": float(text_dropout), "dropout": float(dropout),
            "hidden": [int(h) for h in hidden], "activation": activation,
            "batch_norm": bool(batch_norm), "categorical": [list(c) for c in categorical],
            "output_bias": None if output_bias is None else list(_floats(output_bias)),
        }
        # the token embeddings are registered first: checks probe the first embedding
        self.encoders = nn.ModuleList(
            TextEncoder(vocabulary, embedding_dim, hidden_size, layers=layers,
                        bidirectional=bidirectional, pooling=pooling, dropout=text_dropout)
            for _, _, vocabulary in text)
        self.spans = [(start, length) for start, length, _ in text]
        self.tabular = (TabularMLP(n_tabular, 1, hidden=list(hidden), activation=activation,
                                   batch_norm=batch_norm, categorical=categorical,
                                   with_output=False) if n_tabular else None)
        joined = sum(e.out_features for e in self.encoders)
        joined += self.tabular.out_features if self.tabular is not None else 0
        self.head_dropout = nn.Dropout(dropout)
        self.output = nn.Linear(joined, n_outputs)
        init_layer(self.output, "xavier", activation)
        with torch.no_grad():  # start at the output bias, the prior (as TabularMLP does)
            self.output.weight.mul_(OUTPUT_WEIGHT_SCALE)
        if output_bias is not None:
            set_output_bias(self, list(_floats(output_bias)))

    @property
    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild the architecture, as JSON-able values."""
        return dict(self._config)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> TextMLP:
        cfg = dict(config)
        cfg["categorical"] = [tuple(c) for c in cfg.get("categorical", [])]
        return cls(**cfg)

    def forward(self, x: Tensor) -> Tensor:
        parts = []
        if self.tabular is not None:
            parts.append(self.tabular.trunk(x[:, : self.spans[0][0]]))
        for encoder, (start, length) in zip(self.encoders, self.spans, strict=True):
            parts.append(encoder(x[:, start : start + length].round().long()))
        return self.output(self.head_dropout(torch.cat(parts, dim=1)))


def _floats(value: float | Sequence[float]) -> list[float]:
    return [float(value)] if isinstance(value, int | float) else [float(v) for v in value]


def is_recurrent(model: nn.Module) -> bool:
    """True when the model holds an RNN / LSTM / GRU (gradient clipping on by default)."""
    return any(isinstance(m, nn.RNNBase) for m in model.modules())
