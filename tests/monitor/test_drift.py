"""Drift statistics: Evidently's default method per column and reference size, and SciPy's
numbers behind each verdict."""

from __future__ import annotations

import drift_data
import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fullcycle.monitor.drift import choose_method, column_drift, dataset_drift

KINDS = {c: "categorical" if c in ("c1", "c2", "yes_no") else "numeric"
         for c in drift_data.COLUMNS}


@pytest.mark.parametrize(("kind", "distinct", "rows", "method"), [
    ("numeric", 50, 1000, "ks"), ("numeric", 5, 1000, "chisquare"), ("numeric", 2, 10, "z"),
    ("categorical", 3, 1000, "chisquare"), ("categorical", 2, 1000, "z"),
    ("numeric", 50, 1001, "wasserstein"), ("numeric", 5, 5000, "jensenshannon"),
    ("categorical", 2, 5000, "jensenshannon"),
])
def test_the_method_follows_evidentlys_defaults(kind, distinct, rows, method):
    assert choose_method(kind, distinct, rows) == method


@pytest.mark.parametrize("train_rows", [600, 3000])
def test_a_shift_in_two_of_eight_columns_flags_exactly_those_two(train_rows):
    reference = drift_data.sample(train_rows, seed=1)
    live = drift_data.sample(1000, seed=2, shifted=True)
    report = dataset_drift(reference, live, KINDS, reference_rows=train_rows)
    assert report.drifted_columns == ["n2", "c1"]
    assert report.share == 0.25 and not report.drifted
    methods = {c.column: c.method for c in report.columns}
    small = train_rows <= 1000
    assert methods["n2"] == ("ks" if small else "wasserstein")
    assert methods["rating"] == ("chisquare" if small else "jensenshannon")
    assert methods["yes_no"] == ("z" if small else "jensenshannon")


@pytest.mark.parametrize("train_rows", [600, 3000])
def test_a_fresh_sample_of_the_training_distribution_flags_nothing(train_rows):
    reference = drift_data.sample(train_rows, seed=1)
    report = dataset_drift(reference, drift_data.sample(1000, seed=3), KINDS,
                           reference_rows=train_rows)
    assert report.drifted_columns == [] and report.share == 0.0


def test_tests_raise_false_alarms_at_their_nominal_rate_on_a_small_reference():
    """p < 0.05 on data without drift: about one column in twenty, over many samples."""
    reference = drift_data.sample(600, seed=1)
    alarms = [c.drift for seed in range(100, 140)
              for c in dataset_drift(reference, drift_data.sample(600, seed=seed), KINDS,
                                     reference_rows=600).columns]
    assert 0.01 <= np.mean(alarms) <= 0.10, np.mean(alarms)


def test_the_normed_wasserstein_distance_of_half_a_standard_deviation_is_half():
    rng = np.random.default_rng(0)
    ref, cur = pd.Series(rng.normal(0, 4, 20000)), pd.Series(rng.normal(2, 4, 20000))
    result = column_drift("x", ref, cur, "numeric", reference_rows=20000)
    assert result.method == "wasserstein" and result.score == "distance"
    assert result.statistic == pytest.approx(0.5, abs=0.03) and result.drift


def test_the_z_test_is_the_two_by_two_chi_square():
    ref = pd.Series(["a"] * 300 + ["b"] * 700)
    cur = pd.Series(["a"] * 340 + ["b"] * 660)
    result = column_drift("flag", ref, cur, "categorical", reference_rows=1000)
    table = [[300, 700], [340, 660]]
    assert result.method == "z"
    assert result.statistic == pytest.approx(
        stats.chi2_contingency(table, correction=False).pvalue)


def test_a_new_category_in_live_data_is_measured_not_a_division_by_zero():
    ref = pd.Series(["a", "b", "c"] * 100)
    cur = pd.Series(["a", "b", "c", "new"] * 75)
    result = column_drift("kind", ref, cur, "categorical", reference_rows=300)
    assert result.method == "chisquare" and result.drift and result.statistic < 1e-10


def test_missing_values_are_left_out_and_reported():
    ref = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan, np.inf] * 50)
    cur = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, np.nan, np.nan] * 50)
    result = column_drift("x", ref, cur, "numeric", reference_rows=400)
    assert result.reference_count == 300 and result.live_count == 300
    assert result.missing_reference == 0.25 and result.missing_live == 0.25
    assert not result.drift


def test_a_column_with_no_live_values_has_drifted():
    result = column_drift("x", pd.Series([1.0, 2.0] * 10), pd.Series([np.nan] * 5), "numeric",
                          reference_rows=20)
    assert result.drift and result.statistic is None and result.note == "no values in live data"


def test_the_data_set_drifts_when_the_share_reaches_the_threshold():
    reference = drift_data.sample(600, seed=1)
    live = drift_data.sample(1000, seed=2, shifted=True)
    assert dataset_drift(reference, live, KINDS, reference_rows=600, drift_share=0.25).drifted
    assert not dataset_drift(reference, live, KINDS, reference_rows=600,
                             drift_share=0.26).drifted
