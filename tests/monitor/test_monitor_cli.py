"""`fullcycle monitor`: the shifted columns and only those, at both reference sizes; its
files, its exit status for cron jobs, and its bad input refused with one line."""

from __future__ import annotations

import json
import shutil

import drift_data
import pandas as pd
import pytest
import tiny_bundles
from fastapi.testclient import TestClient

from fullcycle.serve.app import ServeConfig, create_app


@pytest.mark.parametrize("size", ["small", "large"])
def test_monitor_flags_the_shifted_columns_and_only_those(cli, drift_bundles, live_files, size,
                                                          tmp_path):
    code, out, err = cli("monitor", drift_bundles[size], live_files["shifted"], "--json",
                         "--out", tmp_path)
    doc = json.loads(out)
    assert code == 0, err  # 2 of 8 columns is below the default drift share of 0.5
    assert doc["drifted_columns"] == list(drift_data.SHIFTED)
    assert doc["drifted"] is False and doc["share"] == 0.25
    expected = {"small": {"n2": "ks", "c1": "chisquare"},
                "large": {"n2": "wasserstein", "c1": "jensenshannon"}}[size]
    methods = {c["column"]: c["method"] for c in doc["columns"]}
    assert {k: methods[k] for k in expected} == expected
    # the predicted label (two values) gets the test or distance of a binary column
    assert doc["predictions"]["method"] == ("z" if size == "small" else "jensenshannon")
    code, out, _ = cli("monitor", drift_bundles[size], live_files["fresh"], "--json", "--out",
                       tmp_path)
    assert code == 0 and json.loads(out)["drifted_columns"] == []


def test_the_json_contract_and_the_files_it_writes(cli, drift_bundles, live_files, tmp_path):
    code, out, _ = cli("monitor", drift_bundles["small"], live_files["shifted"], "--json",
                       "--out", tmp_path, "--drift-share", "0.25")
    assert code == 1  # the data set drifted: a cron job can act on the status
    doc = json.loads(out)
    assert doc["drifted"] is True
    assert {"drifted", "share", "columns", "predictions"} <= set(doc)
    for column in [*doc["columns"], doc["predictions"]]:
        assert {"column", "kind", "method", "statistic", "threshold", "drift"} <= set(column)
    assert [c["column"] for c in doc["columns"]] == list(drift_data.COLUMNS)
    saved = json.loads((tmp_path / "monitor.json").read_text())
    assert saved == {k: v for k, v in doc.items() if k != "written"}
    page = (tmp_path / "monitor.html").read_text()
    assert page.count('<tr class="drifted"') == 3  # n2, c1 and the predictions
    assert page.count("data:image/png;base64,") == 9  # every column and the predictions
    assert 'data-key="drifted" data-value="true"' in page
    cli("monitor", drift_bundles["small"], live_files["fresh"], "--out", tmp_path, "--quiet")
    history = [json.loads(line) for line in (tmp_path / "history.jsonl").read_text().split("\n")
               if line]
    assert [h["drifted"] for h in history] == [True, False]


def test_human_output_names_the_drifted_columns(cli, drift_bundles, live_files, tmp_path):
    code, out, _ = cli("monitor", drift_bundles["large"], live_files["shifted"], "--out",
                       tmp_path, "--no-html")
    assert code == 0
    assert "no data set drift: 2 of 8 columns drifted" in out
    assert not (tmp_path / "monitor.html").exists()


def test_the_served_log_is_live_data(cli, drift_bundles, tmp_path):
    bundle = tmp_path / "run" / "model"
    shutil.copytree(drift_bundles["small"], bundle)
    shifted = drift_data.sample(400, seed=4, shifted=True).drop(columns="y")
    rows = shifted.astype(object).where(shifted.notna(), None).to_dict("records")
    with TestClient(create_app(ServeConfig(bundle=str(bundle),
                                           log_dir=str(tmp_path / "run" / "served")))) as client:
        for start in range(0, 400, 100):
            assert client.post("/predict", json={"rows": rows[start:start + 100]}).is_success
    code, out, err = cli("monitor", bundle, tmp_path / "run" / "served", "--json")
    doc = json.loads(out)
    assert code == 0, err
    assert doc["source"] == "served log" and doc["live_rows"] == 400
    assert doc["drifted_columns"] == list(drift_data.SHIFTED)
    assert (tmp_path / "run" / "monitor" / "monitor.json").exists()  # RUN_DIR/monitor
    code, out, _ = cli("monitor", bundle, tmp_path / "run" / "served", "--json", "--last", "50")
    doc = json.loads(out)
    assert doc["live_rows"] == 50 and any("only 50 live rows" in n for n in doc["notes"])


def _bundle_without_reference(tmp_path):
    from fullcycle.models.bundle import load_bundle, save_bundle

    frame = tiny_bundles.task_frame("binary")
    source = tiny_bundles.make_bundle(tmp_path / "with", frame, "y", epochs=1)
    b = load_bundle(source)
    return save_bundle(tmp_path / "old", b.model, b.preprocessing, b.task, b.metrics,
                       b.input_schema, classes=b.classes)


@pytest.mark.parametrize(("make", "words"), [
    (lambda t, b, f: [t / "absent", f], "model bundle"),
    (lambda t, b, f: [b, t / "absent.csv"], "file not found"),
    (lambda t, b, f: [b, _write(t / "binary.csv", b"\x00\x01\x02")], "looks binary"),
    (lambda t, b, f: [b, _frame_csv(t, pd.DataFrame({"a": [1], "b": [2]}))],
     "has none of the columns the model reads"),
    (lambda t, b, f: [b, _frame_csv(t, pd.read_csv(f).drop(columns=["n3", "c2"]))],
     "lacks column(s) n3, c2"),
    (lambda t, b, f: [_bundle_without_reference(t), f], "carries no training reference"),
    (lambda t, b, f: [b, t], "holds no served-row logs"),
    (lambda t, b, f: [b, f, "--drift-share", "0"], "--drift-share 0.0 must be in (0, 1]"),
    (lambda t, b, f: [b, f, "--last", "0"], "--last must be 1 or more"),
])
def test_bad_monitor_input_is_one_line_and_exit_2(cli, drift_bundles, live_files, tmp_path,
                                                  make, words):
    out_dir = tmp_path / "monitor-out"
    code, out, err = cli("monitor", *make(tmp_path, drift_bundles["small"],
                                          live_files["shifted"]), "--out", out_dir)
    assert code == 2 and out == "", err
    assert err.count("\n") == 1 and words in err, err
    assert not out_dir.exists()


def test_a_corrupt_reference_is_refused(cli, drift_bundles, live_files, tmp_path):
    bundle = tmp_path / "model"
    shutil.copytree(drift_bundles["small"], bundle)
    (bundle / "reference.parquet").write_bytes(b"PAR1 broken")
    code, _, err = cli("monitor", bundle, live_files["fresh"], "--out", tmp_path / "m")
    assert code == 2 and "reference.parquet (the drift reference) does not match" in err


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def _frame_csv(tmp_path, frame: pd.DataFrame):
    path = tmp_path / "live.csv"
    frame.to_csv(path, index=False)
    return path
