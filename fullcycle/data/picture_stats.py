"""What drift monitoring reads off a picture: a few numbers and an 8×8 thumbnail.

A picture has no columns a KS test can read, so each picture is summarized by the
quantities that change when the camera, the lighting or the source changes: its brightness
(mean pixel), its contrast (pixel standard deviation), each colour's mean (RGB), and the
file's own width and height before resizing (a new camera, a new upload path). Those go
through the tables' per-column tests. The 8×8 grayscale thumbnail goes to a domain
classifier, as text does (Evidently's method for embeddings and text; see
`fullcycle.monitor.picture_drift`). It catches a change that none of the numbers shows,
such as a different framing or background.

The bundle stores these for its reference sample when it is saved
(`fullcycle.models.bundle`), so monitoring does not need the training pictures on disk.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

THUMBNAIL = "thumbnail"
THUMBNAIL_SIDE = 8
NUMBERS = ("brightness", "contrast")
COLOURS = ("red", "green", "blue")
FILE_SIZE = ("file_width", "file_height")


def statistic_kinds(channels: int) -> dict[str, str]:
    """The monitored columns of a picture bundle and their kinds (numeric / picture)."""
    names = [*NUMBERS, *(COLOURS if channels == 3 else ()), *FILE_SIZE]
    return {**dict.fromkeys(names, "numeric"), THUMBNAIL: "picture"}


def picture_statistics(paths: Sequence[Any], preprocessor: Any) -> pd.DataFrame:
    """One row per picture (module docstring); a file that cannot be read gives a row of
    missing values, which the tests leave out and report as a missing share."""
    from PIL import Image

    rows = []
    for path in paths:
        try:
            with Image.open(path) as img:
                width, height = img.size
            pixels = preprocessor.pixels(path).astype(np.float64)  # (H, W, C) at training size
        except Exception:  # unreadable, truncated or gone: Pillow raises many types
            rows.append(None)
            continue
        gray = pixels.mean(axis=2)
        thumb = np.asarray(Image.fromarray(gray.astype(np.uint8)).resize(
            (THUMBNAIL_SIDE, THUMBNAIL_SIDE), Image.Resampling.BILINEAR), dtype=np.float64)
        row: dict[str, Any] = {"brightness": float(gray.mean()), "contrast": float(gray.std())}
        if pixels.shape[2] == 3:
            row.update({name: float(pixels[:, :, i].mean()) for i, name in enumerate(COLOURS)})
        row.update({"file_width": float(width), "file_height": float(height),
                    THUMBNAIL: (thumb.ravel() / 255.0).tolist()})
        rows.append(row)
    columns = list(statistic_kinds(int(preprocessor.channels)))
    return pd.DataFrame([r if r is not None else dict.fromkeys(columns) for r in rows],
                        columns=columns)
