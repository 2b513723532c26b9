"""The seeds' split rule and the split strategies, as pure functions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.splits import (
    Split,
    SplitOptions,
    duplicates_across_splits,
    make_split,
    split_sizes,
)
from fullcycle.errors import FullcycleError


def test_small_data_is_split_60_20_20():
    assert split_sizes(1_000) == (600, 200, 200)


def test_dev_and_test_stop_near_10000_rows():
    assert split_sizes(100_000) == (80_000, 10_000, 10_000)
    assert split_sizes(1_000_000) == (980_000, 10_000, 10_000)


def test_one_percent_each_at_ten_million_rows():
    assert split_sizes(10_000_000) == (9_800_000, 100_000, 100_000)


def test_sizes_can_be_overridden_by_count_or_fraction():
    assert split_sizes(1_000, dev_size=100, test_size=0.05) == (850, 100, 50)


def test_oversized_dev_and_test_are_refused():
    with pytest.raises(FullcycleError, match="no training rows"):
        split_sizes(100, dev_size=60, test_size=40)


def _all_indices(split: Split) -> np.ndarray:
    return np.concatenate([split.indices[k] for k in ("train", "train_dev", "dev", "test")])


def test_no_row_in_two_splits_and_every_row_somewhere():
    split = make_split(1_000, SplitOptions(seed=3), strata=np.arange(1_000) % 3)
    rows = _all_indices(split)
    assert len(rows) == len(np.unique(rows)) == 1_000


def test_stratification_keeps_each_class_share_within_one_point():
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b", "c"], size=2_000, p=[0.7, 0.2, 0.1])
    split = make_split(2_000, SplitOptions(seed=1), strata=labels)
    overall = {c: np.mean(labels == c) for c in "abc"}
    for name in ("train", "dev", "test"):
        part = labels[split.indices[name]]
        for c in "abc":
            assert abs(np.mean(part == c) - overall[c]) <= 0.01, (name, c)


def test_group_split_keeps_every_group_in_one_split():
    groups = np.repeat(np.arange(100), 10)
    split = make_split(1_000, SplitOptions(seed=0), groups=groups)
    seen = {}
    for name in ("train", "dev", "test"):
        for g in np.unique(groups[split.indices[name]]):
            assert g not in seen, f"group {g} in {seen.get(g)} and {name}"
            seen[g] = name
    assert split.strategy == "group"
    assert 150 <= len(split.indices["test"]) <= 250


def test_time_split_puts_latest_rows_in_test_and_next_latest_in_dev():
    times = pd.Series(pd.date_range("2020-01-01", periods=500, freq="D")).sample(
        frac=1.0, random_state=0).reset_index(drop=True)
    split = make_split(500, SplitOptions(), times=times)
    train_t, dev_t, test_t = (times[split.indices[k]] for k in ("train", "dev", "test"))
    assert train_t.max() < dev_t.min() and dev_t.max() < test_t.min()


def test_dev_data_gives_dev_and_test_only_from_the_new_distribution():
    split = make_split(1_000, SplitOptions(seed=0), n_target_rows=400)
    new = set(range(1_000, 1_400))
    assert set(split.indices["dev"]) <= new and set(split.indices["test"]) <= new
    assert len(split.indices["dev"]) == len(split.indices["test"]) == 100
    assert set(split.indices["train_dev"]).isdisjoint(new)  # train-dev: training distribution
    assert len(split.indices["train_dev"]) == len(split.indices["dev"])
    assert len(set(split.indices["train"]) & new) == 200  # the rest of the new data trains
    rows = _all_indices(split)
    assert len(rows) == len(np.unique(rows)) == 1_400


def test_duplicates_across_splits_are_counted_not_dropped():
    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc"))
    features.iloc[250:260] = features.iloc[0:10].to_numpy()  # 10 copies
    split = Split({"train": np.arange(0, 200), "train_dev": np.arange(0),
                   "dev": np.arange(200, 250), "test": np.arange(250, 300)}, "manual")
    found = duplicates_across_splits(features, split)
    assert found["count"] == 10 and found["rows"] == 20
    assert found["examples"][0]["splits"] == ["test", "train"]


def test_dev_gets_its_rows_when_every_stratum_has_one_member():
    # ten regression rows are ten target deciles of one row each; the test draw takes two
    # of them, and dev must still get its two rows (it used to get none)
    split = make_split(10, SplitOptions(), strata=np.arange(10))
    assert split.sizes() == {"train": 6, "train_dev": 0, "dev": 2, "test": 2}
    rows = np.concatenate([split.indices[k] for k in ("train", "dev", "test")])
    assert sorted(rows.tolist()) == list(range(10))
