"""Pictures as network inputs: decode, resize, normalize — lazily, one file at a time.

`ImagePreprocessor` is the image counterpart of `fullcycle.data.preprocess.Preprocessor`:
fitted on the training split only (the per-channel mean and standard deviation, seed 002:
"use the same μ and σ to normalize the test set"), saved as JSON in the bundle, and applied
the same way at training and prediction time. It reads the paths of one column of a table.

`ImageArray` stands where a table has its float32 matrix (`Prepared.X[split]`): it knows
its length and shape, and decodes only when asked, so a large folder is never held in memory
at once. `ImageArray.loader` gives the `DataLoader` (with worker processes decoding ahead of
the training loop) that `fc.fit` trains on.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from fullcycle.errors import FullcycleError

KIND = "image"
# Decoding a small picture takes tens of microseconds: below this many pictures a worker
# process costs more to start than it saves.
MIN_ROWS_FOR_WORKERS = 4096
MAX_WORKERS = 4
# Decoded pixels of a split are kept when they fit in this many bytes (uint8): Fashion-MNIST's
# 50,000 training pictures take 39 MB; a folder of 100,000 64×64 photos (1.2 GB) is decoded
# again on every epoch instead.
CACHE_BYTES = 512 * 2**20


def open_picture(path: str | Path, channels: int) -> Any:
    """The picture at `path` as a Pillow image in L (1 channel) or RGB (3), upright.

    EXIF orientation is applied (phone photos are stored sideways with a flag), transparency
    is dropped. Raises OSError / ValueError for files Pillow cannot decode.
    """
    from PIL import Image, ImageOps

    with Image.open(path) as img:
        img.load()
        img = ImageOps.exif_transpose(img)
        return img.convert("L" if channels == 1 else "RGB")


def resize_picture(img: Any, height: int, width: int) -> np.ndarray:
    """uint8 array (height, width, channels) of a Pillow image resized with Pillow's filter."""
    from PIL import Image

    if img.size != (width, height):
        # Pillow's bilinear resize widens its kernel when shrinking, so it antialiases
        img = img.resize((width, height), Image.Resampling.BILINEAR)
    arr = np.asarray(img, dtype=np.uint8)
    return arr[:, :, None] if arr.ndim == 2 else arr


