"""A class with fewer rows than splits is dropped with a note, so train and dev measure the
same classes; a two-class target cannot lose one and is refused with one line."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.dataset import prepare
from fullcycle.data.target_encoding import MIN_CLASS_ROWS
from fullcycle.errors import FullcycleError


def _frame(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 2))
    frame = pd.DataFrame(x, columns=["a", "b"])
    frame["y"] = np.digitize(x[:, 0] + x[:, 1], [-1, 0, 1]).astype(str)
    return frame


def test_a_class_of_one_row_is_dropped_and_said():
    frame = _frame()
    frame.loc[5, "y"] = "rare"
    frame.loc[9, "y"] = "odd"
    frame.loc[10, "y"] = "odd"
    p = prepare(frame, "y")
    assert p.classes == ["0", "1", "2", "3"]
    assert sum(p.sizes.values()) == len(frame) - 3
    note = next(n for n in p.notes if "dropped" in n)
    assert note.startswith(f"3 rows of 2 class(es) with fewer than {MIN_CLASS_ROWS} rows "
                           "('odd', 'rare')")
    for name in ("train", "dev"):
        assert set(np.unique(p.y[name])) == {0, 1, 2, 3}


def test_dev_data_rows_of_a_rare_class_go_too_and_a_model_keeps_its_classes():
    frame, extra = _frame(), _frame(100, seed=1)
    frame.loc[3, "y"] = "rare"
    extra.loc[0, "y"] = "rare"
    p = prepare(frame, "y", dev_data=extra)
    assert "rare" not in p.classes and p.n_source_rows == len(frame) - 1
    assert sum(p.sizes.values()) == len(frame) - 1 + len(extra) - 1
    with pytest.raises(FullcycleError, match="does not know"):
        prepare(frame, "y", target_encoding=p.target_encoding)


def test_a_binary_target_with_one_row_of_a_class_is_refused():
    frame = _frame()
    frame["y"] = "no"
    frame.loc[0, "y"] = "yes"
    with pytest.raises(FullcycleError, match="class\\(es\\) 'yes' of target 'y' have fewer "
                       "than 3 rows") as info:
        prepare(frame, "y")
    assert "\n" not in str(info.value)
