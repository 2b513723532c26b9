"""Files as they come: junk cells, European CSVs, dates, row ids, umask, an id as target."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import fullcycle as fc
from fullcycle.errors import FullcycleError


def _base(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    return pd.DataFrame({"x": x, "y": (x > 0).astype(int)})


def _notes(p) -> str:
    return " | ".join(p.summary()["notes"])


def test_a_mostly_numeric_column_with_junk_cells_is_numeric_with_those_missing(tmp_path):
    frame = _base()
    rng = np.random.default_rng(1)
    age = rng.integers(18, 90, len(frame)).astype(object)
    junk = rng.choice(len(frame), 42, replace=False)  # 86% numbers
    age[junk] = rng.choice(["unknown", "N/A", "12abc", "?"], len(junk))
    frame["age"] = age
    path = tmp_path / "people.csv"
    frame.to_csv(path, index=False)
    p = fc.prepare(path, "y")
    assert "age" in p.preprocessor.feature_names and "age__missing" in p.preprocessor.feature_names
    assert "age" not in p.preprocessor.dropped
    notes = _notes(p)
    assert "column 'age'" in notes and "non-numeric cells" in notes and "'unknown'" in notes


def test_a_semicolon_decimal_comma_csv_keeps_its_numbers(tmp_path):
    frame = _base()
    frame["z"] = frame["x"] * 1000
    text = frame.to_csv(index=False, sep=";", decimal=",")
    assert "," in text.splitlines()[1]
    path = tmp_path / "european.csv"
    path.write_text(text)
    p = fc.prepare(path, "y")
    assert {"x", "z"} <= set(p.preprocessor.feature_names)
    assert not p.preprocessor.dropped
    assert "decimal comma" in _notes(p)
    np.testing.assert_allclose(p.frame["x"].to_numpy(), frame["x"].to_numpy(), rtol=1e-9)


def test_date_strings_become_year_month_weekday_and_elapsed_days(tmp_path):
    frame = _base()
    frame["signup"] = (pd.Timestamp("2020-01-01")
                       + pd.to_timedelta(np.arange(len(frame)) * 3, unit="D")).strftime("%Y-%m-%d")
    path = tmp_path / "dated.csv"
    frame.to_csv(path, index=False)
    p = fc.prepare(path, "y")
    names = p.preprocessor.feature_names
    assert {"signup.year", "signup.month", "signup.day_of_week", "signup.days"} <= set(names)
    notes = _notes(p)
    assert "'signup' parsed as dates" in notes and "--time-column signup" in notes
    # the saved preprocessing re-applies the same derivation to new rows
    from fullcycle.data.preprocess import Preprocessor
    again = Preprocessor.from_dict(json.loads(json.dumps(p.preprocessor.to_dict())))
    new = pd.DataFrame({"x": [0.1], "signup": ["2021-06-15"]})
    row = again.transform(new, strict=True)
    assert row.shape == (1, p.preprocessor.n_features) and np.isfinite(row).all()


def test_a_bad_date_when_predicting_is_refused():
    from fullcycle.data.preprocess import Preprocessor
    frame = pd.DataFrame({"d": pd.date_range("2020-01-01", periods=60).strftime("%Y-%m-%d"),
                          "x": np.arange(60.0) % 7})
    pre = Preprocessor.fit(frame, ["d", "x"])
    with pytest.raises(FullcycleError, match=r"column 'd' must hold dates but holds 'soon'"):
        pre.transform(pd.DataFrame({"d": ["soon"], "x": [1.0]}), strict=True)


def test_a_monotonic_id_column_is_left_out_with_a_note(tmp_path):
    frame = _base()
    frame.insert(0, "id", np.arange(1000, 1000 + len(frame)))
    path = tmp_path / "ids.csv"
    frame.to_csv(path, index=False)
    p = fc.prepare(path, "y")
    assert "id" not in p.preprocessor.feature_names
    assert p.preprocessor.dropped["id"] == "row identifier"
    assert "column 'id'" in _notes(p) and "unique per row" in _notes(p)


def test_the_id_column_is_left_out_beside_a_time_column_too(cli, tmp_path):
    frame = _base()
    frame.insert(0, "id", np.arange(len(frame)))
    frame["when"] = pd.date_range("2021-01-01", periods=len(frame), freq="h").astype(str)
    path = tmp_path / "timed.csv"
    frame.to_csv(path, index=False)
    code, out, err = cli("split", path, "--target", "y", "--time-column", "when",
                         "--out", tmp_path / "run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert "id" not in doc["features"] and doc["dropped_columns"]["id"] == "row identifier"


def test_a_shuffled_integer_feature_is_kept():
    frame = _base()
    frame["count"] = np.random.default_rng(3).permutation(len(frame))
    p = fc.prepare(frame, "y")
    assert "count" in p.preprocessor.feature_names


def test_an_identifier_like_target_gives_a_short_message(cli, tmp_path):
    frame = _base(1400)
    frame["name"] = [f"customer-{i:05d}" for i in range(1350)] + ["customer-00000"] * 50
    path = tmp_path / "names.csv"
    frame.to_csv(path, index=False)
    code, _, err = cli("split", path, "--target", "name", "--out", tmp_path / "run")
    assert code == 2 and err.count("\n") == 1
    assert len(err) < 400, err
    assert "1,350 distinct values" in err and "identifier" in err


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_written_files_follow_the_users_umask(cli, tmp_path):
    old = os.umask(0o022)
    try:
        frame = _base()
        path = tmp_path / "data.csv"
        frame.to_csv(path, index=False)
        code, _, err = cli("split", path, "--target", "y", "--out", tmp_path / "run", "--quiet")
        assert code == 0, err
        p = fc.prepare(frame, "y")
        from torch import nn
        bundle = fc.save_bundle(tmp_path / "bundle", nn.Sequential(nn.Linear(1, 1)),
                                prepared=p)
    finally:
        os.umask(old)

    def mode(target: Path) -> int:
        return stat.S_IMODE(target.stat().st_mode)

    assert mode(tmp_path / "run" / "split.json") == 0o644
    assert mode(tmp_path / "run" / "summary.json") == 0o644
    assert mode(bundle) == 0o755
    assert mode(bundle / "weights.safetensors") == 0o644
    assert mode(bundle / "bundle.json") == 0o644
