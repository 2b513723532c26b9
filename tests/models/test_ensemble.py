"""Seed averaging: members averaged in probability space, bundled, checked, predicted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

import fullcycle as fc
from fullcycle.data.dataset import prepare
from fullcycle.errors import FullcycleError
from fullcycle.metrics import probabilities
from fullcycle.models.bundle import load_bundle, save_bundle
from fullcycle.models.ensemble import SeedEnsemble
from fullcycle.models.mlp import TabularMLP
from fullcycle.models.resnet import TabularResNet
from fullcycle.recipe.trainer import split_error
from fullcycle.serve.predictor import Predictor


def _members(n_out: int, k: int = 3) -> list[torch.nn.Module]:
    torch.manual_seed(0)
    nets = [TabularMLP(4, n_out, hidden=[6]) for _ in range(k - 1)]
    return [*nets, TabularResNet(4, n_out, hidden=[5], norm="layer")]


@pytest.mark.parametrize(("task", "n_out"), [("binary", 1), ("multilabel", 3),
                                             ("multiclass", 4), ("regression", 1)])
def test_the_average_is_taken_in_probability_space(task, n_out):
    members = _members(n_out)
    for m in members:  # spread the members so that the averaging rule matters
        torch.nn.init.normal_(m.output.weight, std=3.0)
    ensemble = SeedEnsemble(members, task).eval()
    x = torch.randn(16, 4)
    with torch.no_grad():
        outputs = torch.stack([m.eval()(x) for m in members])
        combined = ensemble(x)
    if task == "regression":
        assert torch.allclose(combined, outputs.mean(0))
        return
    mean_proba = np.mean([probabilities(task, o) for o in outputs], axis=0)
    assert np.allclose(probabilities(task, combined), mean_proba, atol=1e-6)
    mean_logits = probabilities(task, outputs.mean(0))
    assert not np.allclose(mean_logits, mean_proba, atol=1e-3)  # the rule is not that one


def test_a_single_member_ensemble_is_that_member_and_saturated_logits_stay_finite():
    (net,) = _members(1, k=1)
    x = torch.randn(8, 4)
    with torch.no_grad():
        assert torch.allclose(SeedEnsemble([net], "binary")(x), net.eval()(x), atol=1e-5)
        torch.nn.init.constant_(net.output.bias, 200.0)  # sigmoid saturates at 1.0 in float32
        assert torch.isfinite(SeedEnsemble([net, net], "binary")(x)).all()


def test_ensemble_round_trips_through_the_bundle(tmp_path):
    ensemble = SeedEnsemble(_members(4), "multiclass").eval()
    path = save_bundle(tmp_path / "model", ensemble, {}, "multiclass", {}, None,
                       classes=list("abcd"))
    loaded = load_bundle(path).model
    x = torch.randn(10, 4)
    with torch.no_grad():
        assert torch.equal(loaded(x), ensemble(x))
    assert [type(m).__name__ for m in loaded.members] == ["TabularMLP", "TabularMLP",
                                                          "TabularResNet"]


@pytest.fixture(scope="module")
def noisy():
    """A binary table with 25% flipped labels: single small nets disagree from seed to seed."""
    rng = np.random.default_rng(3)
    n = 600
    X = rng.normal(size=(n, 6))
    y = (X[:, 0] + np.sin(2 * X[:, 1]) > 0).astype(int)
    flip = rng.random(n) < 0.25
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(6)])
    frame["y"] = np.where(flip, 1 - y, y)
    return prepare(frame, "y")


def test_seed_average_does_not_hurt_on_a_noisy_table_and_passes_the_checks(noisy, tmp_path):
    outcomes = [fc.train(noisy, hidden=[32], epochs=8, patience=0, seed=s, metric="accuracy")
                for s in range(4)]
    ensemble = SeedEnsemble([o.model for o in outcomes], noisy.task).eval()
    # on held-out rows: each member kept its best epoch on dev, the average was never chosen
    X, y = noisy.test("seeds against their average")
    _, error = split_error(noisy, ensemble, "accuracy", X, y)
    members = [split_error(noisy, o.model.eval(), "accuracy", X, y)[1] for o in outcomes]
    assert error <= np.mean(members) + 0.01

    def log_loss(model):
        with torch.no_grad():
            return float(torch.nn.functional.binary_cross_entropy_with_logits(
                model(torch.from_numpy(X)).reshape(-1), torch.from_numpy(y)))

    # log loss is convex: the average of probabilities never loses to the members' mean
    assert log_loss(ensemble) <= np.mean([log_loss(o.model.eval()) for o in outcomes])
    results = {r.name: r.status for r in fc.run_checks(
        ensemble, (noisy.X["train"], noisy.y["train"]), "bce", "binary", lr_finder=False,
        skip=("overfit_batch", "input_independent"))}
    assert results["init_loss"] != "fail" and results["gradient_check"] == "pass"
    assert results["batch_independence"] == "pass"
    path = save_bundle(tmp_path / "model", ensemble,
                       {"features": noisy.preprocessor.to_dict(),
                        "target": noisy.target_encoding.to_dict()},
                       noisy.task, {}, noisy.preprocessor.input_schema())
    predicted = Predictor.load(path).predict_frame(noisy.frame_of("dev"))
    with torch.no_grad():
        expected = torch.sigmoid(ensemble(torch.from_numpy(noisy.X["dev"]))).numpy().ravel()
    assert np.allclose(predicted["proba_1"], expected, atol=1e-6)


def test_bad_ensembles_name_the_fix():
    with pytest.raises(FullcycleError, match="at least one member"):
        SeedEnsemble([], "binary")
    with pytest.raises(FullcycleError, match="unknown task"):
        SeedEnsemble(_members(1), "ranking")
    with pytest.raises(FullcycleError, match="give it .config"):
        SeedEnsemble([torch.nn.Linear(4, 1)], "binary")
    with pytest.raises(FullcycleError, match="disagree on the number of outputs"):
        SeedEnsemble([TabularMLP(4, 1), TabularMLP(4, 2)], "multiclass")
