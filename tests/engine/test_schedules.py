"""Each learning-rate decay against its formula (seed 003) and against torch's schedulers."""

from __future__ import annotations

import math

import pytest
import torch

from fullcycle.engine import schedules as S
from fullcycle.errors import FullcycleError


def test_inverse_time_matches_seed_worked_example():
    # seed 003: α0 = 0.2, decay_rate = 1 -> 0.1, 0.067, 0.05, 0.04 in epochs 1..4
    lrs = [0.2 * S.inverse_time(e, decay_rate=1.0) for e in (1, 2, 3, 4)]
    assert lrs == pytest.approx([0.1, 0.2 / 3, 0.05, 0.04])


def test_exponential_is_095_to_the_epoch():
    assert [S.exponential(e) for e in (1, 2, 10)] == pytest.approx([0.95, 0.9025, 0.95**10])


def test_k_over_sqrt_epoch_and_k_over_sqrt_t():
    assert S.inverse_sqrt_epoch(4, k=0.5) == pytest.approx(0.25)
    assert S.inverse_sqrt_step(9, k=3.0) == pytest.approx(1.0)


def test_staircase_drops_every_n_epochs():
    f = [S.staircase(e, drop=0.5, every=3) for e in range(1, 8)]
    assert f == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]


def _torch_lrs(make, steps: int, lr: float = 1.0) -> list[float]:
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def test_cosine_matches_torch_cosine_annealing():
    total = 20
    ours = [S.cosine(t, total, min_factor=0.1) for t in range(total)]
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, total, 0.1), total)
    assert ours == pytest.approx(ref, abs=1e-9)


@pytest.mark.parametrize("mult", [1, 2])
def test_cosine_restarts_matches_sgdr(mult):
    ours = [S.cosine_restarts(t, period=4, mult=mult) for t in range(28)]
    ref = _torch_lrs(
        lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=4, T_mult=mult), 28)
    assert ours == pytest.approx(ref, abs=1e-9)
    assert ours[4] == pytest.approx(1.0)  # back to the full rate at a restart


def test_one_cycle_matches_torch_one_cycle():
    steps, pct = 51, 0.3
    ref = _torch_lrs(lambda o: torch.optim.lr_scheduler.OneCycleLR(
        o, max_lr=1.0, total_steps=steps, pct_start=pct, three_phase=False,
        cycle_momentum=False), steps)
    # torch's phases end at step pct·steps − 1 and steps − 1 (0-based)
    total = steps - 1.0
    ours = [S.one_cycle(t, total, pct_start=(pct * steps - 1) / total) for t in range(steps)]
    assert ours == pytest.approx(ref, rel=1e-9)
    assert ours[0] == pytest.approx(1 / 25) and ours[-1] == pytest.approx(1 / (25 * 1e4))


def test_lambda_scheduler_holds_epoch_schedules_within_an_epoch():
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.2)
    sched = S.lr_scheduler(opt, S.parse_schedule("inverse_time"), steps_per_epoch=3, epochs=4)
    seen = []
    for _ in range(9):
        seen.append(round(opt.param_groups[0]["lr"], 6))
        opt.step()
        sched.step()
    assert seen == [0.1] * 3 + [round(0.2 / 3, 6)] * 3 + [0.05] * 3


def test_step_schedule_moves_every_batch():
    s = S.parse_schedule("inverse_sqrt_step:k=1")
    assert [s.factor(t, 10, 1) for t in range(4)] == pytest.approx(
        [1.0, 1 / math.sqrt(2), 1 / math.sqrt(3), 0.5])


def test_parse_schedule_reads_parameters_and_rejects_unknown_ones():
    s = S.parse_schedule("staircase:drop=0.1,every=5")
    assert s.params == {"drop": 0.1, "every": 5}
    assert S.parse_schedule(None).name == "constant"
    assert S.parse_schedule({"name": "cosine"}).name == "cosine"
    with pytest.raises(FullcycleError, match="no parameter 'gamma'"):
        S.parse_schedule("cosine:gamma=2")
    with pytest.raises(FullcycleError, match="unknown schedule"):
        S.parse_schedule("warp")
