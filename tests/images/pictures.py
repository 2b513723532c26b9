"""Small generated pictures for the image tests: shapes per class, written to tmp folders.

Every picture is drawn with Pillow from a seeded generator: one class per shape (a disc, a
bar, a cross), at a random place, size and grey level on a noisy background, so that a
small CNN learns them in a few epochs and a linear model on thumbnails does worse. The
8×8 digits bundled with scikit-learn, saved as PNG files, are the second data set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

SHAPES = ("disc", "bar", "cross")


def draw_shape(shape: str, rng: np.random.Generator, side: int = 16,
               color: bool = False) -> Image.Image:
    """One picture of `shape` on a noisy background."""
    background = rng.integers(0, 60, (side, side, 3 if color else 1), dtype=np.uint8)
    img = Image.fromarray(background.squeeze(-1) if not color else background,
                          "RGB" if color else "L")
    draw = ImageDraw.Draw(img)
    r = int(rng.integers(side // 5, side // 3))
    cx, cy = (int(v) for v in rng.integers(r, side - r, 2))
    ink = int(rng.integers(170, 256))
    fill = (ink, int(rng.integers(0, 256)), 255 - ink // 2) if color else ink
    if shape == "disc":
        draw.ellipse([cx - r, cy - r, cx + r, cy + r], fill=fill)
    elif shape == "bar":
        draw.rectangle([cx - r, cy - 1, cx + r, cy + 1], fill=fill)
    else:
        draw.line([cx - r, cy - r, cx + r, cy + r], fill=fill, width=2)
        draw.line([cx - r, cy + r, cx + r, cy - r], fill=fill, width=2)
    return img


def write_shapes(root: Path, per_class: int = 40, *, classes: tuple[str, ...] = SHAPES,
                 side: int = 16, color: bool = False, seed: int = 0,
                 ext: str = "png") -> Path:
    """A folder of class folders with `per_class` pictures each; returns the folder."""
    rng = np.random.default_rng(seed)
    for shape in classes:
        folder = root / shape
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            draw_shape(shape, rng, side, color).save(folder / f"{shape}_{seed}_{i}.{ext}")
    return root


def write_digits(root: Path, limit: int | None = None) -> Path:
    """scikit-learn's 8×8 digits as grayscale PNGs in one folder per digit."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    images, labels = digits.images, digits.target
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    for i, (pixels, label) in enumerate(zip(images, labels, strict=True)):
        folder = root / str(label)
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray((pixels * 255 / 16).astype(np.uint8), "L").save(folder / f"d{i}.png")
    return root
