"""Streaming Parquet: the seeds' split sizes by row hash, statistics from the training rows
only, and every training row once per epoch from row groups through the shuffle buffer."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fullcycle.data.hash_split import DEV, TEST, TRAIN, HashSplit
from fullcycle.data.preprocess import Preprocessor
from fullcycle.data.splits import SplitOptions, split_sizes
from fullcycle.data.stream import prepare_stream, should_stream
from fullcycle.engine.fit import fit
from fullcycle.errors import FullcycleError
from fullcycle.models.mlp import TabularMLP

N = 3000


def _frame(n: int = N, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "id": np.arange(n, dtype=np.float64),
        "a": rng.normal(5.0, 2.0, n),
        "b": rng.integers(0, 100, n).astype(np.float64),
        "colour": rng.choice(["red", "green", "blue", "grey"], n, p=[0.4, 0.3, 0.2, 0.1]),
    })
    frame.loc[rng.random(n) < 0.05, "b"] = np.nan
    frame["y"] = (frame["a"] + 0.05 * frame["b"].fillna(50) + rng.normal(size=n) > 7.5
                  ).astype(int)
    return frame


def _write(frame: pd.DataFrame, path, row_group_size: int = 400):
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path,
                   row_group_size=row_group_size)
    return path


def test_split_sizes_are_the_seeds_and_depend_only_on_the_row_number(tmp_path):
    for m in (30, 2_500, 120_000):
        split = HashSplit.make(m, SplitOptions(seed=3), chunk=7_777)  # several chunks
        codes = split.codes(np.arange(m))
        train, dev, test = split_sizes(m)
        assert [(codes == c).sum() for c in (TRAIN, DEV, TEST)] == [train, dev, test]
    a = _write(_frame(), tmp_path / "a.parquet", row_group_size=400)
    b = _write(_frame(), tmp_path / "b.parquet", row_group_size=1000)
    sa, sb = prepare_stream(a, "y"), prepare_stream(b, "y")
    assert len(sa.source.groups) == 8 and len(sb.source.groups) == 3
    assert sa.sizes == sb.sizes == {"train": 1800, "train_dev": 0, "dev": 600, "test": 600}
    assert np.array_equal(sa.X["dev"], sb.X["dev"])  # same rows whatever the row groups
    other = prepare_stream(a, "y", split=SplitOptions(seed=1))
    assert not np.array_equal(other.X["dev"], sa.X["dev"])


def test_statistics_come_from_the_training_rows_alone(tmp_path):
    frame = _frame()
    codes = HashSplit.make(N, SplitOptions()).codes(np.arange(N))
    frame.loc[codes != TRAIN, "a"] = 1000.0  # dev and test rows must not move the statistics
    sp = prepare_stream(_write(frame, tmp_path / "d.parquet"), "y")
    expected = Preprocessor.fit(frame.loc[codes == TRAIN], ["id", "a", "b", "colour"])
    for got, want in zip(sp.preprocessor.numeric, expected.numeric, strict=True):
        assert got.name == want.name and got.indicator == want.indicator
        assert got.mean == pytest.approx(want.mean, rel=1e-12)
        assert got.std == pytest.approx(want.std, rel=1e-12)
        assert got.median == want.median  # the sample is every training row here
    assert sp.preprocessor.numeric[1].mean < 10  # not pulled towards 1000
    assert sp.preprocessor.categorical_columns == expected.categorical_columns
    assert sp.classes == ["0", "1"] and sp.task == "binary"


def test_a_sampled_median_is_within_the_documented_rank_bound(tmp_path):
    sp = prepare_stream(_write(_frame(), tmp_path / "d.parquet"), "y", sample_rows=400)
    k = len(sp.y["train"])
    assert 250 < k < 550  # a Bernoulli draw of about 400 of the 1800 training rows
    codes = sp.split.codes(np.arange(N))
    train_a = np.sort(_frame()["a"].to_numpy()[codes == TRAIN])
    rank = np.searchsorted(train_a, sp.preprocessor.numeric[1].median) / len(train_a)
    epsilon = math.sqrt(math.log(2 / 1e-4) / (2 * k))  # DKW, 99.99%
    assert abs(rank - 0.5) <= epsilon


def test_each_epoch_streams_every_training_row_once_in_a_new_order(tmp_path):
    sp = prepare_stream(_write(_frame(), tmp_path / "d.parquet"), "y")
    batches = sp.train_batches(64, seed=5, shuffle_rows=500)
    ids_col = sp.preprocessor.numeric[0]

    def ids(epoch):  # the id feature, un-standardized, batch by batch
        return [np.rint(b[0][:, 0].numpy().astype(np.float64) * ids_col.std + ids_col.mean)
                .astype(int) for b in batches.batches(epoch)]

    first, again, second = ids(1), ids(1), ids(2)
    codes = sp.split.codes(np.arange(N))
    assert sorted(np.concatenate(first)) == list(np.flatnonzero(codes == TRAIN))
    assert len(first) == len(batches) == math.ceil(1800 / 64)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))  # (seed, epoch)
    assert not np.array_equal(np.concatenate(first), np.concatenate(second))
    # rows of a batch come from several row groups (400 rows each): the buffer mixed them
    groups_per_batch = [len(set(batch // 400)) for batch in first]
    assert np.mean(groups_per_batch) >= 2


def test_fit_trains_on_the_stream_and_the_test_split_stays_locked(tmp_path):
    sp = prepare_stream(_write(_frame(), tmp_path / "d.parquet"), "y")
    model = TabularMLP(sp.preprocessor.n_features, 1, hidden=[16],
                       categorical=sp.preprocessor.categorical)
    result = fit(model, sp.train_batches(64), (sp.X["dev"], sp.y["dev"]), loss="bce",
                 metric="accuracy", task="binary", epochs=8, lr=0.01, progress=False)
    assert result.best["dev_error"] < 0.25
    assert sp.test_accesses == []
    sp.test("final")
    assert sp.test_accesses == ["final"]
    sp.save(tmp_path / "run")
    assert (tmp_path / "run" / "split.json").exists()


def test_a_folder_of_files_is_one_table(tmp_path):
    frame = _frame()
    (tmp_path / "parts").mkdir()
    _write(frame.iloc[:1000], tmp_path / "parts" / "part-0.parquet")
    _write(frame.iloc[1000:], tmp_path / "parts" / "part-1.parquet")
    folder = prepare_stream(tmp_path / "parts", "y")
    single = prepare_stream(_write(frame, tmp_path / "all.parquet"), "y")
    assert folder.sizes == single.sizes
    assert np.array_equal(folder.X["dev"], single.X["dev"])
    assert folder.fingerprint != single.fingerprint
    # small folders keep the in-memory path, with the rows in the same order
    from fullcycle.data.load import load_table

    assert load_table(tmp_path / "parts")["id"].tolist() == list(range(N))


def test_problems_are_one_line_errors(tmp_path):
    frame = _frame()
    path = _write(frame, tmp_path / "d.parquet")
    with pytest.raises(FullcycleError, match="--target column 'nope' not found"):
        prepare_stream(path, "nope")
    with pytest.raises(FullcycleError, match="split by row hash"):
        prepare_stream(path, "y", split=SplitOptions(group_column="colour"))
    frame.loc[5, "y"] = None
    holes = _write(frame, tmp_path / "holes.parquet")
    with pytest.raises(FullcycleError, match="--drop-missing-target"):
        prepare_stream(holes, "y")
    assert prepare_stream(holes, "y", drop_missing_target=True).n_train in (1799, 1800)
    (tmp_path / "mixed").mkdir()
    _write(frame[["a", "y"]], tmp_path / "mixed" / "0.parquet")
    _write(frame[["b", "y"]], tmp_path / "mixed" / "1.parquet")
    with pytest.raises(FullcycleError, match="same columns"):
        prepare_stream(tmp_path / "mixed", "y")


def test_only_tables_too_large_for_memory_are_streamed(tmp_path):
    path = _write(_frame(), tmp_path / "d.parquet")
    assert not should_stream(path, available=64 * 2**30)
    assert should_stream(path, available=1000)
    frame_csv = tmp_path / "d.csv"
    _frame().to_csv(frame_csv, index=False)
    assert not should_stream(frame_csv, available=1000)  # CSV: the in-memory path
