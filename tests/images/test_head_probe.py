"""A transferred network's new head starts as a linear probe on the pretrained features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.linear_model import LogisticRegression

from fullcycle.models.cnn import ImageResNet
from fullcycle.models.probe import C_LADDER, fit_probe, head_inputs, set_head
from fullcycle.models.transfer import replace_head


def blobs(n: int, classes: int, features: int = 6, seed: int = 0
          ) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.arange(n) % classes
    centers = rng.normal(0, 2, (classes, features))
    # features on very different scales, one constant: the probe standardizes them
    X = (centers[y] + rng.normal(0, 1, (n, features))) * np.array([1, 10, 0.1, 3, 1, 1])
    X[:, -1] = 5.0
    return X, y


def logits(probe, X: np.ndarray) -> np.ndarray:
    return X @ probe.weight.T + probe.bias


def test_binary_probe_matches_the_logistic_regression_it_chose() -> None:
    X, y = blobs(200, 2)
    probe = fit_probe(X, y, "binary", 1)
    assert probe.weight.shape == (1, 6) and probe.strengths[0] in C_LADDER
    Z = (X - X.mean(0)) / np.where(X.std(0) < 1e-8, 1, X.std(0))
    reference = LogisticRegression(C=probe.strengths[0], max_iter=2000).fit(Z, y)
    np.testing.assert_allclose(logits(probe, X)[:, 0], reference.decision_function(Z),
                               atol=1e-6)  # the standardization is folded into the layer
    assert ((logits(probe, X)[:, 0] > 0) == y).mean() > 0.9
    assert "5-fold cross-validation on the training rows" in probe.describe()


def test_multiclass_probe_has_one_row_per_class_even_for_an_absent_class() -> None:
    X, y = blobs(300, 3)
    probe = fit_probe(X, y, "multiclass", 4)  # a fourth class never seen in these rows
    assert probe.weight.shape == (4, 6)
    assert (logits(probe, X).argmax(1) == y).mean() > 0.9
    assert probe.bias[3] < -5 and not probe.weight[3].any()
    two = fit_probe(*blobs(100, 2), "multiclass", 2)  # two classes: softmax of two rows
    X2, y2 = blobs(100, 2)
    assert (logits(two, X2).argmax(1) == y2).mean() > 0.9


def test_multilabel_probe_fits_each_label_on_its_known_rows() -> None:
    X, y = blobs(200, 2)
    labels = np.stack([y, 1 - y], axis=1).astype(float)
    labels[::7, 0] = np.nan  # missing labels, as tables allow
    probe = fit_probe(X, labels, "multilabel", 2)
    assert probe.weight.shape == (2, 6) and len(probe.strengths) == 2
    predicted = logits(probe, X) > 0
    assert (predicted[:, 0] == y).mean() > 0.9 and (predicted[:, 1] == 1 - y).mean() > 0.9


def test_regression_probe_is_a_ridge() -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 4))
    y = X @ np.array([1.0, -2.0, 0.5, 0.0]) + 3 + rng.normal(0, 0.1, 150)
    probe = fit_probe(X, y, "regression", 1)
    assert np.sqrt(np.mean((logits(probe, X)[:, 0] - y) ** 2)) < 0.3


def test_no_probe_without_two_classes_to_separate() -> None:
    X, _ = blobs(40, 2)
    assert fit_probe(X, np.zeros(40, dtype=int), "binary", 1) is None
    one_each = np.zeros(40, dtype=int)
    one_each[0] = 1  # one row of a class: no fold can hold it out
    assert fit_probe(X, one_each, "binary", 1) is None
    assert fit_probe(X, np.zeros((40, 2)), "multitask", 2) is None  # heads side by side


def test_head_inputs_are_the_pooled_features_in_inference_mode() -> None:
    torch.manual_seed(0)
    model = replace_head(ImageResNet(1, 8, widths=(4, 8, 16), dropout=0.5), 3)
    model.train()
    x = torch.randn(10, 1, 12, 12)
    features = head_inputs(model, [x[:6], x[6:]])
    model.eval()
    expected = model.features(x).detach().double().numpy()
    np.testing.assert_allclose(features, expected, atol=1e-6)
    assert features.shape == (10, 4 + 8 + 16)  # every stage's pooled output (pool_stages)


def test_set_head_writes_the_probe_and_refuses_another_shape() -> None:
    torch.manual_seed(0)
    model = replace_head(ImageResNet(1, 8, widths=(4, 8, 16)), 2)
    x = torch.randn(60, 1, 12, 12)
    y = np.arange(60) % 2
    probe = fit_probe(head_inputs(model, [x]), y, "multiclass", 2)
    set_head(model, probe)
    model.eval()
    with torch.no_grad():
        out = model(x).double().numpy()
    np.testing.assert_allclose(out, logits(probe, head_inputs(model, [x])), atol=1e-4)
    with pytest.raises(ValueError, match="probe of shape"):
        set_head(replace_head(model, 3), probe)


def test_pool_stages_round_trips_and_older_configs_read_the_same() -> None:
    plain = ImageResNet(1, 3, widths=(4, 8))
    assert "pool_stages" not in plain.config and plain.output.in_features == 8
    multi = ImageResNet.from_config({**plain.config, "pool_stages": True})
    assert multi.config["pool_stages"] and multi.output.in_features == 12
    assert ImageResNet.from_config(multi.config).output.in_features == 12
    assert multi(torch.zeros(2, 1, 8, 8)).shape == (2, 3)


def test_every_transferred_experiment_starts_from_the_probe_fitted_once(tmp_path) -> None:
    from pictures import write_shapes

    from fullcycle.data.images import prepare_images
    from fullcycle.recipe.config import TrainConfig
    from fullcycle.recipe.images import (
        PretrainedSource,
        build_image_model,
        initial_image_config,
    )

    prepared = prepare_images(write_shapes(tmp_path / "b", 16, classes=("disc", "bar")))
    torch.manual_seed(0)
    source = PretrainedSource(ImageResNet(1, 5, widths=(4, 8)), "task A")
    config, doc, reason = initial_image_config(prepared, TrainConfig(), None, source)
    assert "every stage's pooled features" in doc["transfer"]["head"] and "probe" in reason
    model = build_image_model(prepared, config)
    (probe,) = source.probes.values()
    assert probe is not None and probe.weight.shape == (1, 4 + 8)  # binary: one logit
    np.testing.assert_allclose(model.output.weight.detach().numpy(), probe.weight, atol=1e-6)
    again = build_image_model(prepared, config.with_changes(seed=7))
    assert len(source.probes) == 1  # fitted once, reused by the next experiment
    assert torch.equal(again.output.weight, model.output.weight)
    for key, value in source.module.state_dict().items():  # the trunk is task A's
        if not key.startswith("output."):
            assert torch.equal(model.state_dict()[key], value)
