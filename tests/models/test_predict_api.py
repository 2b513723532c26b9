"""A bundle predicts from Python: `fc.load_bundle(...).predict`, `Predictor` on dict rows,
and a user's own `nn.Sequential` bundled without writing any config code."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import fullcycle as fc
from fullcycle.errors import FullcycleError


@pytest.fixture
def prepared():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=160), "kind": rng.choice(["a", "b"], 160)})
    frame["y"] = np.where(frame["x"] > 0, "high", "low")
    return fc.prepare(frame, "y")


def _sequential(n_features: int = 2) -> nn.Sequential:  # x and kind
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(n_features, 8), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Dropout(0.25), nn.Sequential(nn.Linear(8, 4), nn.Tanh()),
                         nn.Linear(4, 1))


def test_a_users_sequential_is_bundled_and_predicts_raw_rows(prepared, tmp_path):
    net = _sequential()
    fc.fit(net, (prepared.X["train"], prepared.y["train"]), loss="bce", epochs=2,
           progress=False)
    path = fc.save_bundle(tmp_path / "model", net, prepared=prepared)
    manifest = json.loads((path / "bundle.json").read_text())
    assert manifest["architecture"]["class"] == "Sequential"
    assert manifest["architecture"]["config"]["layers"][0] == {
        "name": "0", "type": "Linear", "args": {"in_features": 2, "out_features": 8,
                                                 "bias": True}}
    bundle = fc.load_bundle(path)
    x = torch.from_numpy(prepared.X["dev"])
    net.eval()
    assert torch.equal(bundle.outputs(x), net(x))
    out = bundle.predict(pd.DataFrame({"x": [2.0, -2.0], "kind": ["a", "b"]}))
    assert list(out.columns) == ["prediction", "proba_high", "proba_low"]
    assert set(out["prediction"]) <= {"high", "low"}


def test_a_sequential_with_a_custom_layer_is_refused_with_the_way_out(tmp_path):
    class Scale(nn.Module):
        def forward(self, x):
            return 2 * x

    with pytest.raises(FullcycleError, match=r"layer '1' is a Scale.*register_architecture"):
        fc.save_bundle(tmp_path / "m", nn.Sequential(nn.Linear(2, 2), Scale()), task="binary")
    assert not (tmp_path / "m").exists()


def test_an_unregistered_module_names_both_ways_out(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear = nn.Linear(2, 1)

    with pytest.raises(FullcycleError, match=r"nn.Sequential of torch.nn layers.*register"):
        fc.save_bundle(tmp_path / "m", Net(), task="binary")


def test_a_tampered_layer_type_is_refused_on_load(prepared, tmp_path):
    path = fc.save_bundle(tmp_path / "model", _sequential(), prepared=prepared)
    manifest = json.loads((path / "bundle.json").read_text())
    manifest["architecture"]["config"]["layers"][2]["type"] = "os.system"
    (path / "bundle.json").write_text(json.dumps(manifest))
    with pytest.raises(FullcycleError, match=r"'os.system' is not one a bundle may build"):
        fc.load_bundle(path)


def test_predictor_from_serve_takes_a_dict_row_and_a_list_of_them(prepared, tmp_path):
    from fullcycle.serve import Predictor

    fc.save_bundle(tmp_path / "run" / "model", _sequential(), prepared=prepared)
    predictor = Predictor.load(tmp_path / "run")  # the run directory is enough
    one = predictor.predict({"x": 1.5, "kind": "a"})
    assert len(one) == 1 and one["prediction"][0] in ("high", "low")
    two = predictor.predict([{"x": 1.5, "kind": "a"}, {"x": -1.0, "kind": "b"}])
    assert len(two) == 2


@pytest.mark.parametrize(("rows", "message"), [
    (42, r"cannot read the rows to predict from a int; give .*DataFrame.*rows as dicts"),
    ({"x": [1.0, 2.0], "kind": "a"}, r"one value"),
    ({"kind": "a"}, r"missing column\(s\) x"),
])
def test_rows_that_cannot_be_predicted_are_refused(prepared, tmp_path, rows, message):
    bundle = fc.load_bundle(fc.save_bundle(tmp_path / "m", _sequential(), prepared=prepared))
    with pytest.raises(FullcycleError, match=message):
        bundle.predict(rows)


def test_a_bundle_without_preprocessing_says_what_predict_needs(tmp_path):
    path = fc.save_bundle(tmp_path / "m", nn.Sequential(nn.Linear(2, 1)), task="binary")
    with pytest.raises(FullcycleError, match=r"no usable preprocessing.*outputs\(X\)"):
        fc.load_bundle(path).predict({"a": 1})


def test_fullcycle_predict_accepts_the_run_directory(cli, prepared, tmp_path):
    fc.save_bundle(tmp_path / "run" / "model", _sequential(),
                   prepared=prepared)
    data = tmp_path / "input.csv"
    pd.DataFrame({"x": [1.0, -1.0], "kind": ["a", "b"]}).to_csv(data, index=False)
    code, _, err = cli("predict", tmp_path / "run", data, "--out", tmp_path / "p.csv")
    assert code == 0, err
    assert len(pd.read_csv(tmp_path / "p.csv")) == 2


def test_fullcycle_predict_on_a_folder_without_a_bundle_says_what_to_pass(cli, tmp_path):
    (tmp_path / "search").mkdir()
    data = tmp_path / "input.csv"
    pd.DataFrame({"x": [1.0]}).to_csv(data, index=False)
    code, _, err = cli("predict", tmp_path / "search", data, "--out", tmp_path / "p.csv")
    assert code == 2 and err.count("\n") == 1
    assert "holds no model bundle" in err and "model/" in err
