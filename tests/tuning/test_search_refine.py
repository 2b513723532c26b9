"""Coarse to fine: the fine ranges lie inside the coarse ones and contain the best trial."""

from __future__ import annotations

import math

import optuna
import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState, create_trial
from search_toys import bowl

from fullcycle.tuning.refine import MARGIN, NarrowedTrial, best_trials, narrow
from fullcycle.tuning.space import default_space


def _coarse_study(n: int = 40) -> optuna.Study:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    study.optimize(lambda t: bowl(default_space(t)), n_trials=n)
    return study


def _inside(value: float, r: dict) -> bool:
    return r["low"] - 1e-12 <= value <= r["high"] + 1e-12


def test_fine_ranges_lie_inside_the_coarse_ones_and_contain_the_best_trial():
    study = _coarse_study()
    fine = narrow(study.trials)
    best = study.best_trial
    for name, dist in best.distributions.items():
        r = fine[name]
        assert dist.low <= r["low"] <= r["high"] <= dist.high, name
        assert _inside(best.params[name], r), name


def test_the_parameter_that_matters_narrows_most():
    study = _coarse_study()
    fine = narrow(study.trials)
    lr = fine["lr"]
    # lr spans 4 decades in the coarse round; the bowl around 1e-3 narrows it a lot
    assert math.log10(lr["high"]) - math.log10(lr["low"]) < 2.5
    assert _inside(1e-3, lr)


def test_log_parameters_narrow_on_the_log_scale_with_a_ten_percent_margin():
    dist = FloatDistribution(1e-5, 1e-1, log=True)
    trials = [create_trial(params={"lr": lr}, distributions={"lr": dist}, value=v)
              for lr, v in [(1e-3, 0.1), (2e-3, 0.2), (5e-4, 0.3), (1e-5, 0.9), (1e-1, 0.95),
                            (3e-2, 0.8), (2e-5, 0.85), (6e-2, 0.9)]]
    r = narrow(trials)["lr"]  # top quarter of 8 is 2 -> at least 3: 1e-3, 2e-3, 5e-4
    pad = MARGIN * 4  # 10% of 4 decades
    assert r["log"] is True
    assert r["low"] == pytest.approx(10 ** (math.log10(5e-4) - pad))
    assert r["high"] == pytest.approx(10 ** (math.log10(2e-3) + pad))


def test_linear_parameters_narrow_on_the_linear_scale_and_clip_to_the_coarse_range():
    dist = FloatDistribution(0.0, 0.5)
    trials = [create_trial(params={"dropout": p}, distributions={"dropout": dist}, value=v)
              for p, v in [(0.01, 0.1), (0.1, 0.2), (0.2, 0.3), (0.5, 0.9)]]
    r = narrow(trials)["dropout"]
    assert r["low"] == 0.0  # 0.01 - 0.05 clipped to the coarse low
    assert r["high"] == pytest.approx(0.25)


def test_integers_round_outward_and_categoricals_keep_the_choices_of_the_best():
    units = IntDistribution(16, 512, log=True)
    act = CategoricalDistribution(["relu", "tanh", "sigmoid"])
    rows = [(20, "relu", 0.1), (30, "tanh", 0.2), (25, "relu", 0.3), (400, "sigmoid", 0.9),
            (500, "sigmoid", 0.95)]
    trials = [create_trial(params={"units": u, "act": a},
                           distributions={"units": units, "act": act}, value=v)
              for u, a, v in rows]
    fine = narrow(trials)
    assert fine["act"]["choices"] == ["relu", "tanh"]
    r = fine["units"]
    assert isinstance(r["low"], int) and isinstance(r["high"], int)
    assert 16 <= r["low"] <= 20 and 30 <= r["high"] < 400


def test_pruned_and_failed_trials_do_not_vote():
    dist = FloatDistribution(0.0, 1.0)
    trials = [create_trial(params={"x": 0.5}, distributions={"x": dist}, value=0.2)]
    trials.append(create_trial(params={"x": 0.0}, distributions={"x": dist},
                               state=TrialState.PRUNED, intermediate_values={1: 0.01}))
    trials.append(create_trial(params={"x": 1.0}, distributions={"x": dist},
                               state=TrialState.FAIL))
    assert [t.params["x"] for t in best_trials(trials)] == [0.5]
    r = narrow(trials)["x"]
    assert r["low"] == pytest.approx(0.4) and r["high"] == pytest.approx(0.6)


def test_no_completed_trial_gives_no_fine_ranges():
    assert narrow([]) == {}


def test_narrowed_trial_draws_every_value_inside_the_fine_ranges():
    study = _coarse_study()
    fine_ranges = narrow(study.trials)
    fine = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=2))
    for _ in range(60):
        trial = fine.ask()
        default_space(NarrowedTrial(trial, fine_ranges))
        for name, value in trial.params.items():
            assert _inside(value, fine_ranges[name]), (name, value, fine_ranges[name])
        fine.tell(trial, 0.0)


def test_narrowed_trial_passes_other_calls_through_to_the_trial():
    study = optuna.create_study()
    trial = study.ask()
    wrapped = NarrowedTrial(trial, {})
    wrapped.set_user_attr("round", "fine")
    assert wrapped.number == trial.number
    assert trial.user_attrs["round"] == "fine"
    assert wrapped.suggest_float("x", 0.0, 1.0) == trial.params["x"]
