"""The default space draws each hyperparameter on the scale seed 000 asks for."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from fullcycle.errors import FullcycleError
from fullcycle.tuning.space import (
    config_key,
    default_space,
    describe_param,
    suggest_one_minus,
    suggest_power_of_two,
)

N = 800


@pytest.fixture(scope="module")
def draws() -> list[dict]:
    """N configurations drawn by Optuna's random sampler from the default space."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(N):
        trial = study.ask()
        out.append(default_space(trial))
        study.tell(trial, 0.0)
    return out


def _per_decade(values: np.ndarray, low: float, high: float) -> np.ndarray:
    edges = 10.0 ** np.arange(math.log10(low), math.log10(high) + 1e-9)
    return np.histogram(values, bins=edges)[0]


def test_learning_rate_is_log_uniform_about_as_many_per_decade(draws):
    lr = np.array([d["lr"] for d in draws])
    assert lr.min() >= 1e-5 and lr.max() <= 1e-1
    counts = _per_decade(lr, 1e-5, 1e-1)
    assert len(counts) == 4
    # each of 4 decades expects N/4 = 200; a linear scale would put ~90% in the last one
    assert np.all(np.abs(counts - N / 4) < 0.2 * N / 4), counts


def test_learning_rate_is_not_sampled_linearly(draws):
    lr = np.array([d["lr"] for d in draws])
    assert np.mean(lr < 1e-2) > 0.6  # linear-uniform on [1e-5, 1e-1] would give ~0.1


def test_beta1_is_sampled_as_one_minus_beta_evenly_per_decade(draws):
    beta = np.array([d["beta1"] for d in draws])
    assert beta.min() >= 0.9 - 1e-12 and beta.max() <= 0.999 + 1e-12
    # 1 - beta in [1e-3, 1e-2] means beta in [0.99, 0.999]: half of the draws, not 10%
    share_above_099 = np.mean(beta >= 0.99)
    assert 0.42 < share_above_099 < 0.58, share_above_099
    counts = _per_decade(1.0 - beta, 1e-3, 1e-1)
    assert np.all(np.abs(counts - N / 2) < 0.12 * N / 2), counts


def test_batch_size_is_a_power_of_two_from_64_to_1024(draws):
    sizes = [d["batch_size"] for d in draws]
    assert set(sizes) == {64, 128, 256, 512, 1024}
    counts = np.array([sizes.count(s) for s in (64, 128, 256, 512, 1024)])
    assert np.all(np.abs(counts - N / 5) < 0.25 * N / 5), counts


def test_l2_and_decay_are_log_uniform(draws):
    l2 = np.array([d["l2_per_example"] for d in draws])  # λ/m, one convention everywhere
    decay = np.array([d["lr_decay"] for d in draws])
    assert np.all(np.abs(_per_decade(l2, 1e-7, 1e-2) - N / 5) < 0.25 * N / 5)
    assert np.all(np.abs(_per_decade(decay, 1e-3, 1.0) - N / 3) < 0.2 * N / 3)


def test_hidden_units_layers_and_dropout_stay_in_range(draws):
    units = np.array([d["hidden_units"] for d in draws])
    assert units.min() >= 16 and units.max() <= 512
    assert np.mean(units < 90) > 0.4  # log scale: 16..90 is half the log range
    assert {d["layers"] for d in draws} == {1, 2, 3, 4}
    dropout = np.array([d["dropout"] for d in draws])
    assert dropout.min() >= 0.0 and dropout.max() <= 0.5
    assert 0.2 < dropout.mean() < 0.3  # linear scale


def test_space_lists_hyperparameters_in_the_seeds_order_of_importance(draws):
    assert list(draws[0])[:4] == ["lr", "beta1", "hidden_units", "batch_size"]


def test_one_minus_beta_rejects_a_range_that_reaches_one():
    trial = optuna.trial.FixedTrial({"one_minus_beta1": 0.01})
    with pytest.raises(FullcycleError, match="1 - beta"):
        suggest_one_minus(trial, "beta1", 0.9, 1.0)


def test_power_of_two_rejects_bounds_that_are_not_powers_of_two():
    trial = optuna.trial.FixedTrial({"log2_batch_size": 7})
    with pytest.raises(FullcycleError, match="powers of two"):
        suggest_power_of_two(trial, "batch_size", 64, 1000)
    assert suggest_power_of_two(trial, "batch_size", 64, 1024) == 128


def test_stored_parameter_names_read_as_their_scale():
    assert describe_param("one_minus_beta1") == "1 - beta1"
    assert describe_param("log2_batch_size") == "log2 batch_size"
    assert describe_param("lr") == "lr"
    assert config_key("one_minus_beta1") == "beta1"
    assert config_key("log2_batch_size") == "batch_size"
