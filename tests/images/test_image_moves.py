"""The move table for pictures: one knob each, augmentation first for variance; and the
schedule fitted to the deadline."""

from __future__ import annotations

import json
import time

import torch

from fullcycle.engine.deadline import ScheduleToDeadline
from fullcycle.engine.events import Callback
from fullcycle.engine.fit import fit
from fullcycle.engine.schedules import parse_schedule
from fullcycle.recipe.config import TrainConfig
from fullcycle.recipe.images import ImageKnobs, PretrainedSource
from fullcycle.recipe.moves import bias_moves, propose, variance_moves


def config(**knobs: object) -> TrainConfig:
    return TrainConfig(hidden=(), epochs=10, patience=5, batch_size=32,
                       images=ImageKnobs(widths=(16, 32, 64), **knobs))


def test_bias_moves_grow_channels_then_blocks_then_train_longer() -> None:
    moves = bias_moves(config())
    assert [m.key for m in moves] == ["channels:(32, 64, 128)", "blocks:2", "longer:20"]
    assert moves[0].config.images.widths == (32, 64, 128)
    assert moves[1].config.images.blocks == 2 and moves[1].config.images.widths == (16, 32, 64)


def test_transfer_bias_moves_unfreeze_more_layers_instead_of_growing_the_network() -> None:
    source = PretrainedSource(torch.nn.Linear(2, 2), "bundle A")
    moves = bias_moves(config(transfer="small", pretrained=source))
    assert moves[0].key == "unfreeze:medium"
    assert moves[0].config.images.transfer == "medium"
    assert not any(m.key.startswith(("channels", "blocks")) for m in moves)
    assert bias_moves(config(transfer="large", pretrained=source))[0].key.startswith("longer")


def test_variance_moves_augment_first_geometric_then_mirror_then_photometric() -> None:
    first = variance_moves(config(), 1000)
    assert [m.key for m in first] == ["augment:geometric", "augment:mirror",
                                      "augment:photometric", "dropout:0.25", "l2:0.01"]
    assert first[0].config.images.augment == ("crop", "rotate")
    after = variance_moves(first[0].config, 1000)
    assert after[0].config.images.augment == ("crop", "rotate", "flip")
    assert "color" not in first[2].config.images.augment  # grayscale
    colour = variance_moves(config(channels=3), 1000)
    assert "color" in colour[2].config.images.augment


def test_augmentation_chosen_by_the_user_is_not_a_move() -> None:
    keys = [m.key for m in variance_moves(config(augment=("flip",), augment_fixed=True), 100)]
    assert keys == ["dropout:0.25", "l2:0.001"]


def test_less_regularization_removes_dropout_l2_and_recipe_augmentation() -> None:
    regularized = config(dropout=0.25, augment=("crop", "rotate")).with_changes(l2=1.0)
    move = next(m for m in bias_moves(regularized) if m.key == "less-regularization")
    assert move.config.l2 == 0 and move.config.images.dropout == 0
    assert move.config.images.augment == ()


def test_propose_names_the_variance_gap_and_offers_augmentation() -> None:
    moves = propose("variance", {"avoidable_bias": 0.0, "variance": 0.08}, config(), set(),
                    0.005, 1000)
    assert moves[0].key == "augment:geometric" and "variance 0.080" in moves[0].reason


def test_image_config_is_journaled_as_json_and_described() -> None:
    source = PretrainedSource(torch.nn.Linear(2, 2), "bundle runs/a/model")
    cfg = config(augment=("flip",), transfer="small", pretrained=source, dropout=0.25)
    data = json.loads(json.dumps(cfg.to_dict()))
    assert data["images"]["pretrained"] == "bundle runs/a/model"
    assert data["images"]["widths"] == [16, 32, 64] and data["hidden"] == []
    assert cfg.describe().startswith("ResNet 16,32,64 x1, transfer (small), augment flip, "
                                     "dropout 0.25, adam")
    assert cfg.with_changes(lr=0.1).images.pretrained is source  # never copied


class Slow(Callback):
    def after_epoch(self, loop: object) -> None:
        time.sleep(0.1)


def test_schedule_is_fitted_to_the_deadline_so_the_rate_ends_annealed() -> None:
    x, y = torch.randn(64, 3), torch.randint(0, 2, (64,))
    model = torch.nn.Linear(3, 2)
    fitter = ScheduleToDeadline(time.monotonic() + 1.0, parse_schedule("cosine"))
    result = fit(model, (x, y), loss="cross_entropy", epochs=200, batch_size=16, lr=0.1,
                 schedule="cosine", callbacks=[Slow(), fitter], progress=False)
    assert 2 <= result.epochs_run < 200
    assert result.history[-1]["lr"] < 0.1 * 0.2  # the cosine reached its end
    assert any(d["kind"] == "epochs" for d in result.decisions)


def test_a_long_epoch_is_cut_part_way_so_the_fit_uses_the_time_and_still_anneals() -> None:
    """Epochs of minutes (a large folder): the plan is in steps, not whole epochs."""
    x, y = torch.randn(256, 3), torch.randint(0, 2, (256,))
    rates: list[float] = []

    class SlowSteps(Callback):
        def after_batch(self, loop: object) -> None:
            time.sleep(0.02)
            rates.append(loop.optimizer.param_groups[0]["lr"])

    fitter = ScheduleToDeadline(time.monotonic() + 3.0, parse_schedule("cosine"))
    result = fit(torch.nn.Linear(3, 2), (x, y), loss="cross_entropy", epochs=10,
                 batch_size=4, lr=0.1, schedule="cosine", callbacks=[SlowSteps(), fitter],
                 progress=False)
    steps_per_epoch = 64
    assert steps_per_epoch < len(rates) < 10 * steps_per_epoch
    assert len(rates) % steps_per_epoch != 0  # the last epoch ended part-way
    assert result.epochs_run == -(-len(rates) // steps_per_epoch)
    assert rates[-1] < 0.1 * 0.05  # and the cosine still reached its end
    decision = next(d for d in result.decisions if d["kind"] == "epochs")
    assert "." in decision["action"].split()[1]  # "train 2.31 epochs instead of 10"
