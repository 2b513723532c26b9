"""`fullcycle errors DIR` through the real command line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

CLASSES = ["cat", "dog", "fox"]


def _write_run(directory: Path, n: int = 120, seed: int = 0) -> pd.DataFrame:
    """A run directory with the dev predictions the autopilot saves (3 classes)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    logits = rng.normal(size=(n, 3)) + 2.0 * np.eye(3)[y]
    proba = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    frame = pd.DataFrame({"row": np.arange(n) * 2 + 7, "y_true": np.array(CLASSES)[y]})
    for i, name in enumerate(CLASSES):
        frame[f"proba_{name}"] = proba[:, i]
    frame["camera"] = rng.choice(["phone", "dslr"], n)
    directory.mkdir(parents=True, exist_ok=True)
    frame.to_csv(directory / "dev_predictions.csv", index=False)
    (directory / "summary.json").write_text(
        json.dumps({"task": "multiclass", "errors": {"dev": 0.2}})
    )
    return frame


def test_errors_json_counts_misclassified_rows_and_writes_errors_csv(cli, tmp_path) -> None:
    frame = _write_run(tmp_path / "run")
    code, out, err = cli("errors", tmp_path / "run", "--json")
    assert code == 0, err
    doc = json.loads(out)
    proba = frame[[f"proba_{c}" for c in CLASSES]].to_numpy()
    wrong = np.array(CLASSES)[proba.argmax(axis=1)] != frame["y_true"].to_numpy()
    assert doc["n_examples"] == 120 and doc["n_errors"] == int(wrong.sum())
    assert np.sum(doc["confusion_matrix"]) == 120
    table = pd.read_csv(tmp_path / "run" / "errors.csv", keep_default_na=False)
    assert sorted(table["row"]) == sorted(frame.loc[wrong, "row"])
    assert (table["tags"] == "").all() and "input.camera" in table.columns
    saved = json.loads((tmp_path / "run" / "error_analysis.json").read_text())
    assert saved["n_errors"] == doc["n_errors"] and saved["ceiling"] is None


def test_errors_tags_give_the_ceiling_table_against_the_run_dev_error(cli, tmp_path) -> None:
    _write_run(tmp_path / "run")
    assert cli("errors", tmp_path / "run")[0] == 0
    errors_csv = tmp_path / "run" / "errors.csv"
    table = pd.read_csv(errors_csv, keep_default_na=False)
    n = len(table)
    table["tags"] = ["blurry" if i % 2 == 0 else "dark" for i in range(n)]
    table.loc[0, "tags"] = "blurry;dark"
    table.to_csv(errors_csv, index=False)
    code, out, err = cli("errors", tmp_path / "run", "--tags", errors_csv, "--json")
    assert code == 0, err
    ceiling = json.loads(out)["ceiling"]
    blurry = (n + 1) // 2
    dark = n // 2 + 1
    rows = {r["tag"]: r for r in ceiling["rows"]}
    assert rows["blurry"]["count"] == blurry and rows["dark"]["count"] == dark
    assert rows["blurry"]["share_of_errors"] == pytest.approx(blurry / n)
    assert rows["blurry"]["max_error_removed"] == pytest.approx(0.2 * blurry / n)
    # The tagged file is the person's work: running again must not overwrite it.
    code, out, _ = cli("errors", tmp_path / "run", "--json")
    assert code == 0 and any("left as it is" in note for note in json.loads(out)["notes"])
    assert pd.read_csv(errors_csv)["tags"].iloc[0] == "blurry;dark"


def test_errors_human_output_shows_the_tables(cli, tmp_path) -> None:
    _write_run(tmp_path / "run")
    code, out, _ = cli("errors", tmp_path / "run")
    assert code == 0
    for heading in ("Confusion matrix", "Per class", "Slices that hurt most", "errors.csv"):
        assert heading in out


def test_regression_predictions_are_analysed_by_absolute_error(cli, tmp_path) -> None:
    rng = np.random.default_rng(0)
    y = rng.normal(size=50)
    frame = pd.DataFrame({"row": range(50), "y_true": y, "y_pred": y + rng.normal(size=50)})
    (tmp_path / "reg").mkdir()
    frame.to_csv(tmp_path / "reg" / "dev_predictions.csv", index=False)
    code, out, err = cli("errors", tmp_path / "reg", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["task"] == "regression" and doc["confusion_matrix"] is None
    assert doc["absolute_error"]["rmse"] == pytest.approx(np.sqrt(np.mean((frame.y_pred - y) ** 2)))
    assert doc["n_errors"] == 5


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ("no_dir", "not found"),
        ("no_predictions", "fullcycle run"),
        ("bad_columns", "proba_<class>"),
        ("tags_missing", "tagged file"),
        ("tags_empty", "no row of the tagged file has a tag"),
    ],
)
def test_user_errors_end_in_one_line_and_status_2(cli, tmp_path, setup, message) -> None:
    run = tmp_path / "run"
    args: list = ["errors", run]
    if setup != "no_dir":
        run.mkdir()
    if setup == "bad_columns":
        pd.DataFrame({"row": [0], "y_true": ["a"], "score": [0.3]}).to_csv(
            run / "dev_predictions.csv", index=False
        )
    if setup.startswith("tags"):
        _write_run(run)
        args += ["--tags", run / "tagged.csv"]
        if setup == "tags_empty":
            pd.DataFrame({"row": [1, 2], "tags": ["", ""]}).to_csv(run / "tagged.csv", index=False)
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and message in err and len(err.strip().splitlines()) == 1


