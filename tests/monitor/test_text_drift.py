"""Drift of free-text columns: the domain classifier, its thresholds, and `fullcycle monitor`
on a bundle that reads a text column."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fullcycle.data.dataset import prepare
from fullcycle.monitor.drift import column_drift
from fullcycle.monitor.text_drift import LARGE_REFERENCE_AUC, text_drift, text_threshold
from tests.text.conftest import FILLER, make_reviews, trained_bundle

NEW_WORDS = ["refund", "shipping", "delivery", "package", "courier"]


def _texts(n: int, seed: int, words: list[str]) -> pd.Series:
    rng = np.random.default_rng(seed)
    return pd.Series([" ".join(rng.choice(words, int(rng.integers(4, 12)))) for _ in range(n)])


def test_same_distribution_is_not_drift():
    verdict = text_drift(_texts(400, 1, FILLER), _texts(400, 2, FILLER), reference_rows=400)
    assert verdict is not None and not verdict.drift
    assert 0.35 < verdict.auc < verdict.threshold


def test_new_vocabulary_is_drift_and_the_note_names_it():
    live = _texts(400, 2, FILLER + NEW_WORDS)
    verdict = text_drift(_texts(400, 1, FILLER), live, reference_rows=400)
    assert verdict is not None and verdict.drift and verdict.auc > 0.8
    assert set(verdict.live_words[:3]) <= set(NEW_WORDS)
    assert "refund" in verdict.note or "shipping" in verdict.note


def test_threshold_is_a_random_classifiers_95th_percentile_on_small_references():
    y = np.array([0] * 100 + [1] * 100)
    small = text_threshold(800, y)
    assert 0.53 < small < 0.62  # AUC of noise on 200 texts: sd ≈ 0.04 around 0.5
    rng = np.random.default_rng(0)  # the percentile, measured on random scores
    ranks = rng.random((2000, len(y))).argsort(axis=1).argsort(axis=1) + 1
    aucs = (ranks[:, y == 1].sum(axis=1) - 100 * 101 / 2) / (100 * 100)
    assert abs(np.percentile(aucs, 95) - small) < 0.01
    assert text_threshold(5000, y) == LARGE_REFERENCE_AUC


def test_too_few_texts_gives_no_verdict_and_says_why():
    result = column_drift("review", _texts(400, 1, FILLER), _texts(5, 2, FILLER), "text",
                          reference_rows=400)
    assert result.method == "none" and not result.drift
    assert "too few texts in live data" in result.note
    empty = column_drift("review", _texts(400, 1, FILLER), pd.Series([None] * 50), "text",
                         reference_rows=400)
    assert empty.drift and "no values in live data" in empty.note


@pytest.fixture(scope="module")
def text_bundle(tmp_path_factory):
    p = prepare(make_reviews(600, seed=0), "label")
    return trained_bundle(tmp_path_factory.mktemp("text-bundle") / "model", p)


def test_monitor_checks_the_text_column(cli, tmp_path, text_bundle):
    fresh = make_reviews(400, seed=7).drop(columns="label")
    shifted = fresh.copy()
    rng = np.random.default_rng(3)
    shifted["review"] = [None if t is None else f"{t} {' '.join(rng.choice(NEW_WORDS, 3))}"
                         for t in shifted["review"]]
    verdicts = {}
    for name, frame in (("fresh", fresh), ("shifted", shifted)):
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
        code, out, err = cli("monitor", text_bundle, tmp_path / f"{name}.csv", "--json",
                             "--out", tmp_path / name)
        assert code in (0, 1), err  # 1: the data set drifted (for cron jobs)
        doc = json.loads(out)
        verdicts[name] = {c["column"]: c for c in doc["columns"]}["review"]
    assert verdicts["fresh"]["method"] == "domain_classifier"
    assert not verdicts["fresh"]["drift"]
    assert verdicts["shifted"]["drift"] and verdicts["shifted"]["statistic"] > 0.9
    page = (tmp_path / "shifted" / "monitor.html").read_text()
    assert "domain classifier (ROC AUC)" in page and "AUC &gt; " in page
