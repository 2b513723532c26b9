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


def _heavy_frame(n: int = 2000, seed: int = 0) -> pd.DataFrame:
    """`rooms` has a few rows 50+ standard deviations out; `x` is normal."""
    rng = np.random.default_rng(seed)
    rooms = rng.lognormal(1.5, 0.3, n)
    rooms[:3] = [400.0, 650.0, 900.0]
    return pd.DataFrame({"rooms": rooms, "x": rng.normal(3.0, 2.0, n),
                         "flag": (rng.random(n) < 0.002).astype(float)})


def test_heavy_tailed_column_gets_a_quantile_transform_and_a_normal_one_stays_standardized():
    train = _heavy_frame()
    pre = Preprocessor.fit(train, ["rooms", "x", "flag"])
    rooms, x, flag = pre.numeric
    assert (rooms.scaling, x.scaling, flag.scaling) == ("quantile", "standard", "standard")
    assert any("'rooms' is heavy-tailed" in note and "max |z|" in note for note in pre.notes)
    out = pre.transform(train)
    assert np.abs(out[:, 0]).max() < 5.3  # the 50σ rows end near the normal's ±5.2 clip
    assert abs(out[:, 0].mean()) < 0.05 and abs(out[:, 0].std() - 1.0) < 0.1
    assert np.allclose(out[:, 1], (train["x"] - x.mean) / x.std, atol=1e-6)


def test_quantile_statistics_come_from_train_only_and_match_scikit_learn():
    from sklearn.preprocessing import QuantileTransformer

    train, dev = _heavy_frame(seed=0), _heavy_frame(seed=1)
    dev.loc[:50, "rooms"] *= 100  # dev changes must not move anything learned
    pre = Preprocessor.fit(train, ["rooms"])
    assert pre.to_dict() == Preprocessor.fit(train, ["rooms"]).to_dict()
    reference = QuantileTransformer(n_quantiles=1000, output_distribution="normal",
                                    subsample=None).fit(train[["rooms"]])
    for frame in (train, dev):
        expected = reference.transform(frame[["rooms"]])[:, 0]
        assert np.allclose(pre.transform(frame)[:, 0], expected, atol=1e-5)


def test_robust_scaling_round_trips_through_json_identically():
    import json

    train, dev = _heavy_frame(seed=0), _heavy_frame(seed=1)
    train.loc[:20, "rooms"] = np.nan  # imputed with the median, then transformed
    pre = Preprocessor.fit(train, ["rooms", "x"])
    again = Preprocessor.from_dict(json.loads(json.dumps(pre.to_dict())))
    for frame in (train, dev):
        assert np.array_equal(pre.transform(frame), again.transform(frame))


def test_preprocessing_json_from_before_robust_scaling_still_loads():
    pre = Preprocessor.fit(_frame(), ["x", "city"])
    old = pre.to_dict()
    for column in old["numeric"]:
        del column["scaling"], column["quantiles"]
    assert np.array_equal(Preprocessor.from_dict(old).transform(_frame()),
                          pre.transform(_frame()))
