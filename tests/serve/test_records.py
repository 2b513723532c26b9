"""The server's row path builds the same feature matrix as the table path, cell for cell."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.preprocess import Preprocessor
from fullcycle.errors import FullcycleError


@pytest.fixture
def preprocessor() -> Preprocessor:
    rng = np.random.default_rng(0)
    train = pd.DataFrame({"x": rng.normal(size=60), "flag": rng.integers(0, 2, 60) == 1,
                          "code": rng.choice([1, 2, 3], 60), "city": rng.choice(["a", "b"], 60)})
    train.loc[:5, "x"] = np.nan
    train.loc[6:8, "city"] = None
    return Preprocessor.fit(train, ["x", "flag", "code", "city"])


def test_records_and_frames_give_identical_matrices(preprocessor):
    rows = [
        {"x": 1.5, "flag": True, "code": 3, "city": "a"},
        {"x": None, "flag": False, "code": 2.0, "city": None},     # missing -> median + flag
        {"x": math.inf, "flag": 1, "code": 7, "city": "zurich"},   # inf -> missing; unseen
        {"x": float("nan"), "flag": 0, "code": 1, "city": " b "},   # text is stripped
        {"x": -3, "flag": True, "code": "3", "city": "b"},
    ]
    from_rows = preprocessor.transform_records(rows)
    from_frame = preprocessor.transform(pd.DataFrame(rows), strict=True)
    assert from_rows.dtype == np.float32 and from_rows.shape == from_frame.shape
    assert np.array_equal(from_rows, from_frame)


def test_a_record_without_a_column_or_with_text_in_a_number_is_refused(preprocessor):
    with pytest.raises(FullcycleError, match="missing column 'city'"):
        preprocessor.transform_records([{"x": 1.0, "flag": 1, "code": 1}])
    with pytest.raises(FullcycleError, match="column 'x' must be numeric but holds 'high'"):
        preprocessor.transform_records([{"x": "high", "flag": 1, "code": 1, "city": "a"}])
