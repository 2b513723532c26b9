"""Transfer learning freezes what the seeds' rule says, at the rates it says."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from fullcycle.engine.fit import fit
from fullcycle.errors import FullcycleError
from fullcycle.models.bundle import save_bundle
from fullcycle.models.cnn import ImageResNet
from fullcycle.models.transfer import (
    KeepInInference,
    apply_plan,
    frozen_norms,
    layer_groups,
    optimizer_factory,
    pretrained_from_bundle,
    pretrained_module,
    replace_head,
    transfer_rule,
)

GROUPS = ["stem + stage 1", "stage 2", "stage 3", "head"]


def test_little_data_freezes_the_trunk_and_trains_a_new_head() -> None:
    plan = transfer_rule(120, 2, GROUPS)
    assert plan.regime == "small" and plan.examples_per_class == 60
    assert [g.trainable for g in plan.groups] == [False, False, False, True]
    assert plan.describe() == "stem + stage 1 frozen; stage 2 frozen; stage 3 frozen; head at lr"
    assert "seed 003" in plan.reason


def test_medium_data_also_unfreezes_the_last_block_at_a_third_of_the_rate() -> None:
    plan = transfer_rule(5 * 500, 5, GROUPS)
    assert plan.regime == "medium"
    assert [g.trainable for g in plan.groups] == [False, False, True, True]
    assert plan.groups[2].lr_factor == pytest.approx(1 / 3)
    assert plan.describe().endswith("stage 3 at lr/3; head at lr")


def test_a_lot_of_data_fine_tunes_everything_with_discriminative_rates() -> None:
    plan = transfer_rule(10 * 5000, 10, GROUPS)
    assert plan.regime == "large" and all(g.trainable for g in plan.groups)
    assert [g.lr_factor for g in plan.groups] == pytest.approx([1 / 27, 1 / 9, 1 / 3, 1])


def test_regime_override_and_refusal() -> None:
    assert transfer_rule(100, 2, GROUPS, regime="large").regime == "large"
    with pytest.raises(FullcycleError, match="unknown transfer regime"):
        transfer_rule(100, 2, GROUPS, regime="huge")


def trained_resnet(outputs: int = 8) -> ImageResNet:
    torch.manual_seed(0)
    return ImageResNet(1, outputs, widths=(4, 8, 16))


def test_new_head_keeps_the_trunk_weights() -> None:
    old = trained_resnet(8)
    new = replace_head(old, 2)
    assert new.output.out_features == 2 and new.config["n_outputs"] == 2
    for key, value in old.state_dict().items():
        if not key.startswith("output."):
            assert torch.equal(new.state_dict()[key], value)


def test_training_moves_only_what_the_rule_leaves_trainable() -> None:
    model = replace_head(trained_resnet(8), 2)
    assert [name for name, _ in layer_groups(model)] == GROUPS
    plan = transfer_rule(5 * 500, 5, GROUPS)  # medium: stage 3 and the head train
    groups = apply_plan(model, plan)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    frozen_conv = model.stages[0][0].conv1.weight
    assert not frozen_conv.requires_grad
    assert not model.stages[0][0].bn1.weight.requires_grad  # frozen with its group
    assert model.stages[2][0].bn1.weight.requires_grad
    norms = frozen_norms(model, plan)
    assert model.stem[1] in norms and model.stages[1][0].bn2 in norms
    assert model.stages[2][0].bn1 not in norms
    x, y = torch.randn(32, 1, 12, 12) * 3 + 1, torch.randint(0, 2, (32,))
    result = fit(model, (x, y), loss="cross_entropy", epochs=2, batch_size=16, lr=1e-2,
                 optimizer=optimizer_factory(groups), progress=False,
                 callbacks=[KeepInInference(norms)])
    after = result.model.state_dict()
    for frozen in ("stages.0.0.conv1.weight", "stages.1.0.conv2.weight", "stem.1.weight",
                   "stages.1.0.bn2.bias", "stages.0.0.bn1.running_mean",
                   "stages.1.0.bn1.running_var"):  # task A's statistics, kept
        assert torch.equal(after[frozen], before[frozen]), frozen
    for trained in ("stages.2.0.conv2.weight", "stages.2.0.bn1.weight",
                    "stages.2.0.bn1.running_mean", "output.weight"):
        assert not torch.equal(after[trained], before[trained]), trained


def test_optimizer_gives_each_group_its_rate() -> None:
    model = replace_head(trained_resnet(8), 3)
    groups = apply_plan(model, transfer_rule(10 * 5000, 10, GROUPS))
    optimizer = optimizer_factory(groups)(None, lr=0.03)
    rates = [g["lr"] for g in optimizer.param_groups]
    assert rates == pytest.approx([0.03 / 27, 0.03 / 9, 0.03 / 3, 0.03])
    trained = {id(p) for g in optimizer.param_groups for p in g["params"]}
    assert trained == {id(p) for p in model.parameters()}


def test_user_module_with_safetensors_weights(tmp_path: Path) -> None:
    def build() -> nn.Module:
        return nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.Flatten(),
                             nn.Linear(4 * 6 * 6, 8), nn.ReLU(), nn.Linear(8, 5))

    torch.manual_seed(0)
    original = build()
    save_file(original.state_dict(), str(tmp_path / "w.safetensors"))
    loaded = pretrained_module(build(), tmp_path / "w.safetensors")
    assert torch.equal(loaded[0].weight, original[0].weight)
    model = replace_head(loaded, 2)
    assert model[-1].out_features == 2 and torch.equal(model[3].weight, original[3].weight)
    names = [name for name, _ in layer_groups(model)]
    assert names[-1] == "head" and 2 <= len(names) <= 4
    with pytest.raises(FullcycleError, match="do not fit the module"):
        pretrained_module(nn.Linear(3, 3), tmp_path / "w.safetensors")


def test_a_seed_averaged_bundle_transfers_from_its_first_member(tmp_path: Path) -> None:
    from fullcycle.models.ensemble import SeedEnsemble

    first, second = trained_resnet(3), ImageResNet(1, 3, widths=(4, 8, 16))
    save_bundle(tmp_path / "avg", SeedEnsemble([first, second], "multiclass"),
                {"features": {"kind": "image"}}, "multiclass", {}, {})
    model, _ = pretrained_from_bundle(tmp_path / "avg")
    assert isinstance(model, ImageResNet)
    for mine, theirs in zip(model.state_dict().values(), first.state_dict().values(),
                            strict=True):
        assert torch.equal(mine, theirs)
    two = replace_head(model, 1)  # task B's head on one trunk, not on one member of five
    assert two(torch.zeros(2, 1, 16, 16)).shape == (2, 1)


def test_pretrained_bundle_must_come_from_pictures(tmp_path: Path) -> None:
    save_bundle(tmp_path / "pics", trained_resnet(8), {"features": {"kind": "image"}},
                "multiclass", {}, {})
    model, bundle = pretrained_from_bundle(tmp_path / "pics")
    assert isinstance(model, ImageResNet) and bundle.task == "multiclass"
    from fullcycle.models.mlp import TabularMLP

    save_bundle(tmp_path / "table", TabularMLP(3, 1), {"features": {"numeric": []}},
                "binary", {}, {})
    with pytest.raises(FullcycleError, match="trained on a table"):
        pretrained_from_bundle(tmp_path / "table")


class UserNet(nn.Module):
    """A user's own network for pictures, bundle-ready: its config is read off its layers."""

    def __init__(self, n_outputs: int = 3) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(2), nn.Flatten())
        self.output = nn.Linear(16, n_outputs)

    @property
    def config(self) -> dict:
        return {"n_outputs": self.output.out_features}

    @classmethod
    def from_config(cls, config: dict) -> UserNet:
        return cls(**config)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.body(x))