def _run_without_inputs(tmp_path: Path) -> tuple[Path, Path]:
    """A run whose dev_predictions.csv has no input columns, as `fullcycle run` writes it."""
    from fullcycle.data.dataset import fingerprint_frame
    from fullcycle.data.load import load_table
    from fullcycle.journal import Journal

    rng = np.random.default_rng(0)
    n = 200
    data = pd.DataFrame(
        {
            "site": np.where(np.arange(n) < 60, "north", "south"),
            "x": rng.normal(size=n),
            "label": rng.choice(["a", "b"], n),
        }
    )
    source = tmp_path / "data.csv"
    data.to_csv(source, index=False)
    run = tmp_path / "run"
    journal = Journal(run / "journal.sqlite")
    journal.start_run("run", {"data": str(source), "target": "label"})
    journal.close()
    (run / "split.json").write_text(
        json.dumps({"fingerprint": fingerprint_frame(load_table(source)), "targets": ["label"]})
    )
    dev = np.arange(0, n, 2)  # every other row is a dev row
    truth = data["label"].to_numpy()[dev]
    wrong = data["site"].to_numpy()[dev] == "north"  # the model fails on every northern row
    p_a = np.where((truth == "a") != wrong, 0.8, 0.2)
    pd.DataFrame(
        {
            "row": dev,
            "y_true": truth,
            "y_pred": np.where(p_a > 0.5, "a", "b"),
            "proba_a": p_a,
            "proba_b": 1 - p_a,
        }
    ).to_csv(run / "dev_predictions.csv", index=False)
    return run, source


def test_slices_come_from_the_run_data_file_when_predictions_hold_no_inputs(cli, tmp_path):
    run, _ = _run_without_inputs(tmp_path)
    code, out, err = cli("errors", run, "--json")
    assert code == 0, err
    doc = json.loads(out)
    top = doc["slices"][0]
    assert (top["column"], top["value"], top["count"], top["errors"]) == ("site", "north", 30, 30)
    assert not any(s["column"] in ("label", "y_pred") for s in doc["slices"])
    table = pd.read_csv(run / "errors.csv")
    assert set(table["input.site"]) == {"north"} and "input.label" not in table.columns


def test_a_changed_data_file_is_not_sliced(cli, tmp_path):
    run, source = _run_without_inputs(tmp_path)
    pd.read_csv(source).assign(x=0.0).to_csv(source, index=False)
    code, out, _ = cli("errors", run, "--json")
    doc = json.loads(out)
    assert code == 0 and doc["slices"] == []
    assert any("changed since the run" in note for note in doc["notes"])


def test_a_train_run_without_saved_predictions_is_analysed_from_its_bundle(cli, tmp_path):
    rng = np.random.default_rng(0)
    n = 160
    x = rng.normal(size=(n, 2))
    data = pd.DataFrame(
        {
            "x0": x[:, 0],
            "x1": x[:, 1],
            "shade": rng.choice(["dark", "light"], n),
            "label": np.where(x[:, 0] > 0, "yes", "no"),
        }
    )
    data.to_csv(tmp_path / "data.csv", index=False)
    run = tmp_path / "train-run"
    code, _, err = cli(
        "train",
        tmp_path / "data.csv",
        "--target",
        "label",
        "--out",
        run,
        "--epochs",
        "3",
        "--quiet",
    )
    assert code == 0, err
    assert not (run / "dev_predictions.csv").exists()
    code, out, err = cli("errors", run, "--json")
    assert code == 0, err
    doc = json.loads(out)
    summary = json.loads((run / "summary.json").read_text())
    assert doc["n_examples"] == summary["splits"]["dev"]
    assert doc["error"] == pytest.approx(summary["errors"]["dev"])  # the bundle's own dev error
    assert {s["column"] for s in doc["slices"]} <= {"x0", "x1", "shade"}
    # The data file changed: the analysis refuses rather than mixing rows.
    data.assign(x0=data["x0"] + 1).to_csv(tmp_path / "data.csv", index=False)
    code, _, err = cli("errors", run)
    assert code == 2 and "changed since the run" in err
