"""Pictures as network inputs: decode, resize, normalize — one file at a time.

`ImagePreprocessor` is the image counterpart of `fullcycle.data.preprocess.Preprocessor`:
fitted on the training split only (the per-channel mean and standard deviation, seed 002:
"use the same μ and σ to normalize the test set"), saved as JSON in the bundle, and applied
the same way at training and prediction time (`fullcycle predict`, the server's uploads). It
reads the paths of one column of a table; `transform` gives the lazy `ImageArray`
(`fullcycle.data.image_dataset`) that stands where a table has its feature matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from fullcycle.errors import FullcycleError

if TYPE_CHECKING:
    from fullcycle.data.image_dataset import ImageArray

KIND = "image"


def open_picture(path: str | Path | IO[bytes], channels: int) -> Any:
    """The picture at `path` (or in an open binary file) as a Pillow image in L (1 channel)
    or RGB (3), upright.

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
    def pixels(self, path: str | Path | IO[bytes]) -> np.ndarray:
        """uint8 (H, W, C) of one picture (a path or an open binary file, e.g. an upload) at
        the training size (no normalization)."""
        from PIL import Image

        try:
            img = open_picture(path, self.channels)
        except FileNotFoundError:
            raise FullcycleError(f"picture {path} not found; check the path") from None
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
            raise FullcycleError(f"picture {path} cannot be decoded ({exc}); replace or "
                                 "remove the file") from None
        return resize_picture(img, self.height, self.width)

    def normalize(self, pixels: np.ndarray) -> np.ndarray:
        """float32 (C, H, W) from uint8 (H, W, C) (or a batch (n, H, W, C) → (n, C, H, W))."""
        mean = np.asarray(self.mean, dtype=np.float32)
        std = np.asarray(self.std, dtype=np.float32)
        scaled = (pixels.astype(np.float32) / 255.0 - mean) / std
        return np.ascontiguousarray(np.moveaxis(scaled, -1, -3))

    def decode(self, path: str | Path | IO[bytes]) -> np.ndarray:
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
        from fullcycle.data.image_dataset import ImageArray  # the lazy array reads through us

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


def load_preprocessor(data: dict) -> Any:
    """The preprocessor a bundle or preprocessing.json describes: pictures or table columns."""
    if isinstance(data, dict) and data.get("kind") == KIND:
        return ImagePreprocessor.from_dict(data)
    from fullcycle.data.preprocess import Preprocessor

    return Preprocessor.from_dict(data)
