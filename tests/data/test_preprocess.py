"""Preprocessing learns from train only and re-applies identically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.preprocess import Preprocessor
from fullcycle.errors import FullcycleError


def _frame(n: int = 200, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "x": rng.normal(5.0, 2.0, n),
        "city": rng.choice(["paris", "rome", "oslo"], n),
        "flat": np.ones(n),
    })
    frame.loc[:9, "x"] = np.nan
    return frame


def test_scaler_statistics_do_not_change_when_dev_or_test_values_change():
    train, dev = _frame(seed=0), _frame(seed=1)
    before = Preprocessor.fit(train, ["x", "city", "flat"])
    dev_scaled_before = before.transform(dev)
    dev["x"] = dev["x"] * 1000 + 7  # wildly different dev values
    after = Preprocessor.fit(train, ["x", "city", "flat"])
    assert before.to_dict() == after.to_dict()
    assert not np.allclose(after.transform(dev), dev_scaled_before)
    train_x = train["x"].dropna()
    assert before.numeric[0].mean == pytest.approx(train_x.mean())
    assert before.numeric[0].std == pytest.approx(train_x.std(ddof=0))


def test_missing_values_get_train_median_and_an_indicator():
    train = _frame()
    pre = Preprocessor.fit(train, ["x", "city"])
    out = pre.transform(train)
    names = pre.feature_names
    assert names == ["x", "x__missing", "city"]
    col = pre.numeric[0]
    assert np.allclose(out[:10, 0], (col.median - col.mean) / col.std)
    assert out[:10, 1].tolist() == [1.0] * 10 and out[10:, 1].sum() == 0


def test_unseen_category_gets_the_unknown_code():
    pre = Preprocessor.fit(_frame(), ["city"])
    out = pre.transform(pd.DataFrame({"city": ["rome", "tokyo"]}))
    assert out[0, 0] > 0 and out[1, 0] == 0
    assert pre.categorical == [(0, 4)]


def test_constant_columns_are_dropped_with_a_note():
    pre = Preprocessor.fit(_frame(), ["x", "flat"])
    assert pre.dropped == {"flat": "constant"}
    assert any("flat" in note for note in pre.notes)


def test_round_trip_through_json_reapplies_identically():
    train = _frame()
    pre = Preprocessor.fit(train, ["x", "city", "flat"])
    again = Preprocessor.from_dict(pre.to_dict())
    assert np.array_equal(pre.transform(train), again.transform(train))


def test_all_missing_column_is_refused_with_the_fix():
    train = _frame()
    train["empty"] = np.nan
    with pytest.raises(FullcycleError, match="--ignore empty"):
        Preprocessor.fit(train, ["x", "empty"])


def test_strict_transform_names_a_text_value_in_a_numeric_column():
    pre = Preprocessor.fit(_frame(), ["x"])
    with pytest.raises(FullcycleError, match="'x' must be numeric"):
        pre.transform(pd.DataFrame({"x": ["1.5", "abc"]}), strict=True)


def test_missing_column_at_transform_is_named():
    pre = Preprocessor.fit(_frame(), ["x", "city"])
    with pytest.raises(FullcycleError, match="missing column.*city"):
        pre.transform(pd.DataFrame({"x": [1.0]}))


def test_infinite_values_are_treated_as_missing_with_a_note():
    train = _frame()
    train.loc[20:24, "x"] = np.inf
    pre = Preprocessor.fit(train, ["x"])
    out = pre.transform(train)
    assert np.isfinite(out).all()
    assert out[20:25, 1].tolist() == [1.0] * 5  # the missing indicator
    assert any("infinite" in note for note in pre.notes)
