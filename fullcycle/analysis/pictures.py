"""Error analysis for pictures: look at them (seed 003: "manually examine mislabeled dev set
examples").

Tables are read; pictures are looked at. `describe_pictures` gives each dev picture two
numbers a person would tag by eye (brightness and contrast), so the slice analysis can say
"dark pictures are wrong twice as often". `write_gallery` saves thumbnails of the
highest-loss dev pictures and of the suspected label errors, with their given and predicted
labels, and a grid of what each augmentation does to a few training pictures, into
``pictures/`` of the run directory; the report shows them, ``errors.csv`` lists the paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from fullcycle.data.image_dataset import ImageArray
from fullcycle.rundir import atomic_write_bytes

GALLERY_DIR = "pictures"
THUMBNAILS = 12  # pictures per gallery: enough to see a pattern, few enough to look at each
THUMB_SIDE = 72  # pixels on screen; tiny pictures are enlarged without smoothing
GRID_EXAMPLES = 4


def describe_pictures(images: ImageArray) -> pd.DataFrame:
    """Per picture: ``brightness`` (mean pixel, 0–1) and ``contrast`` (pixel std, 0–1)."""
    stats = np.empty((len(images), 2), dtype=np.float64)
    for i in range(len(images)):
        pixels = images.chw(i).float() / 255.0
        stats[i] = float(pixels.mean()), float(pixels.std())
    return pd.DataFrame(stats, columns=["brightness", "contrast"])


def _png(pixels: np.ndarray) -> bytes:
    """PNG bytes of a uint8 (H, W, C) picture, enlarged to about THUMB_SIDE pixels."""
    from io import BytesIO

    from PIL import Image

    img = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    scale = THUMB_SIDE / max(img.size)
    if scale != 1:
        size = (max(1, round(img.width * scale)), max(1, round(img.height * scale)))
        smooth = Image.Resampling.BILINEAR if scale < 1 else Image.Resampling.NEAREST
        img = img.resize(size, smooth)
    buffer = BytesIO()
    img.save(buffer, format="PNG")
    return buffer.getvalue()


def _row_lookup(rows: np.ndarray) -> dict[int, int]:
    return {int(r): i for i, r in enumerate(rows)}


def write_gallery(run_dir: Path, images: ImageArray, rows: np.ndarray, analysis: dict,
                  paths: np.ndarray, train_images: ImageArray | None = None,
                  augmentations: tuple[str, ...] = (), used: tuple[str, ...] = (),
                  seed: int = 0) -> dict[str, Any]:
    """Thumbnails of the worst dev pictures and suspected label errors, and the
    augmentation grid; returns the ``pictures`` section of summary.json.

    `images` / `rows` are the dev pictures and their row numbers (those error analysis
    reports); `paths` the source paths by row number.
    """
    position = _row_lookup(rows)
    doc: dict[str, Any] = {"highest_loss": [], "label_issues": []}
    for entry in (analysis.get("highest_loss") or [])[:THUMBNAILS]:
        index = position.get(int(entry["row"]))
        if index is None:
            continue
        name = f"{GALLERY_DIR}/loss_{len(doc['highest_loss']):02d}.png"
        atomic_write_bytes(run_dir / name, _png(images.pixels([index])[0]))
        doc["highest_loss"].append({"row": int(entry["row"]), "path": str(paths[entry["row"]]),
                                    "given": entry.get("y_true"),
                                    "predicted": entry.get("y_pred"),
                                    "loss": entry.get("loss"), "file": name})
    for issue in (analysis.get("label_issues") or [])[:THUMBNAILS]:
        index = position.get(int(issue["row"]))
        if index is None:
            continue
        name = f"{GALLERY_DIR}/label_{len(doc['label_issues']):02d}.png"
        atomic_write_bytes(run_dir / name, _png(images.pixels([index])[0]))
        doc["label_issues"].append({"row": int(issue["row"]), "path": str(paths[issue["row"]]),
                                    "given": issue.get("given_label"),
                                    "suggested": issue.get("suggested_label"),
                                    "label_quality": issue.get("label_quality"), "file": name})
    if train_images is not None and augmentations and len(train_images):
        name = f"{GALLERY_DIR}/augmentations.png"
        atomic_write_bytes(run_dir / name, augmentation_grid(train_images, augmentations, seed))
        doc["augmentations"] = {"file": name, "columns": ["original", *augmentations],
                                "used": list(used)}
    return doc


def augmentation_grid(images: ImageArray, names: tuple[str, ...], seed: int = 0) -> bytes:
    """PNG of GRID_EXAMPLES training pictures (rows): the original, then each augmentation
    applied with certainty (columns), so a person sees what training may show the network."""
    import torch

    from fullcycle.engine.augment import Augmentation

    rng = np.random.default_rng(seed)
    chosen = np.sort(rng.choice(len(images), min(GRID_EXAMPLES, len(images)), replace=False))
    pre = images.preprocessor
    x01 = torch.stack([images.chw(int(i)) for i in chosen]).float() / 255.0
    columns = [x01]
    torch.manual_seed(seed)
    for name in names:
        op = Augmentation([name], pre.mean, pre.std, pre.height, pre.width, probability=1.0)
        columns.append(op.pixels(x01.clone()))
    cells = [[(c[r].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8) for c in columns]
             for r in range(len(chosen))]
    return _grid_png(cells, ["original", *names])


def _grid_png(cells: list[list[np.ndarray]], titles: list[str], gap: int = 4,
              header: int = 16) -> bytes:
    from io import BytesIO

    from PIL import Image, ImageDraw

    tiles = [[Image.open(BytesIO(_png(cell))) for cell in row] for row in cells]
    width, height = tiles[0][0].size
    sheet = Image.new("RGB", (len(tiles[0]) * (width + gap) + gap,
                              header + len(tiles) * (height + gap) + gap), "white")
    draw = ImageDraw.Draw(sheet)
    for c, title in enumerate(titles):
        draw.text((gap + c * (width + gap) + 2, 2), title, fill=(60, 60, 60))
    for r, row in enumerate(tiles):
        for c, tile in enumerate(row):
            sheet.paste(tile.convert("RGB"), (gap + c * (width + gap),
                                              header + gap + r * (height + gap)))
    buffer = BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()
