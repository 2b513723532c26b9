"""The recipe's moves: one knob each, bias moves before variance moves, nothing repeated."""

from __future__ import annotations

from fullcycle.recipe.config import TrainConfig as _Config
from fullcycle.recipe.moves import bias_moves, propose, variance_moves


def TrainConfig(**knobs) -> _Config:  # noqa: N802 - moves act on a config resolved for the data
    return _Config(**{"epochs": 30, "batch_size": 128, "patience": 6, "hidden": (16,),
                      **knobs})


def _changed_knobs(before: _Config, after: _Config) -> set[str]:
    a, b = before.to_dict(), after.to_dict()
    return {k for k in a if a[k] != b[k]}


def test_every_move_turns_one_knob():
    config = TrainConfig(hidden=(16,), dropout=(0.25,), l2=1.0)
    for move in bias_moves(config) + variance_moves(config, n_train=1000):
        knobs = _changed_knobs(config, move.config) - {"patience"}
        assert len(knobs) <= 2 and knobs, move.change  # less-regularization clears both
        if move.key.startswith("less-regularization"):
            assert knobs == {"dropout", "l2"}
        elif move.key.startswith("deeper"):  # the new layer; dropout stays before the last
            assert knobs <= {"hidden", "dropout"}
            assert move.config.dropout_per_layer()[-1] == config.dropout_per_layer()[-1]
        else:
            assert len(knobs) == 1, (move.change, knobs)


def test_bias_is_fixed_first_with_a_bigger_network():
    moves = propose("avoidable_bias", {"avoidable_bias": 0.1, "variance": 0.05},
                    TrainConfig(hidden=(8,)), set(), tolerance=0.005, n_train=500)
    assert moves[0].family == "avoidable_bias" and moves[0].key.startswith("wider")
    assert moves[-1].family == "variance"  # variance above tolerance comes after


def test_variance_starts_with_dropout_before_the_last_layer_then_05_then_earlier():
    config = TrainConfig(hidden=(32, 16))
    first = variance_moves(config, 1000)[0]
    assert first.config.dropout_per_layer() == [0.0, 0.25]
    second = variance_moves(first.config, 1000)[0]
    assert second.config.dropout_per_layer() == [0.0, 0.5]
    earlier = [m for m in variance_moves(second.config, 1000) if m.key == "dropout-earlier"]
    assert earlier[0].config.dropout_per_layer() == [0.25, 0.5]


def test_l2_climbs_one_decade_per_move_on_a_log_scale():
    config = TrainConfig(hidden=(8,), dropout=(0.5,))
    l2_values = []
    for _ in range(4):
        move = next(m for m in variance_moves(config, 1000) if m.key.startswith("l2"))
        l2_values.append(move.config.l2)
        config = move.config
    assert [round(v / 1000, 8) for v in l2_values] == [1e-5, 1e-4, 1e-3, 1e-2]


def test_tried_moves_are_not_proposed_again():
    config = TrainConfig(hidden=(8,))
    first = propose("variance", {"variance": 0.2}, config, set(), 0.005, 100)
    again = propose("variance", {"variance": 0.2}, config, {first[0].key}, 0.005, 100)
    assert first[0].key not in {m.key for m in again}


def test_no_moves_when_nothing_is_wrong():
    assert propose("none", {"avoidable_bias": 0.0, "variance": 0.0}, TrainConfig(), set(),
                   0.005, 100) == []
