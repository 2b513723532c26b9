"""`fullcycle predict` refuses bad bundles and bad input with one line and exit status 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.dataset import prepare
from fullcycle.models.bundle import save_bundle
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.trainer import build_model


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "kind": rng.choice(["a", "b"], 120)})
    frame["y"] = (frame["x"] > 0).astype(int)
    p = prepare(frame, "y")
    model = build_model(p, TrainConfig(hidden=(4,)))
    directory = tmp_path / "model"
    save_bundle(directory, model, {"features": p.preprocessor.to_dict(),
                                   "target": p.target_encoding.to_dict()},
                p.task, {}, p.preprocessor.input_schema())
    return directory


def _csv(tmp_path: Path, frame: pd.DataFrame) -> Path:
    path = tmp_path / "input.csv"
    frame.to_csv(path, index=False)
    return path


def test_predict_writes_labels_and_probabilities(cli, bundle, tmp_path):
    data = _csv(tmp_path, pd.DataFrame({"x": [1.0, -1.0], "kind": ["a", "zzz"]}))
    code, _, err = cli("predict", bundle, data, "--out", tmp_path / "p.csv")
    assert code == 0, err
    preds = pd.read_csv(tmp_path / "p.csv")
    assert list(preds.columns) == ["prediction", "proba_0", "proba_1"]
    assert np.allclose(preds["proba_0"] + preds["proba_1"], 1.0)


@pytest.mark.parametrize(("make", "expected"), [
    (lambda t, b: ["predict", b, _csv(t, pd.DataFrame({"x": [1.0]}))], "missing column"),
    (lambda t, b: ["predict", b, _csv(t, pd.DataFrame({"x": ["high"], "kind": ["a"]}))],
     "must be numeric"),
    (lambda t, b: ["predict", t / "nowhere", _csv(t, pd.DataFrame({"x": [1.0]}))], "bundle"),
    (lambda t, b: ["predict", b, t / "absent.csv"], "not found"),
])
def test_bad_predict_input_is_one_line_and_exit_2(cli, bundle, tmp_path, make, expected):
    code, out, err = cli(*make(tmp_path, bundle), "--out", tmp_path / "p.csv")
    assert code == 2, err
    assert err.count("\n") == 1 and expected in err.lower(), err
    assert not (tmp_path / "p.csv").exists()


def test_corrupt_weights_are_refused_without_unpickling(cli, bundle, tmp_path):
    for weights in bundle.glob("*.safetensors"):
        weights.write_bytes(b"garbage")
    data = _csv(tmp_path, pd.DataFrame({"x": [1.0], "kind": ["a"]}))
    code, _, err = cli("predict", bundle, data, "--out", tmp_path / "p.csv")
    assert code == 2 and "corrupt" in err.lower(), err


def test_a_bundle_without_preprocessing_is_refused(cli, bundle, tmp_path):
    from fullcycle.models.bundle import load_bundle

    copy = tmp_path / "copy"
    loaded = load_bundle(bundle)
    save_bundle(copy, loaded.model, {}, "binary", {}, {})
    data = _csv(tmp_path, pd.DataFrame({"x": [1.0], "kind": ["a"]}))
    code, _, err = cli("predict", copy, data, "--out", tmp_path / "p.csv")
    assert code == 2 and "preprocessing" in err, err
