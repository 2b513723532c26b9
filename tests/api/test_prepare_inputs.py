"""`fc.prepare` with what scikit-learn users pass first: arrays, (X, y), a Series, a dict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import fullcycle as fc
from fullcycle.errors import FullcycleError


def _arrays(n: int = 120) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] + X[:, 1] > 0).astype(int)


def test_a_numpy_array_with_a_column_index_as_target():
    X, y = _arrays()
    table = np.column_stack([y, X])
    p = fc.prepare(table, target=0)
    assert p.task == "binary" and p.targets == ["0"] and p.features == ["1", "2", "3"]


def test_x_y_tuple_is_accepted_without_a_target_name():
    X, y = _arrays()
    p = fc.prepare((X, y))
    assert p.task == "binary" and p.preprocessor.n_features == 3
    assert p.sizes["train"] + p.sizes["dev"] + p.sizes["test"] == len(y)


def test_x_y_tuple_keeps_dataframe_and_series_names():
    X, y = _arrays()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    p = fc.prepare((frame, pd.Series(y, name="label")))
    assert p.targets == ["label"] and p.features == ["a", "b", "c"]


def test_x_y_tuple_of_different_lengths_is_refused():
    X, y = _arrays()
    with pytest.raises(FullcycleError, match=r"120 rows .* 119"):
        fc.prepare((X, y[:-1]))


def test_integer_column_names_and_an_integer_target():
    X, y = _arrays()
    frame = pd.DataFrame(np.column_stack([X, y]))  # columns 0, 1, 2, 3
    p = fc.prepare(frame, target=3)
    assert p.targets == ["3"] and p.task == "binary"


def test_target_as_a_series_of_the_frame():
    X, y = _arrays()
    frame = pd.DataFrame(X, columns=["a", "b", "c"]).assign(label=np.where(y, "yes", "no"))
    p = fc.prepare(frame, target=frame["label"])
    assert p.targets == ["label"] and "label" not in p.features
    assert sorted(p.classes) == ["no", "yes"]


def test_target_as_a_separate_series_or_array():
    X, y = _arrays()
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    p = fc.prepare(frame, target=pd.Series(y, name="label"))
    assert p.targets == ["label"] and p.features == ["a", "b", "c"]
    p = fc.prepare(frame, target=y)
    assert p.targets == ["target"]


def test_split_as_a_dict():
    X, y = _arrays(200)
    p = fc.prepare((X, y), split={"dev_size": 0.1, "test_size": 0.1})
    assert p.sizes["dev"] == 20 and p.sizes["test"] == 20


def test_split_dict_with_an_unknown_key_names_the_valid_ones():
    X, y = _arrays()
    with pytest.raises(FullcycleError, match=r"dev_frac.*dev_size, test_size"):
        fc.prepare((X, y), split={"dev_frac": 0.1})


@pytest.mark.parametrize(("source", "target", "message"), [
    ([[1, 2], [3, 4]], "y", r"give a path .*DataFrame.*\(X, y\)"),
    (np.zeros(10), 0, r"2-D"),
    (np.zeros((10, 2)), None, r"pass target="),
    ((np.zeros((10, 2)), np.zeros(10)), 0, r"\(X, y\) already holds the target"),
    (pd.DataFrame({"a": [1, 2]}), 2.5, r"target must be a column name"),
])
def test_what_cannot_be_read_is_refused_with_what_to_pass(source, target, message):
    with pytest.raises(FullcycleError, match=message):
        fc.prepare(source, target)


def test_prepared_repr_is_short_and_sizes_is_a_property():
    X, y = _arrays()
    p = fc.prepare((X, y))
    text = repr(p)
    assert len(text) < 300 and "binary" in text and "train=" in text
    assert isinstance(p.sizes, dict)


def test_test_accesses_is_a_count_beside_the_reasons():
    X, y = _arrays()
    p = fc.prepare((X, y))
    p.test("final evaluation")
    assert p.test_accesses == 1 and p.test_access_reasons == ["final evaluation"]