def test_unregistered_user_module_is_refused_before_training() -> None:
    from fullcycle.recipe.images import pretrained_source

    with pytest.raises(FullcycleError, match="register it with .*register_architecture"):
        pretrained_source(nn.Sequential(nn.Flatten(), nn.Linear(4, 2)))


@pytest.mark.slow
def test_run_transfers_from_a_users_module_and_safetensors(tmp_path: Path) -> None:
    from pictures import write_shapes

    import fullcycle as fc
    from fullcycle.models.bundle import ARCHITECTURES, load_bundle, register_architecture

    register_architecture(UserNet)
    try:
        torch.manual_seed(0)
        save_file(UserNet(3).state_dict(), str(tmp_path / "task_a.safetensors"))
        module = fc.pretrained_module(UserNet(3), tmp_path / "task_a.safetensors")
        data = write_shapes(tmp_path / "b", 10, classes=("disc", "bar"))
        result = fc.run(data, out=tmp_path / "run", budget="20s", pretrained=module)
        plan = result.summary["architecture"]["transfer"]
        assert plan["regime"] == "small" and plan["groups"][-1]["name"] == "head"
        assert not any(g["trainable"] for g in plan["groups"][:-1])
        trained = load_bundle(tmp_path / "run" / "model").model
        assert isinstance(trained, UserNet) and trained.output.out_features == 1  # binary
        chosen = result.summary["chosen"]["config"]["images"]["transfer"]
        if chosen == "small":  # the first experiment's rule held: the trunk never moved
            assert torch.equal(trained.body[0].weight, module.body[0].weight)
        else:  # a later bias move unfroze it, and was kept for a better dev error
            assert any(e["change"].startswith("unfreeze") and e["kept"]
                       for e in result.summary["experiments"])
    finally:
        ARCHITECTURES.pop("UserNet", None)
