"""The bias-corrected exponentially weighted average (seeds 000 and 003)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fullcycle.ewma import EWMA, ewma, time_constant


def test_recurrence_matches_the_seeds_formula_v_equals_beta_v_plus_one_minus_beta_theta():
    values = [3.0, -1.0, 4.0, 1.5]
    beta = 0.9
    v, expected = 0.0, []
    for t, theta in enumerate(values, start=1):
        v = beta * v + (1 - beta) * theta
        expected.append(v / (1 - beta**t))
    assert ewma(values, beta) == pytest.approx(expected, rel=1e-12)
    assert ewma(values, beta, bias_correction=False)[0] == pytest.approx(0.3)


def test_bias_correction_removes_the_pull_towards_zero_at_the_start():
    constant = [5.0] * 10
    assert ewma(constant, 0.98) == pytest.approx([5.0] * 10)
    raw = ewma(constant, 0.98, bias_correction=False)
    assert raw[0] == pytest.approx(0.1) and raw[-1] < 5.0 * 0.2


def test_streaming_and_series_forms_agree_and_reset_forgets():
    rng = np.random.default_rng(0)
    series = rng.normal(size=200).tolist()
    avg = EWMA(0.95)
    streamed = [avg.update(x) for x in series]
    assert streamed == ewma(series, 0.95)
    avg.reset()
    assert math.isnan(avg.value)
    assert avg.update(2.0) == pytest.approx(2.0)


def test_smoothing_reduces_noise_around_a_level():
    rng = np.random.default_rng(1)
    noisy = (1.0 + 0.5 * rng.normal(size=500)).tolist()
    smooth = ewma(noisy, 0.98)
    assert np.std(smooth[100:]) < 0.3 * np.std(noisy[100:])
    assert np.mean(smooth[100:]) == pytest.approx(1.0, abs=0.1)


def test_time_constant_is_one_over_one_minus_beta():
    assert time_constant(0.9) == pytest.approx(10.0)
    assert time_constant(0.98) == pytest.approx(50.0)


@pytest.mark.parametrize("beta", [-0.1, 1.0, 2.0])
def test_beta_outside_zero_one_is_refused(beta):
    with pytest.raises(ValueError, match="beta"):
        EWMA(beta)


def test_non_finite_values_propagate_instead_of_being_hidden():
    assert math.isinf(ewma([1.0, float("inf")], 0.9)[-1])
