"""Every bundle a run writes carries a compact sample of its training split: the reference
the monitor measures drift against."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import tiny_bundles

import fullcycle.models.bundle as bundle_module
from fullcycle.models.bundle import load_bundle


def test_fullcycle_train_bundles_carry_the_training_split(cli, tmp_path):
    frame = tiny_bundles.task_frame("binary", n=200)
    frame["row_id"] = [f"id-{i}" for i in range(200)]  # an identifier: dropped, not kept
    data = tmp_path / "data.csv"
    frame.to_csv(data, index=False)
    code, out, err = cli("train", data, "--target", "y", "--epochs", "1", "--out",
                         tmp_path / "run", "--json")
    assert code == 0, err
    bundle = load_bundle(tmp_path / "run" / "model")
    split = json.loads(out)["splits"]
    assert bundle.reference_rows == split["train"] == 120
    reference = bundle.reference()
    assert list(reference.columns) == ["x1", "x2", "kind"]
    assert reference["x1"].dtype == np.float64 and reference["x1"].isna().any()
    assert set(reference["kind"].dropna()) <= {"a", "b", "c"}
    assert set(reference["x2"]) <= set(frame["x2"])


def test_a_large_training_split_is_sampled_down(tmp_path, monkeypatch):
    monkeypatch.setattr(bundle_module, "REFERENCE_ROWS", 50)
    frame = tiny_bundles.task_frame("regression", n=300)
    bundle = load_bundle(tiny_bundles.make_bundle(tmp_path / "m", frame, "y", epochs=1))
    manifest = json.loads((tmp_path / "m" / "bundle.json").read_text())
    assert manifest["reference"]["n_rows"] == 180 and manifest["reference"]["sample_rows"] == 50
    sample = bundle.reference()
    assert len(sample) == 50 and set(sample["x2"]) <= set(frame["x2"])
    again = load_bundle(tiny_bundles.make_bundle(tmp_path / "m2", frame, "y", epochs=1))
    pd.testing.assert_frame_equal(again.reference(), sample)  # the same sample every time
