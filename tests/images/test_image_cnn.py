"""The small ResNet: sizing from the pictures, He init, the sanity checks, the bundle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

from fullcycle.checks.suite import run_checks
from fullcycle.data.images import prepare_images
from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import load_bundle, save_bundle
from fullcycle.models.cnn import BasicBlock, ImageResNet, initial_cnn
from fullcycle.models.mlp import init_output_bias


@pytest.mark.parametrize("side, classes, widths, stem", [
    (28, 10, (16, 32, 64), 1),   # MNIST-sized: 28 → 14 → 7
    (32, 10, (16, 32, 64), 1),   # CIFAR-sized: He et al.'s 16, 32, 64
    (8, 10, (16, 32), 1),        # 8×8 digits: 8 → 4
    (64, 100, (32, 64, 128, 256), 1),
    (128, 3, (16, 32, 64, 128), 2),  # strided stem first
])
def test_initial_cnn_is_sized_from_pictures_and_classes(side: int, classes: int,
                                                        widths: tuple, stem: int) -> None:
    arch = initial_cnn(side, side, 1, classes)
    assert arch.widths == widths and arch.stem_stride == stem and arch.blocks == 1
    assert "seed 001" in arch.reason


def test_stages_halve_the_picture_and_output_logits() -> None:
    model = ImageResNet(3, 5, widths=(8, 16, 32))
    x = torch.randn(4, 3, 28, 28)
    assert model(x).shape == (4, 5)
    assert model.features(x).shape == (4, 32)
    with pytest.raises(FullcycleError, match="takes \\(batch, channels, height, width\\)"):
        model(torch.randn(4, 784))


def test_convolutions_start_by_the_he_rule() -> None:
    torch.manual_seed(0)
    model = ImageResNet(1, 10, widths=(64, 128))
    conv = model.stages[1][0].conv2
    fan_in = conv.in_channels * 9
    assert float(conv.weight.detach().std()) == pytest.approx(math.sqrt(2 / fan_in), rel=0.03)
    assert conv.bias is None  # batch norm's β absorbs it
    block = model.stages[1][0]
    assert isinstance(block, BasicBlock) and not isinstance(block.shortcut, torch.nn.Identity)


def test_config_round_trip_rebuilds_the_same_network() -> None:
    model = ImageResNet(1, 4, widths=(8, 16), blocks=2, dropout=0.25)
    again = ImageResNet.from_config(json.loads(json.dumps(model.config)))
    again.load_state_dict(model.state_dict())
    model.eval()
    again.eval()
    x = torch.randn(2, 1, 12, 12)
    assert torch.equal(model(x), again(x))


def test_sanity_checks_pass_on_the_cnn(digits_dir: Path) -> None:
    p = prepare_images(digits_dir)
    rows = np.random.default_rng(0).choice(len(p.X["train"]), 64, replace=False)
    X, y = p.X["train"].decode(rows), p.y["train"][rows]
    torch.manual_seed(0)
    model = ImageResNet(1, 10, widths=(4, 8))
    init_output_bias(model, "multiclass", p.y["train"])
    results = {r.name: r for r in run_checks(model, (X, y), loss="cross_entropy",
                                             task="multiclass", batch_size=16,
                                             gradcheck_examples=4,
                                             skip=("input_independent", "lr_finder"))}
    for name in ("init_loss", "overfit_batch", "gradient_check", "dead_parameters",
                 "signal_propagation", "batch_independence"):
        assert results[name].status == "pass", (name, results[name].message)


def test_bundle_saves_and_loads_a_cnn_without_pickle(tmp_path: Path) -> None:
    model = ImageResNet(3, 2, widths=(8, 16))
    model.eval()
    save_bundle(tmp_path / "model", model, {"features": {"kind": "image"}}, "binary", {}, {})
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["bundle.json",
                                                                      "weights.safetensors"]
    bundle = load_bundle(tmp_path / "model")
    x = torch.randn(3, 3, 16, 16)
    assert isinstance(bundle.model, ImageResNet)
    assert torch.allclose(bundle.outputs(x), model(x))


def test_channels_last_training_matches_the_ordinary_layout_and_is_undone() -> None:
    from fullcycle.engine.device import ChannelsLast
    from fullcycle.engine.fit import fit

    x, y = torch.randn(32, 1, 12, 12), torch.arange(32) % 3
    seen: list[bool] = []

    class Layout(ChannelsLast):
        order = -30  # after ChannelsLast: what the network is given

        def before_fit(self, loop: object) -> None:
            pass

        def before_batch(self, loop: object) -> None:
            seen.append(loop.batch[0].is_contiguous(memory_format=torch.channels_last))
            seen.append(loop.model.stem[0].weight.is_contiguous(
                memory_format=torch.channels_last))

        def after_fit(self, loop: object) -> None:
            pass

    results = []
    for callbacks in ([], [ChannelsLast(), Layout()]):
        torch.manual_seed(0)
        model = ImageResNet(1, 3, (8, 16))
        result = fit(model, (x, y), loss="cross_entropy", epochs=2, batch_size=16, seed=0,
                     progress=False, callbacks=callbacks)
        results.append((result.history[-1]["train_loss"], result.model))
    assert seen and all(seen)
    assert results[1][0] == pytest.approx(results[0][0], rel=1e-3)
    assert all(p.is_contiguous() for p in results[1][1].parameters())
