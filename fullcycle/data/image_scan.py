"""Read every picture file once: its content hash, size, colour, pixel sums — and, for small
pictures, the pixels themselves.

The scan has to decode every file anyway (a truncated file must fail here, not in the middle
of training), so it keeps what that decoding gives for free: per-file pixel sums (the
normalization statistics of the training split are then sums over its rows, exact when no
picture needs resizing) and, for pictures of at most `KEEP_PIXELS` pixels while the total
stays under the decoded-pixel cache's size, the pixels themselves, which fill the training
cache so that no small picture is decoded twice (a Fashion-MNIST folder is decoded once).
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

import numpy as np

from fullcycle.data.image_dataset import CACHE_BYTES
from fullcycle.errors import FullcycleError

KEEP_PIXELS = 64 * 64
_GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F", "La"}


@dataclass
class Scan:
    """What reading every file once found, one entry per readable file (in input order)."""

    sha256: list[str]
    heights: np.ndarray
    widths: np.ndarray
    gray: np.ndarray
    unreadable: list[tuple[str, str]]
    keep: np.ndarray  # boolean mask over the input rows: readable
    pixels: list[np.ndarray | None]  # upright uint8, L (gray) or RGB, small pictures only
    gray_sums: np.ndarray  # (n, 2): Σ value, Σ value² of the L (luminance) picture, in [0, 1]
    colour_sums: np.ndarray  # (n, 2, 3): the same per RGB channel
    n_pixels: np.ndarray

    def statistics(self, rows: np.ndarray, channels: int) -> tuple[list[float], list[float]]:
        """Per-channel mean and std over the pictures `rows`, at their own size."""
        count = float(self.n_pixels[rows].sum())
        sums = (self.gray_sums[rows][:, :, None] if channels == 1
                else self.colour_sums[rows]).sum(axis=0) / max(count, 1.0)
        mean = sums[0]
        std = np.sqrt(np.maximum(sums[1] - mean**2, 0.0))
        return [float(m) for m in mean], [float(s) if s > 1e-6 else 1.0 for s in std]


class _Budget:
    """Bytes of pixels the scan may keep, shared by its threads."""

    def __init__(self, total: int) -> None:
        self.left, self.lock = total, threading.Lock()

    def take(self, size: int) -> bool:
        with self.lock:
            if size > self.left:
                return False
            self.left -= size
            return True


def _sums(values: np.ndarray) -> np.ndarray:
    flat = values.reshape(-1, values.shape[-1] if values.ndim == 3 else 1).astype(np.float64)
    flat /= 255.0
    return np.stack([flat.sum(axis=0), (flat**2).sum(axis=0)])


def _scan_one(path: str, budget: _Budget) -> tuple | str:
    """(sha256, height, width, gray, pixels, gray sums, colour sums) or why it fails."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    digest = hashlib.sha256(data).hexdigest()
    from PIL import Image, ImageOps

    try:
        with Image.open(BytesIO(data)) as img:
            img.load()  # decodes every pixel: a truncated file fails here, not in training
            upright = ImageOps.exif_transpose(img)
            luminance = np.asarray(upright if upright.mode == "L" else upright.convert("L"))
            gray = upright.mode in _GRAY_MODES
            colour = None if gray else np.asarray(upright.convert("RGB"))
            if colour is not None and (colour[..., 0] == colour[..., 1]).all() and (
                    colour[..., 1] == colour[..., 2]).all():
                gray, colour = True, None  # an RGB file of a gray picture
    except Exception as exc:  # noqa: BLE001 - Pillow raises many types for a bad file
        return f"is not a picture Pillow can decode ({type(exc).__name__}: {exc})"[:200]
    height, width = luminance.shape
    gray_sums = _sums(luminance)[:, 0]
    colour_sums = np.repeat(gray_sums[:, None], 3, axis=1) if colour is None else _sums(colour)
    kept = luminance if colour is None else colour
    pixels = kept if kept.size <= KEEP_PIXELS * 3 and budget.take(kept.size) else None
    return digest, height, width, gray, pixels, gray_sums, colour_sums


def scan_pictures(paths: list[str], skip_unreadable: bool) -> Scan:
    """Hash and decode every file once (threads: Pillow and hashlib release the GIL)."""
    workers = min(8, (os.cpu_count() or 1) * 2)
    budget = _Budget(CACHE_BYTES)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(lambda p: _scan_one(p, budget), paths, chunksize=64))
    unreadable = [(p, r) for p, r in zip(paths, results, strict=True) if isinstance(r, str)]
    if unreadable and not skip_unreadable:
        path, reason = unreadable[0]
        more = f" (and {len(unreadable) - 1} more)" if len(unreadable) > 1 else ""
        raise FullcycleError(f"picture {path} {reason}{more}; remove or replace the file(s), "
                             "or drop --refuse-unreadable to skip them with a note")
    good = [r for r in results if not isinstance(r, str)]
    heights = np.array([r[1] for r in good], dtype=np.int64)
    widths = np.array([r[2] for r in good], dtype=np.int64)
    return Scan(sha256=[r[0] for r in good], heights=heights, widths=widths,
                gray=np.array([r[3] for r in good], dtype=bool), unreadable=unreadable,
                keep=np.array([not isinstance(r, str) for r in results], dtype=bool),
                pixels=[r[4] for r in good],
                gray_sums=np.array([r[5] for r in good]).reshape(-1, 2),
                colour_sums=np.array([r[6] for r in good]).reshape(-1, 2, 3),
                n_pixels=heights * widths)


def as_chw(pixels: np.ndarray, channels: int) -> np.ndarray:
    """uint8 (C, H, W) from a kept L (H, W) or RGB (H, W, 3) picture, converted as Pillow's
    ``convert`` would (L → RGB repeats the value; RGB → L by Pillow itself)."""
    if pixels.ndim == 2:
        return np.repeat(pixels[None], channels, axis=0)
    if channels == 3:
        return np.ascontiguousarray(np.moveaxis(pixels, -1, 0))
    from PIL import Image

    return np.asarray(Image.fromarray(pixels, "RGB").convert("L"))[None]
