"""The seeds' ceiling table: share of reviewed dev errors per tag."""

from __future__ import annotations

import pandas as pd
import pytest

from fullcycle.analysis.ceiling import ceiling_table, split_tags
from fullcycle.errors import FullcycleError


def _tagged(tmp_path, tags: list[str]) -> str:
    path = tmp_path / "tagged.csv"
    pd.DataFrame({"row": range(len(tags)), "y_true": "cat", "tags": tags}).to_csv(path, index=False)
    return str(path)


def test_ceiling_table_equals_hand_computed(tmp_path) -> None:
    # 10 errors: 8 reviewed. blurry on 4 + 1 shared = 5/8; dog 2 + 1 shared = 3/8; other 1/8.
    tags = ["blurry"] * 4 + ["dog", "Dog ", "blurry; dog", "other", "", ""]
    table = ceiling_table(_tagged(tmp_path, tags), dev_error=0.10)
    assert (table.reviewed, table.total_errors) == (8, 10)
    got = [(r.tag, r.count, r.share_of_errors) for r in table.rows]
    assert got == [("blurry", 5, 0.625), ("dog", 3, 0.375), ("other", 1, 0.125)]
    blurry = table.rows[0]
    assert blurry.max_error_removed == pytest.approx(0.0625)
    assert blurry.dev_error_at_best == pytest.approx(0.0375)
    assert any("2 of 10 errors have no tag" in note for note in table.notes)


def test_course_example_blurry_half_of_ten_percent(tmp_path) -> None:
    # Seed 003: of a 10% dev error, 50% blurry, 10% dogs -> at best 5% and 9%.
    tags = ["blurry"] * 50 + ["dog"] * 10 + ["big cat"] * 10 + ["other"] * 30
    table = ceiling_table(_tagged(tmp_path, tags), dev_error=0.10)
    by_tag = {r.tag: r for r in table.rows}
    assert by_tag["blurry"].dev_error_at_best == pytest.approx(0.05)
    assert by_tag["dog"].dev_error_at_best == pytest.approx(0.09)
    assert table.notes == []


def test_split_tags_accepts_common_separators() -> None:
    assert split_tags("Blurry, dark | dog;blurry") == ["blurry", "dark", "dog"]
    assert split_tags(float("nan")) == [] and split_tags("") == []


def test_untagged_file_names_the_fix(tmp_path) -> None:
    with pytest.raises(FullcycleError, match="tags"):
        ceiling_table(_tagged(tmp_path, ["", ""]))


def test_missing_tags_column_names_the_fix(tmp_path) -> None:
    path = tmp_path / "t.csv"
    pd.DataFrame({"row": [1]}).to_csv(path, index=False)
    with pytest.raises(FullcycleError, match="'tags' column"):
        ceiling_table(path)
