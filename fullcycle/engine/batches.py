"""Mini-batches for the loop: in-memory tensors sliced by a random permutation, or a loader.

Tabular data held in memory is batched by indexing whole tensors with a slice of one
``randperm`` per epoch: one gather per tensor per batch instead of ``batch_size`` calls to a
Dataset's ``__getitem__`` and a collate, which is what lets `fit` keep pace with a
hand-written loop. The permutation comes from a generator seeded by ``(seed, epoch)``, so an
epoch sees the same order whether or not training was interrupted and resumed before it.
A `DataLoader` (images from disk, text) is used as given, each batch moved to the device;
a `TensorDataset` is batched in memory like ``(X, y)``, any other `Dataset` through a
`DataLoader` of ``batch_size``. Keras' ``([x1, x2], y)`` is ``(x1, x2, y)``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, IterableDataset, TensorDataset

from fullcycle.errors import FullcycleError

Batch = tuple[Tensor, ...]


def _tensor(a: Any, name: str, targets: bool = False) -> Tensor:
    if isinstance(a, Tensor):
        t = a.detach()
    else:
        if hasattr(a, "to_numpy"):  # pandas
            a = a.to_numpy()
        arr = np.asarray(a)
        if arr.dtype.kind in "OUSM":  # objects, text, bytes, dates
            raise FullcycleError(_text_message(arr, name, targets))
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.dtype == torch.float64:
        t = t.float()  # float32 is the training precision; float64 only halves the speed
    elif t.dtype in (torch.int32, torch.int16, torch.int8, torch.uint8):
        t = t.long()
    return t


def _text_message(arr: np.ndarray, name: str, targets: bool) -> str:
    what = f"{name} targets" if targets else f"{name} inputs"
    if arr.dtype.kind == "M":
        return (f"{what} hold dates; turn them into numbers first (fc.prepare derives year, "
                "month, weekday and elapsed days from a date column)")
    flat = arr.reshape(-1)
    examples = ", ".join(repr(v) for v in list(dict.fromkeys(flat[:50].tolist()))[:3])
    if targets:
        return (f"{name} targets are text ({examples}, …); encode them as class codes 0..C-1 "
                "first, e.g. codes, classes = pd.factorize(y) (fc.prepare does this for "
                "tables)")
    return (f"{name} inputs hold text ({examples}, …); encode them as numbers first "
            "(fc.prepare does this for tables)")


def _is_array(a: Any) -> bool:
    return isinstance(a, Tensor | np.ndarray) or hasattr(a, "to_numpy")


def as_tensors(data: Sequence[Any], name: str = "train") -> Batch:
    """``(X, y)``, ``(*inputs, y)`` or Keras' ``([x1, x2], y)`` as tensors with equal first
    dimension."""
    if not isinstance(data, list | tuple) or len(data) < 2:
        raise FullcycleError(
            f"{name} data must be (X, y), (*inputs, y), a Dataset or a DataLoader; got "
            f"{type(data).__name__}"
        )
    if (len(data) == 2 and isinstance(data[0], list | tuple) and data[0]
            and all(_is_array(a) for a in data[0])):
        data = (*data[0], data[1])  # Keras: a list of input arrays, then the labels
    last = len(data) - 1
    tensors = tuple(_tensor(a, name, targets=i == last) for i, a in enumerate(data))
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


def _on_device(t: Tensor, device: torch.device) -> Tensor:
    """A loader's tensor on the device, float64 as float32 (as `_tensor` does in memory)."""
    t = t.to(device, non_blocking=True)
    return t.float() if t.dtype == torch.float64 else t


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
            yield tuple(_on_device(t, self.device) for t in batch)


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
            yield tuple(_on_device(t, self.device) for t in batch)


def make_batches(data: Any, batch_size: int, device: torch.device, *, shuffle: bool,
                 seed: int, name: str, drop_singleton: bool = False
                 ) -> InMemoryBatches | LoaderBatches | StreamBatches:
    """Wrap ``data`` (arrays, tensors, a Dataset, a DataLoader or a stream) for the loop."""
    if isinstance(data, DataLoader):
        return LoaderBatches(data, device)
    if callable(getattr(data, "batches", None)) and hasattr(data, "n_examples"):
        return StreamBatches(data, device)
    if isinstance(data, TensorDataset):
        data = data.tensors
    elif isinstance(data, Dataset):
        generator = torch.Generator().manual_seed(seed)
        shuffled = shuffle and not isinstance(data, IterableDataset)
        return LoaderBatches(DataLoader(data, batch_size=batch_size, shuffle=shuffled,
                                        generator=generator), device)
    return InMemoryBatches(as_tensors(data, name), batch_size, device, shuffle=shuffle,
                           seed=seed, drop_singleton=drop_singleton)
