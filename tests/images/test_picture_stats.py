"""What drift monitoring reads off each picture, stored in the bundle's reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from fullcycle.data.image_preprocess import ImagePreprocessor
from fullcycle.data.picture_stats import picture_statistics, statistic_kinds


def _preprocessor(channels: int) -> ImagePreprocessor:
    return ImagePreprocessor.from_dict({"kind": "image", "column": "path", "height": 8,
                                        "width": 8, "channels": channels,
                                        "mean": [0.5] * channels, "std": [0.25] * channels})


def test_each_picture_gives_its_numbers_and_a_thumbnail(tmp_path: Path) -> None:
    red = np.zeros((20, 30, 3), dtype=np.uint8)
    red[..., 0] = 200
    Image.fromarray(red, "RGB").save(tmp_path / "red.png")
    (tmp_path / "broken.png").write_bytes(b"not a picture")
    frame = picture_statistics([tmp_path / "red.png", tmp_path / "broken.png"],
                               _preprocessor(3))
    assert list(frame.columns) == list(statistic_kinds(3))
    row = frame.iloc[0]
    assert row["red"] == 200 and row["green"] == 0 and row["file_width"] == 30
    assert row["file_height"] == 20 and row["contrast"] == 0.0
    assert len(row["thumbnail"]) == 64 and max(row["thumbnail"]) <= 1.0
    assert frame.iloc[1].isna().all()  # unreadable: missing, left out of the tests


def test_grayscale_pictures_have_no_colour_columns() -> None:
    kinds = statistic_kinds(1)
    assert "red" not in kinds and kinds["thumbnail"] == "picture"
    assert kinds["brightness"] == kinds["file_width"] == "numeric"
