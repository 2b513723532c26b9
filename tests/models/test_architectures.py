"""Another architecture: the residual MLP and numeric-feature embeddings, built from one
`TrainConfig`, checked, trained, bundled and predicted like the plain MLP."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import fullcycle as fc
from fullcycle.data.dataset import prepare
from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import load_bundle, save_bundle
from fullcycle.models.embeddings import (
    PiecewiseLinearEmbedding,
    numeric_embedding_spec,
    quantile_bin_edges,
)
from fullcycle.models.mlp import TabularMLP
from fullcycle.models.resnet import TabularResNet
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.trainer import build_model
from fullcycle.serve.predictor import Predictor

VARIANTS = [("mlp", "ple"), ("mlp", "periodic"), ("resnet", None), ("resnet", "ple")]


@pytest.fixture(scope="module")
def prepared():
    """A binary table with a categorical column, missing values and a 50σ column."""
    rng = np.random.default_rng(0)
    n = 400
    frame = pd.DataFrame({"a": rng.uniform(0, 1, n), "b": rng.uniform(0, 1, n),
                          "rooms": rng.lognormal(1.5, 0.3, n),
                          "kind": rng.choice(["x", "y", "z"], n)})
    frame.loc[:2, "rooms"] = [300.0, 500.0, 800.0]
    frame["y"] = (((frame["a"] > 0.5) ^ (frame["b"] > 0.5)) | (frame["kind"] == "z")).astype(int)
    frame.loc[5:15, "a"] = np.nan
    prepared = prepare(frame, "y")
    assert [c.scaling for c in prepared.preprocessor.numeric] == ["standard", "standard",
                                                                  "quantile"]
    return prepared


@pytest.mark.parametrize(("architecture", "embedding"), VARIANTS)
def test_each_variant_passes_the_sanity_checks(prepared, architecture, embedding):
    config = TrainConfig(hidden=(16, 16), architecture=architecture,
                         numeric_embedding=embedding, batch_norm=architecture == "resnet")
    model = build_model(prepared, config)
    results = {r.name: r for r in fc.run_checks(
        model, (prepared.X["train"], prepared.y["train"]), "bce", "binary", lr_finder=False,
        skip=("overfit_batch", "input_independent"))}  # training checks: the next test trains
    for name in ("init_loss", "gradient_check", "batch_independence", "dead_parameters"):
        assert results[name].status == "pass", (name, results[name].message)


@pytest.mark.parametrize(("architecture", "embedding"), VARIANTS)
def test_each_variant_trains_and_predicts_identically_from_its_bundle(prepared, tmp_path,
                                                                     architecture, embedding):
    outcome = fc.train(prepared, hidden=[16, 16], epochs=6, architecture=architecture,
                       numeric_embedding=embedding, seed=0)
    assert outcome.diverged is None and outcome.errors["dev"] < 0.5
    assert architecture in outcome.config.describe() or architecture == "mlp"
    model = outcome.model.eval()
    path = save_bundle(tmp_path / "model", model,
                       {"features": prepared.preprocessor.to_dict(),
                        "target": prepared.target_encoding.to_dict()},
                       prepared.task, {}, prepared.preprocessor.input_schema())
    assert json.loads((path / "bundle.json").read_text())["architecture"]["config"][
        "numeric_embedding"] == model.config["numeric_embedding"]
    loaded = load_bundle(path).model
    X = torch.from_numpy(prepared.X["dev"])
    with torch.no_grad():
        assert torch.equal(loaded(X), model(X))
    predicted = Predictor.load(path).predict_frame(prepared.frame_of("dev"))
    with torch.no_grad():
        expected = torch.sigmoid(model(X)).numpy().ravel()
    assert np.allclose(predicted["proba_1"], expected, atol=1e-6)


def test_bin_edges_are_training_quantiles_and_live_in_the_json_config(prepared):
    model = build_model(prepared, TrainConfig(hidden=(8,), numeric_embedding="ple"))
    edges = model.config["numeric_embedding"]["edges"]
    numeric = [i for i in range(prepared.preprocessor.n_features)
               if i not in {c for c, _ in prepared.preprocessor.categorical}]
    assert len(edges) == len(numeric)
    assert edges[0] == quantile_bin_edges(prepared.X["train"][:, numeric[0]])
    twin = TabularMLP.from_config(json.loads(json.dumps(model.config)))
    twin.load_state_dict(model.state_dict())
    X = torch.from_numpy(prepared.X["dev"])
    with torch.no_grad():
        assert torch.equal(twin(X), model(X))


def test_piecewise_linear_encoding_follows_the_paper():
    ple = PiecewiseLinearEmbedding([[0.0, 1.0, 2.0, 4.0], [0.0, 1.0]], dim=2)
    x = torch.tensor([[-1.0, 3.0], [0.5, 0.5], [1.5, -2.0], [3.0, 0.0], [6.0, 1.0]])
    encoded = ple.encode(x)
    # feature 0, bins [0,1), [1,2), [2,4]: the first bin is open to the left, the last to the
    # right; filled bins encode 1, empty ones 0, the bin holding x its position inside it
    assert encoded[:, 0].tolist() == [[-1.0, 0.0, 0.0], [0.5, 0.0, 0.0], [1.0, 0.5, 0.0],
                                      [1.0, 1.0, 0.5], [1.0, 1.0, 2.0]]
    # feature 1 has one bin (two edges): linear in x, its padding bins always 0
    assert encoded[:, 1].tolist() == [[3.0, 0.0, 0.0], [0.5, 0.0, 0.0], [-2.0, 0.0, 0.0],
                                      [0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]
    assert ple(x).shape == (5, 4)


def test_residual_blocks_and_norm_choice():
    net = TabularResNet(5, 2, hidden=[8, 8, 8], norm="layer", dropout=[0.0, 0.1, 0.2])
    assert len(net.blocks) == 3 and net.blocks[0].expand.out_features == 16
    assert isinstance(net.blocks[0].norm, torch.nn.LayerNorm)
    assert isinstance(TabularResNet(5, 2).blocks[0].norm, torch.nn.BatchNorm1d)
    assert net.config["dropout"] == [0.0, 0.1, 0.2]
    twin = TabularResNet.from_config(json.loads(json.dumps(net.config)))
    twin.load_state_dict(net.state_dict())
    x = torch.randn(4, 5)
    with torch.no_grad():
        assert torch.equal(twin.eval()(x), net.eval()(x))
    # a block whose residual branch is zero is the identity: the skip connection
    block = net.blocks[1]
    torch.nn.init.zeros_(block.project.weight)
    torch.nn.init.zeros_(block.project.bias)
    h = torch.randn(4, 8)
    assert torch.equal(block(h), h)


def test_bad_architecture_settings_name_the_fix():
    with pytest.raises(FullcycleError, match="unknown architecture 'transformer'"):
        TrainConfig(architecture="transformer")
    with pytest.raises(FullcycleError, match="unknown numeric embedding 'fourier'"):
        TrainConfig(numeric_embedding="fourier")
    with pytest.raises(FullcycleError, match="unknown norm"):
        TabularResNet(3, 1, norm="group")
    with pytest.raises(FullcycleError, match="2 bin-edge lists for 3 numeric columns"):
        TabularMLP(3, 1, numeric_embedding={"kind": "ple", "edges": [[0, 1], [0, 1]]})
    with pytest.raises(FullcycleError, match="increasing"):
        PiecewiseLinearEmbedding([[1.0, 1.0]], dim=2)
    with pytest.raises(FullcycleError, match="unknown numeric embedding"):
        numeric_embedding_spec("fourier", np.zeros((3, 2)))


def test_fullcycle_predict_reproduces_dev_predictions_of_a_heavy_tailed_regression(tmp_path,
                                                                                  cli):
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame({"rooms": rng.lognormal(1.5, 0.3, n), "age": rng.uniform(1, 50, n)})
    frame.loc[:2, "rooms"] *= 1000.0  # 50σ out: quantile-scaled, saved in the bundle's JSON
    frame["value"] = 3 * np.log(frame["rooms"]) + 0.1 * frame["age"] + rng.normal(size=n)
    p = prepare(frame, "value")
    assert p.preprocessor.numeric[0].scaling == "quantile"
    outcome = fc.train(p, hidden=[8, 8], epochs=3, architecture="resnet",
                       numeric_embedding="ple")
    model = outcome.model.eval()
    path = save_bundle(tmp_path / "model", model,
                       {"features": p.preprocessor.to_dict(),
                        "target": p.target_encoding.to_dict()},
                       p.task, {}, p.preprocessor.input_schema())
    p.frame_of("dev").to_csv(tmp_path / "dev.csv", index=False)
    code, _, err = cli("predict", path, tmp_path / "dev.csv", "--out", tmp_path / "p.csv")
    assert code == 0, err
    with torch.no_grad():
        expected = model(torch.from_numpy(p.X["dev"])).numpy().ravel()
    expected = expected * p.target_std + p.target_mean
    assert np.allclose(pd.read_csv(tmp_path / "p.csv")["prediction"], expected, atol=1e-4)


def test_new_architectures_export_to_onnx_with_parity(prepared, tmp_path):
    from fullcycle.models.ensemble import SeedEnsemble

    members = [build_model(prepared, TrainConfig(hidden=(8, 8), architecture="resnet",
                                                 numeric_embedding="ple", batch_norm=True)),
               build_model(prepared, TrainConfig(hidden=(8,), numeric_embedding="periodic"))]
    path = save_bundle(tmp_path / "model", SeedEnsemble(members, prepared.task).eval(),
                       {"features": prepared.preprocessor.to_dict(),
                        "target": prepared.target_encoding.to_dict()},
                       prepared.task, {}, prepared.preprocessor.input_schema(),
                       classes=prepared.classes)
    result = fc.export_onnx(path, tmp_path / "model.onnx")
    assert result.max_abs_diff < result.tolerance
