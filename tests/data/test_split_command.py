"""`fullcycle split` through the real command line, including every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest


@pytest.fixture
def table(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    n = 400
    x = rng.normal(size=(n, 2))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "color": rng.choice(["r", "g"], n),
                          "y": np.where(x[:, 0] > 0, "yes", "no")})
    path = tmp_path / "data.csv"
    frame.to_csv(path, index=False)
    return path


def test_split_json_reports_sizes_as_integers(cli, table, tmp_path):
    code, out, err = cli("split", table, "--target", "y", "--out", tmp_path / "run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["task"] == "binary" and doc["n_rows"] == 400
    assert doc["splits"] == {"train": 240, "train_dev": 0, "dev": 80, "test": 80}
    assert doc["duplicates_across_splits"] == 0
    saved = json.loads((tmp_path / "run" / "split.json").read_text())
    assert saved["locked"] == ["test"] and len(saved["indices"]["test"]) == 80
    assert (tmp_path / "run" / "preprocessing.json").exists()
    assert (tmp_path / "run" / "journal.sqlite").exists()


def test_split_with_dev_data_carves_train_dev(cli, table, tmp_path):
    new = pd.read_csv(table).head(200)
    new["a"] += 3.0  # shifted distribution
    new_path = tmp_path / "mobile.csv"
    new.to_csv(new_path, index=False)
    code, out, err = cli("split", table, "--target", "y", "--dev-data", new_path,
                         "--out", tmp_path / "run", "--json")
    assert code == 0, err
    sizes = json.loads(out)["splits"]
    assert sizes["dev"] == sizes["test"] == sizes["train_dev"] == 50
    assert sizes["train"] == 400 - 50 + 100


def test_duplicates_across_splits_are_reported(cli, table, tmp_path):
    frame = pd.read_csv(table)
    frame = pd.concat([frame, frame.head(100)], ignore_index=True)
    path = tmp_path / "dup.csv"
    frame.to_csv(path, index=False)
    code, out, _ = cli("split", path, "--target", "y", "--out", tmp_path / "run", "--json")
    assert code == 0
    assert json.loads(out)["duplicates_across_splits"] > 10


def test_runs_lists_what_a_directory_holds(cli, table, tmp_path):
    cli("split", table, "--target", "y", "--out", tmp_path / "run", "--quiet")
    code, out, _ = cli("runs", tmp_path / "run", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["runs"][0]["command"] == "split"
    assert "summary.json" in doc["files"]


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BAD_INPUTS = {
    "missing file": (lambda t: ["split", t / "nope.csv", "--target", "y"], "not found"),
    "empty file": (lambda t: ["split", _write(t, "e.csv", ""), "--target", "y"], "empty"),
    "header only": (lambda t: ["split", _write(t, "h.csv", "a,y\n"), "--target", "y"],
                    "no rows"),
    "malformed csv": (lambda t: ["split", _write(t, "m.csv", "a,y\n1,0\n2,1,5,6\n3,0\n"),
                                 "--target", "y"], "malformed"),
    "binary file": (lambda t: ["split", _write(t, "b.csv", "\x00\x01\x02garbage"),
                               "--target", "y"], "binary"),
    "unknown extension": (lambda t: ["split", _write(t, "d.xlsx", "a"), "--target", "y"],
                          "extension"),
    "unknown target": (lambda t: ["split", _table(t), "--target", "price"],
                       "'price' not found"),
    "one class": (lambda t: ["split", _table(t, y=["same"] * 50), "--target", "y"],
                  "only one class"),
    "text regression target": (lambda t: ["split", _table(t, y=["a", "b"] * 25),
                                          "--target", "y", "--task", "regression"],
                               "not numeric"),
    "unknown task": (lambda t: ["split", _table(t), "--target", "y", "--task", "ranking"],
                     "unknown task"),
    "all-missing column": (lambda t: ["split", _table(t, empty=True), "--target", "y"],
                           "all values missing"),
    "missing target values": (lambda t: ["split", _table(t, y=[0, 1, None] * 16 + [0, 1]),
                                         "--target", "y"], "--drop-missing-target"),
    "negative dev size": (lambda t: ["split", _table(t), "--target", "y", "--dev-size", "-3"],
                          "--dev-size"),
    "dev plus test too big": (lambda t: ["split", _table(t), "--target", "y",
                                         "--dev-size", "30", "--test-size", "30"],
                              "no training rows"),
    "unknown flag": (lambda t: ["split", _table(t), "--target", "y", "--frobnicate"],
                     "no such option"),
    "missing target flag": (lambda t: ["split", _table(t)], "--target"),
}


def _table(tmp_path: Path, y: list | None = None, empty: bool = False) -> Path:
    y = y if y is not None else [0, 1] * 25
    frame = pd.DataFrame({"a": np.arange(len(y), dtype=float), "y": y})
    if empty:
        frame["blank"] = np.nan
    path = tmp_path / "t.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_and_exit_2(cli, tmp_path, case):
    build, expected = BAD_INPUTS[case]
    out_dir = tmp_path / "run"
    out_dir.mkdir()
    (out_dir / "summary.json").write_text('{"keep": true}')
    code, out, err = cli(*build(tmp_path), "--out", out_dir)
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert expected.lower() in lines[0].lower()
    assert "Traceback" not in err and out == ""
    assert (out_dir / "summary.json").read_text() == '{"keep": true}'  # nothing corrupted
    assert not (out_dir / "split.json").exists()


def test_missing_target_rows_dropped_only_when_asked(cli, tmp_path):
    path = _table(tmp_path, y=[0, 1, None] * 16 + [0, 1])
    code, out, err = cli("split", path, "--target", "y", "--drop-missing-target",
                         "--out", tmp_path / "run", "--json")
    assert code == 0, err
    assert json.loads(out)["n_rows"] == 34


def test_a_real_subprocess_exits_2_without_traceback(tmp_path):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "fullcycle", "split", str(tmp_path / "x.csv"),
                             "--target", "y", "--out", str(tmp_path / "r")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "Traceback" not in result.stderr