@dataclass
class ImagePreprocessor:
    """How a path becomes a normalized float32 tensor (C, H, W); JSON-serializable."""

    column: str
    height: int
    width: int
    channels: int
    mean: list[float] = field(default_factory=list)
    std: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # ---- the table Preprocessor's interface (Prepared, bundles and reports use it) ----------
    @property
    def n_features(self) -> int:
        return self.channels * self.height * self.width

    @property
    def feature_names(self) -> list[str]:
        return [self.column]

    @property
    def categorical(self) -> list[tuple[int, int]]:
        return []

    @property
    def dropped(self) -> dict:
        return {}

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.channels, self.height, self.width)

    # a picture has no table columns of these kinds (the recipe asks every preprocessor)
    numeric: ClassVar[tuple] = ()
    categorical_columns: ClassVar[tuple] = ()
    text_columns: ClassVar[tuple] = ()
    text: ClassVar[tuple] = ()
    dates: ClassVar[tuple] = ()
    n_tabular: ClassVar[int] = 0
    last_truncated: ClassVar[dict] = {}

    @property
    def used_columns(self) -> list[str]:
        return [self.column]

    def transform_records(self, rows: list[dict]) -> ImageArray:
        """The pictures named by `rows` (dicts holding the path column), lazily."""
        return self.transform(pd.DataFrame(rows), strict=True)

    def input_schema(self) -> dict:
        return {self.column: {"type": "image", "height": self.height, "width": self.width,
                              "channels": self.channels}}

    def to_dict(self) -> dict:
        return {"kind": KIND, "column": self.column, "height": self.height,
                "width": self.width, "channels": self.channels, "mean": list(self.mean),
                "std": list(self.std), "notes": list(self.notes),
                "feature_names": self.feature_names}

    @classmethod
    def from_dict(cls, data: dict) -> ImagePreprocessor:
        try:
            made = cls(column=str(data["column"]), height=int(data["height"]),
                       width=int(data["width"]), channels=int(data["channels"]),
                       mean=[float(v) for v in data["mean"]],
                       std=[float(v) for v in data["std"]],
                       notes=list(data.get("notes", [])))
        except (KeyError, TypeError, ValueError) as exc:
            raise FullcycleError(f"image preprocessing JSON is malformed ({exc}); re-create "
                                 "it by training again") from None
        if made.channels not in (1, 3) or len(made.mean) != made.channels \
                or len(made.std) != made.channels or min(made.height, made.width) < 1:
            raise FullcycleError("image preprocessing JSON is inconsistent (channels, mean, "
                                 "std or size); re-create it by training again")
        return made

    # ---- decoding -----------------------------------------------------------------------------
    def pixels(self, path: str | Path) -> np.ndarray:
        """uint8 (H, W, C) of one picture at the training size (no normalization)."""
        try:
            img = open_picture(path, self.channels)
        except FileNotFoundError:
            raise FullcycleError(f"picture {path} not found; check the path") from None
        except (OSError, ValueError, SyntaxError) as exc:
            raise FullcycleError(f"picture {path} cannot be decoded ({exc}); replace or "
                                 "remove the file") from None
        return resize_picture(img, self.height, self.width)

    def normalize(self, pixels: np.ndarray) -> np.ndarray:
        """float32 (C, H, W) from uint8 (H, W, C) (or a batch (n, H, W, C) → (n, C, H, W))."""
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        scaled = (pixels.astype(np.float32) / 255.0 - mean) / std
        return np.ascontiguousarray(np.moveaxis(scaled, -1, -3))

    def decode(self, path: str | Path) -> np.ndarray:
        """The network input for one picture: float32 (C, H, W)."""
        return self.normalize(self.pixels(path))

    def transform(self, frame: pd.DataFrame, *, strict: bool = False) -> ImageArray:
        """The pictures named by `frame[column]`, as a lazy `ImageArray` (nothing decoded)."""
        if self.column not in frame.columns:
            raise FullcycleError(f"missing column '{self.column}'; the model was trained on "
                                 f"pictures whose paths are in '{self.column}'")
        paths = frame[self.column]
        if paths.isna().any():
            raise FullcycleError(f"column '{self.column}' has {int(paths.isna().sum())} empty "
                                 "cells; every row needs a picture path")
        return ImageArray(np.asarray(paths.astype(str), dtype=object), self)

    def fit_statistics(self, paths: Sequence[str], max_pictures: int = 20_000,
                       seed: int = 0) -> None:
        """Per-channel mean and std of the pixels of `paths` (the TRAINING pictures).

        At most `max_pictures` of them, a seeded sample, are decoded: the statistics of
        20,000 pictures are exact to about 0.1% of a unit, and decoding more only costs time.
        """
        chosen = np.asarray(paths, dtype=object)
        if len(chosen) > max_pictures:
            rng = np.random.default_rng(seed)
            chosen = chosen[np.sort(rng.choice(len(chosen), max_pictures, replace=False))]
        total = np.zeros(self.channels)
        squares = np.zeros(self.channels)
        count = 0
        for path in chosen:
            values = self.pixels(path).reshape(-1, self.channels).astype(np.float64) / 255.0
            total += values.sum(axis=0)
            squares += (values**2).sum(axis=0)
            count += len(values)
        mean = total / max(count, 1)
        std = np.sqrt(np.maximum(squares / max(count, 1) - mean**2, 0.0))
        # a constant channel (a blank scan) would divide by zero; leave it unscaled
        self.mean = [float(m) for m in mean]
        self.std = [float(s) if s > 1e-6 else 1.0 for s in std]


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
        processes (each batch is normalized there too, as one tensor operation).

        `drop_singleton` drops a last batch of one picture (batch norm cannot normalize it).
        """
        n = len(self)
        workers = default_workers(n) if workers is None else int(workers)
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

    def __call__(self, items: list[tuple[torch.Tensor, torch.Tensor]]
                 ) -> tuple[torch.Tensor, torch.Tensor]:
        pictures = torch.stack([x for x, _ in items])
        labels = torch.stack([y for _, y in items])
        return normalize_batch(pictures, self.preprocessor), labels


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


def load_preprocessor(data: dict) -> Any:
    """The preprocessor a bundle or preprocessing.json describes: pictures or table columns."""
    if isinstance(data, dict) and data.get("kind") == KIND:
        return ImagePreprocessor.from_dict(data)
    from fullcycle.data.preprocess import Preprocessor

    return Preprocessor.from_dict(data)


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
