"""Task inference and `prepare`: the locked test split, the target encodings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.dataset import prepare
from fullcycle.data.task import infer_task
from fullcycle.errors import FullcycleError


@pytest.mark.parametrize(("values", "task"), [
    (np.random.default_rng(0).normal(size=100), "regression"),
    ([0, 1] * 50, "binary"),
    (["cat", "dog", "bird", "fish"] * 25, "multiclass"),
    ([1, 2, 3] * 33 + [1], "multiclass"),
    (list(range(100)), "regression"),
])
def test_task_is_inferred_from_the_target(values, task):
    frame = pd.DataFrame({"y": values})
    assert infer_task(frame, ["y"]).task == task


def test_several_01_columns_make_a_multilabel_task():
    frame = pd.DataFrame({"a": [0, 1] * 10, "b": [1, 1, 0, 0] * 5})
    info = infer_task(frame, ["a", "b"])
    assert info.task == "multilabel" and info.classes == ("a", "b")


def test_task_override_wins():
    frame = pd.DataFrame({"y": [1, 2, 3] * 10})
    assert infer_task(frame, ["y"], "regression").task == "regression"


def _table(n: int = 300) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 3))
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": rng.choice(list("uvw"), n),
                         "y": (x[:, 0] + x[:, 1] > 0).astype(int)})


def test_test_split_is_locked_and_every_access_counted():
    p = prepare(_table(), "y")
    assert "test" not in p.X
    X, y = p.test("final evaluation")
    assert len(X) == len(y) == p.sizes["test"] == 60
    assert p.test_access_reasons == ["final evaluation"] and p.test_accesses == 1


def test_rows_map_back_to_the_input_file():
    frame = _table()
    p = prepare(frame, "y")
    assert np.array_equal(p.y["dev"], frame["y"].to_numpy()[p.rows["dev"]].astype(np.float32))


def test_regression_targets_are_standardized_with_train_statistics():
    frame = _table()
    frame["y"] = frame["a"] * 100 + 500
    p = prepare(frame, "y")
    assert abs(float(p.y["train"].mean())) < 1e-5
    assert p.error_scale == pytest.approx(frame["y"].iloc[p.rows["train"]].std(ddof=0), rel=1e-6)


def test_saved_split_is_refused_when_the_data_changed():
    frame = _table()
    p = prepare(frame, "y")
    saved = {"fingerprint": p.fingerprint, **p.split.to_dict()}
    again = prepare(frame, "y", saved_split=saved)
    assert np.array_equal(again.rows["train"], p.rows["train"])
    frame.loc[0, "a"] += 1
    with pytest.raises(FullcycleError, match="data changed"):
        prepare(frame, "y", saved_split=saved)


def test_parquet_and_semicolon_csv_load_like_the_dataframe(tmp_path):
    from fullcycle.data.load import load_table

    frame = _table(50)
    frame.to_parquet(tmp_path / "d.parquet")
    frame.to_csv(tmp_path / "d.csv", sep=";", index=False)
    pd.testing.assert_frame_equal(load_table(tmp_path / "d.parquet"), frame)
    assert load_table(tmp_path / "d.csv").shape == frame.shape


def test_corrupt_parquet_is_a_clear_error(tmp_path):
    from fullcycle.data.load import load_table

    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    with pytest.raises(FullcycleError, match="not a readable Parquet"):
        load_table(tmp_path / "bad.parquet")


def test_constant_regression_target_is_refused():
    frame = _table()
    frame["y"] = 3.5
    with pytest.raises(FullcycleError, match="constant"):
        prepare(frame, "y", task="regression")
