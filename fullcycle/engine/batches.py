"""Mini-batches for the loop: in-memory tensors sliced by a random permutation, or a loader.

Tabular data held in memory is batched by indexing whole tensors with a slice of one
``randperm`` per epoch: one gather per tensor per batch instead of ``batch_size`` calls to a
Dataset's ``__getitem__`` and a collate, which is what lets `fit` keep pace with a
hand-written loop. The permutation comes from a generator seeded by ``(seed, epoch)``, so an
epoch sees the same order whether or not training was interrupted and resumed before it.
A `DataLoader` (images from disk, text) is used as given, each batch moved to the device.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader

from fullcycle.errors import FullcycleError

Batch = tuple[Tensor, ...]


def _tensor(a: Any, name: str) -> Tensor:
    if isinstance(a, Tensor):
        t = a.detach()
    else:
        if hasattr(a, "to_numpy"):  # pandas
            a = a.to_numpy()
        arr = np.asarray(a)
        if arr.dtype == object:
            raise FullcycleError(
                f"{name} holds non-numeric values; encode it as numbers first "
                f"(fullcycle.prepare does this for tables)"
            )
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.float64:
        t = t.float()  # float32 is the training precision; float64 only halves the speed
    elif t.dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        t = t.long()
    return t


def as_tensors(data: Sequence[Any], name: str = "train") -> Batch:
    """``(X, y)`` or ``(*inputs, y)`` arrays/tensors as tensors with equal first dimension."""
    if not isinstance(data, list | tuple) or len(data) < 2:
        raise FullcycleError(
            f"{name} data must be (X, y), (*inputs, y) or a DataLoader; got {type(data).__name__}"
        )
    tensors = tuple(_tensor(a, name) for a in data)
    n = len(tensors[0])
    if any(len(t) != n for t in tensors):
        sizes = ", ".join(str(len(t)) for t in tensors)
        raise FullcycleError(f"{name} inputs and targets have different lengths ({sizes})")
    if n == 0:
        raise FullcycleError(f"{name} data has no rows; pass at least one example")
    return tensors


class InMemoryBatches:
    """Shuffled mini-batches by tensor slicing; the data lives on the training device."""

    def __init__(self, tensors: Batch, batch_size: int, device: torch.device,
                 shuffle: bool = True, seed: int = 0, drop_singleton: bool = False) -> None:
        self.tensors = tuple(t.to(device, non_blocking=True) for t in tensors)
        self.n = len(self.tensors[0])
        self.batch_size = max(1, min(int(batch_size), self.n))
        self.shuffle, self.seed, self.device = shuffle, seed, device
        # Batch norm cannot normalize a batch of one example in training mode
        self.drop_singleton = drop_singleton and self.n % self.batch_size == 1 and self.n > 1

    @property
    def n_examples(self) -> int:
        return self.n

    def __len__(self) -> int:
        full = -(-self.n // self.batch_size)
        return full - 1 if self.drop_singleton else full

    def batches(self, epoch: int = 1) -> Iterator[Batch]:
        """The epoch's batches, in the order fixed by ``(seed, epoch)``."""
        if self.shuffle:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            order = torch.randperm(self.n, generator=gen).to(self.device)
        else:
            order = None
        bs = self.batch_size
        for i in range(len(self)):
            if order is None:
                yield tuple(t[i * bs : (i + 1) * bs] for t in self.tensors)
            else:
                index = order[i * bs : (i + 1) * bs]
                yield tuple(t[index] for t in self.tensors)


class LoaderBatches:
    """A user's `DataLoader`, its batches moved to the training device."""

    def __init__(self, loader: DataLoader, device: torch.device) -> None:
        self.loader, self.device = loader, device

    @property
    def n_examples(self) -> int:
        try:
            return len(self.loader.dataset)  # type: ignore[arg-type]
        except TypeError:
            return len(self) * (self.loader.batch_size or 1)

    def __len__(self) -> int:
        return len(self.loader)

    def batches(self, epoch: int = 1) -> Iterator[Batch]:
        for batch in self.loader:
            if not isinstance(batch, list | tuple) or len(batch) < 2:
                raise FullcycleError(
                    "each DataLoader batch must be (x, y) or (*inputs, y); "
                    "return a tuple from the Dataset"
                )
            yield tuple(t.to(self.device, non_blocking=True) for t in batch)


class StreamBatches:
    """Batches a stream makes itself (`fullcycle.data.stream.ParquetBatches`: any object with
    ``batches(epoch)``, ``len()`` and ``n_examples``), moved to the training device. The
    epoch is passed on, so the stream fixes its order by ``(seed, epoch)`` as in memory."""

    def __init__(self, stream: Any, device: torch.device) -> None:
        self.stream, self.device = stream, device
        self.n, self.batch_size = stream.n_examples, getattr(stream, "batch_size", None)

    @property
    def n_examples(self) -> int:
        return self.n

    def __len__(self) -> int:
        return len(self.stream)

    def batches(self, epoch: int = 1) -> Iterator[Batch]:
        for batch in self.stream.batches(epoch):
            yield tuple(t.to(self.device, non_blocking=True) for t in batch)


def make_batches(data: Any, batch_size: int, device: torch.device, *, shuffle: bool,
                 seed: int, name: str, drop_singleton: bool = False
                 ) -> InMemoryBatches | LoaderBatches | StreamBatches:
    """Wrap ``data`` (arrays, tensors, a DataLoader or a stream) for the loop."""
    if isinstance(data, DataLoader):
        return LoaderBatches(data, device)
    if callable(getattr(data, "batches", None)) and hasattr(data, "n_examples"):
        return StreamBatches(data, device)
    return InMemoryBatches(as_tensors(data, name), batch_size, device, shuffle=shuffle,
                           seed=seed, drop_singleton=drop_singleton)
