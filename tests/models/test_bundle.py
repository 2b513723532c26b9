"""Model bundles: safetensors + JSON, round trip, and every corruption caught."""

from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import load_bundle, save_bundle
from fullcycle.models.mlp import TabularMLP


def _save(tmp_path):
    torch.manual_seed(0)
    net = TabularMLP(4, 3, hidden=[5], batch_norm=True, categorical=[(3, 6)], dropout=0.2)
    net.eval()
    path = save_bundle(tmp_path / "model", net, {"features": {"mean": [0.0]}}, "multiclass",
                       {"dev": {"accuracy": 0.9}}, {"columns": ["a", "b", "c", "d"]},
                       classes=["x", "y", "z"])
    return net, path


def test_round_trip_gives_the_same_predictions(tmp_path):
    net, path = _save(tmp_path)
    bundle = load_bundle(path)
    x = torch.tensor([[0.1, 0.2, 0.3, 2.0], [1.0, -1.0, 0.0, 5.0]])
    assert torch.equal(bundle.outputs(x), net(x))
    assert bundle.task == "multiclass" and bundle.classes == ["x", "y", "z"]
    assert bundle.metrics == {"dev": {"accuracy": 0.9}}
    assert bundle.input_schema == {"columns": ["a", "b", "c", "d"]}
    assert not bundle.model.training
    assert sorted(p.name for p in path.iterdir()) == ["bundle.json", "weights.safetensors"]


def test_saving_again_replaces_the_bundle_and_leaves_no_temp_folder(tmp_path):
    _save(tmp_path)
    _save(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["model"]


def test_missing_bundle_names_the_fix(tmp_path):
    with pytest.raises(FullcycleError, match="not found; pass the model/ folder"):
        load_bundle(tmp_path / "nope")


@pytest.mark.parametrize("damage, message", [
    (lambda p: (p / "weights.safetensors").write_bytes(b"\x00" * 64), "checksum"),
    (lambda p: (p / "weights.safetensors").unlink(), "weights.safetensors is missing"),
    (lambda p: (p / "bundle.json").write_text("{not json"), "not valid JSON"),
    (lambda p: _edit(p, architecture={"class": "os.system", "config": {}}), "does not know"),
    (lambda p: _edit(p, architecture={"class": "TabularMLP",
                                      "config": {"n_inputs": 9, "n_outputs": 3}}),
     "do not fit the architecture"),
    (lambda p: _edit(p, format=99), "format 99"),
])
def test_corrupt_bundle_is_a_one_line_error(tmp_path, damage, message):
    _, path = _save(tmp_path)
    damage(path)
    with pytest.raises(FullcycleError, match=message) as info:
        load_bundle(path)
    assert "\n" not in str(info.value)


def _edit(path, **changes):
    manifest = json.loads((path / "bundle.json").read_text())
    manifest.update(changes)
    (path / "bundle.json").write_text(json.dumps(manifest))


def test_unregistered_module_cannot_be_bundled(tmp_path):
    with pytest.raises(FullcycleError, match="register_architecture"):
        save_bundle(tmp_path / "m", nn.Linear(2, 1), {}, "binary", {}, {})
