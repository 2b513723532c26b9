"""One split's pictures, decoded on demand, and the DataLoader that feeds them to training.

`ImageArray` stands where a table has its float32 matrix (`Prepared.X[split]`): it knows
its length and shape, and decodes only when asked, so a large folder is never held in memory
at once; the decoded pixels of a split that fits in `CACHE_BYTES` are kept (uint8, in shared
memory). `ImageArray.loader` gives the `DataLoader` (with worker processes decoding ahead of
the training loop when decoding is the work) that `fc.fit` trains on. How one file becomes
pixels is `fullcycle.data.image_preprocess.ImagePreprocessor`.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from fullcycle.data.image_preprocess import ImagePreprocessor
from fullcycle.errors import FullcycleError

# Decoding a small picture takes tens of microseconds: below this many pictures a worker
# process costs more to start than it saves.
MIN_ROWS_FOR_WORKERS = 4096
MAX_WORKERS = 4
# Decoded pixels of a split are kept when they fit in this many bytes (uint8): Fashion-MNIST's
# 50,000 training pictures take 39 MB; a folder of 100,000 64×64 photos (1.2 GB) is decoded
# again on every epoch instead.
CACHE_BYTES = 512 * 2**20


class ImageArray:
    """One split's pictures, decoded on demand: ``len``, ``shape``, lazy ``[rows]``.

    ``X[rows]`` (an index array or slice) is another lazy `ImageArray`; `decode` reads the
    pictures into one float32 array (for a sample, never a whole large folder). Decoded
    pixels are kept (uint8, in shared memory that DataLoader workers fill and read) when
    the split's pixels fit in `CACHE_BYTES`: a small folder is decoded once, a large one on
    every epoch.
    """

    def __init__(self, paths: np.ndarray, preprocessor: ImagePreprocessor) -> None:
        self.paths = np.asarray(paths, dtype=object)
        self.preprocessor = preprocessor
        self._cache: tuple[torch.Tensor, torch.Tensor] | None = None
        self._cache_checked = False
        # a subset X[rows] reads (and fills) the cache of the array it was taken from
        self._base: ImageArray | None = None
        self._base_rows: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def shape(self) -> tuple[int, int, int, int]:
        return (len(self.paths), *self.preprocessor.shape)

    @property
    def ndim(self) -> int:
        return 4

    def __getitem__(self, index: Any) -> ImageArray:
        if isinstance(index, int | np.integer):
            index = [int(index)]
        subset = ImageArray(self.paths[index], self.preprocessor)
        rows = np.arange(len(self))[index]
        subset._base = self._base or self
        subset._base_rows = rows if self._base_rows is None else self._base_rows[rows]
        return subset

    def __repr__(self) -> str:
        c, h, w = self.preprocessor.shape
        return f"ImageArray({len(self)} pictures, {c}×{h}×{w}, decoded on demand)"

    def __array__(self, *args: Any, **kwargs: Any) -> np.ndarray:
        # np.asarray would decode a whole folder at once, silently: say what to call instead
        raise TypeError("an ImageArray decodes pictures on demand: use .decode(rows) for a "
                        "sample or .loader(y) to train")

    # ---- pixels -------------------------------------------------------------------------------
    def _ensure_cache(self) -> None:
        if self._base is not None:
            self._base._ensure_cache()
            return
        if self._cache_checked:
            return
        self._cache_checked = True
        c, h, w = self.preprocessor.shape
        if 0 < len(self) * c * h * w <= CACHE_BYTES:
            store = torch.zeros((len(self), c, h, w), dtype=torch.uint8).share_memory_()
            filled = torch.zeros(len(self), dtype=torch.bool).share_memory_()
            self._cache = (store, filled)

    def prefill(self, i: int, pixels: np.ndarray) -> None:
        """Keep already-decoded uint8 (C, H, W) pixels of picture `i` (when it is cached)."""
        if self._base is not None:
            self._base.prefill(int(self._base_rows[i]), pixels)
            return
        self._ensure_cache()
        if self._cache is not None:
            self._cache[0][i] = torch.from_numpy(pixels)
            self._cache[1][i] = True

    def chw(self, i: int) -> torch.Tensor:
        """uint8 (C, H, W) of picture `i` at the training size, from the cache if there."""
        if self._base is not None:
            return self._base.chw(int(self._base_rows[i]))
        if self._cache is not None and bool(self._cache[1][i]):
            return self._cache[0][i]
        pixels = torch.from_numpy(np.moveaxis(self.preprocessor.pixels(self.paths[i]), -1, 0)
                                  .copy())
        if self._cache is not None:
            self._cache[0][i] = pixels
            self._cache[1][i] = True
        return pixels

    def fully_cached(self) -> bool:
        """True when every picture of this array is in the decoded-pixel cache already (a
        small folder after the scan or one epoch): reading a batch is then one indexing."""
        base = self._base or self
        if base._cache is None:
            return False
        filled = base._cache[1]
        return bool(filled.all() if self._base_rows is None else filled[self._base_rows].all())

    def chw_batch(self, rows: Sequence[int]) -> torch.Tensor:
        """uint8 (n, C, H, W) of the pictures `rows`: one gather from the cache when they are
        all there, else picture by picture (decoding what is missing)."""
        base = self._base or self
        at = (torch.as_tensor(np.asarray(rows, dtype=np.int64)) if self._base_rows is None
              else torch.from_numpy(self._base_rows[np.asarray(rows, dtype=np.int64)]))
        if base._cache is not None and bool(base._cache[1][at].all()):
            return base._cache[0][at]
        return torch.stack([self.chw(int(i)) for i in rows])

    def decode(self, rows: Sequence[int] | np.ndarray | None = None) -> np.ndarray:
        """float32 (n, C, H, W), normalized, of the pictures `rows` (all when None)."""
        self._ensure_cache()
        chosen = range(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        if len(chosen) == 0:
            return np.zeros((0, *self.preprocessor.shape), dtype=np.float32)
        batch = torch.stack([self.chw(int(i)) for i in chosen])
        return normalize_batch(batch, self.preprocessor).numpy()

    def pixels(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """uint8 (n, H, W, C) of the pictures `rows` at the training size (thumbnails)."""
        return np.stack([self.preprocessor.pixels(self.paths[int(i)]) for i in rows])

    def thumbnails(self, side: int = 8, rows: np.ndarray | None = None) -> np.ndarray:
        """float32 (n, C·side·side) in [0, 1]: pictures shrunk to side × side, flattened.

        The features of the image baselines (a linear model on tiny thumbnails is the
        seeds' "simple baseline first" for pictures).
        """
        self._ensure_cache()
        chosen = range(len(self)) if rows is None else np.asarray(rows, dtype=np.int64)
        out = np.empty((len(chosen), self.preprocessor.channels * side * side),
                       dtype=np.float32)
        for start in range(0, len(chosen), 1024):  # one pooling per chunk, not per picture
            part = [int(i) for i in chosen[start:start + 1024]]
            pixels = torch.stack([self.chw(i) for i in part]).float()
            small = torch.nn.functional.adaptive_avg_pool2d(pixels, (side, side))
            out[start:start + len(part)] = small.reshape(len(part), -1).numpy() / 255.0
        return out

    # ---- for training -------------------------------------------------------------------------
    def dataset(self, y: np.ndarray | None = None) -> ImageDataset:
        self._ensure_cache()
        return ImageDataset(self, y)

    def loader(self, y: np.ndarray | None = None, *, batch_size: int = 64,
               shuffle: bool = False, seed: int = 0, workers: int | None = None,
               drop_singleton: bool = False) -> DataLoader:
        """A DataLoader of normalized ``(x, y)`` batches; `workers` decode ahead in other
        processes (each batch is normalized there too, as one tensor operation). None: none
        when every picture is cached already (a batch is then one gather, cheaper than
        handing it over from another process, which would also take a core from training),
        else `default_workers`.

        `drop_singleton` drops a last batch of one picture (batch norm cannot normalize it).
        """
        n = len(self)
        self._ensure_cache()
        if workers is None:
            workers = 0 if self.fully_cached() else default_workers(n)
        workers = int(workers)
        generator = torch.Generator().manual_seed(seed) if shuffle else None
        options: dict[str, Any] = {}
        if workers > 0:
            options = {"persistent_workers": True, "prefetch_factor": 4}
        return DataLoader(self.dataset(y), batch_size=batch_size, shuffle=shuffle,
                          generator=generator, num_workers=workers,
                          collate_fn=NormalizingCollate(self.preprocessor),
                          drop_last=drop_singleton and n % batch_size == 1 and n > 1,
                          **options)


def normalize_batch(batch: torch.Tensor, preprocessor: ImagePreprocessor) -> torch.Tensor:
    """float32 (n, C, H, W) from uint8 (n, C, H, W) with the training mean / std."""
    mean = torch.tensor(preprocessor.mean, dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(preprocessor.std, dtype=torch.float32).view(1, -1, 1, 1)
    return (batch.float().div_(255.0) - mean).div_(std)


class NormalizingCollate:
    """Stacks a batch's uint8 pictures and normalizes them in one operation (picklable, so
    it runs inside DataLoader workers)."""

    def __init__(self, preprocessor: ImagePreprocessor) -> None:
        self.preprocessor = preprocessor

    def __call__(self, items: PictureBatch | list[tuple[torch.Tensor, torch.Tensor]]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        if isinstance(items, PictureBatch):  # fetched at once by ImageDataset.__getitems__
            pictures, labels = items
        else:
            pictures = torch.stack([x for x, _ in items])
            labels = torch.stack([y for _, y in items])
        return normalize_batch(pictures, self.preprocessor), labels


class PictureBatch(NamedTuple):
    """A whole batch read at once: uint8 pictures (n, C, H, W) and their labels."""

    pictures: torch.Tensor
    labels: torch.Tensor


def default_workers(n: int) -> int:
    """Worker processes for `n` pictures: none for small sets, else up to MAX_WORKERS,
    leaving one core to the training loop."""
    if n < MIN_ROWS_FOR_WORKERS:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(MAX_WORKERS, (cores or 1) - 1))


class ImageDataset(Dataset):
    """``(uint8 picture (C, H, W), label)`` pairs of an `ImageArray` (label 0 without y);
    `NormalizingCollate` turns a batch of them into network inputs."""

    def __init__(self, images: ImageArray, y: np.ndarray | None = None) -> None:
        self.images = images
        if y is not None and len(y) != len(images):
            raise FullcycleError(f"{len(images)} pictures but {len(y)} labels; align them")
        self.y = None if y is None else torch.as_tensor(np.asarray(y))

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        y = self.y[index] if self.y is not None else torch.zeros(())
        return self.images.chw(int(index)), y

    def __getitems__(self, indices: list[int]) -> PictureBatch:
        """A batch in one go (the DataLoader asks for this before item by item)."""
        labels = (self.y[torch.as_tensor(indices, dtype=torch.long)] if self.y is not None
                  else torch.zeros(len(indices)))
        return PictureBatch(self.images.chw_batch(indices), labels)


@torch.no_grad()
def predict_images(model: torch.nn.Module, images: ImageArray, batch_size: int = 256,
                   workers: int | None = None) -> torch.Tensor:
    """The model's raw outputs for every picture, batch by batch, as a float32 CPU tensor."""
    first = next(iter(model.parameters()), None)
    device = first.device if first is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    outs = []
    try:
        for x, _ in images.loader(batch_size=batch_size, workers=workers):
            outs.append(model(x.to(device)).float().cpu())
    finally:
        model.train(was_training)
    if not outs:
        return torch.zeros((0, 1))
    return torch.cat(outs)
