"""Drift of a free-text column: can a classifier tell live texts from the reference?

A text column has no distribution a KS or chi-square test can read, so fullcycle follows
Evidently's default for text (its "domain classifier" method): the reference and the live
texts are labelled 0 and 1, a bag-of-words logistic regression is trained on half of them
and scored by ROC AUC on the other half. Without drift it cannot do better than chance
(AUC ≈ 0.5). The threshold, as Evidently sets it:

    reference ≤ 1,000 rows    drift when the AUC exceeds the 95th percentile of the AUC a
                              random classifier reaches on the same held-out half (a test:
                              it accounts for the sampling noise of small sets)
    reference > 1,000 rows    drift when the AUC exceeds 0.55

The words that most mark each side are named in the note, so a user sees *what* changed
(new product names, another language, a template that changed). scikit-learn does the
vectorizing, the fit and the AUC.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

LARGE_REFERENCE_AUC = 0.55
RANDOM_PERCENTILE = 95
# Enough texts each side for the classifier to learn and the AUC to mean something, and few
# enough that a check stays fast on a large reference (the sample is drawn with a fixed seed).
MAX_TEXTS = 5000
MIN_TEXTS = 10
TOP_WORDS = 5


@dataclass(frozen=True)
class TextDrift:
    """The domain classifier's verdict on one text column."""

    auc: float
    threshold: float
    drift: bool
    live_words: list[str]  # the words that most mark the live texts
    reference_words: list[str]  # ... and the reference texts

    @property
    def note(self) -> str:
        if not self.drift:
            return "a classifier cannot tell live texts from the reference"
        live = ", ".join(self.live_words) or "—"
        ref = ", ".join(self.reference_words) or "—"
        return f"words marking live texts: {live}; marking the reference: {ref}"


def text_threshold(reference_rows: int, y_test: np.ndarray) -> float:
    """The AUC above which the two sets differ (Evidently's rule, see the module docstring).

    A random classifier's AUC is a Mann–Whitney U over n₀·n₁; its 95th percentile comes from
    U's normal approximation (mean ½, variance (n₀+n₁+1) / (12·n₀·n₁)), exact enough from
    ten texts a side, and the same every time (Evidently draws random scores for it).
    """
    from scipy import stats

    if reference_rows > 1000:
        return LARGE_REFERENCE_AUC
    n1 = int(np.sum(y_test == 1))
    n0 = len(y_test) - n1
    spread = np.sqrt((n0 + n1 + 1) / (12.0 * n0 * n1))
    return float(0.5 + stats.norm.ppf(RANDOM_PERCENTILE / 100) * spread)


def domain_classifier(x_fit: Any, y_fit: np.ndarray, x_held: Any, y_held: np.ndarray, *,
                      reference_rows: int) -> tuple[float, float, Any]:
    """(ROC AUC on the held-out half, the threshold it must beat, the fitted model) of a
    logistic regression telling live rows (1) from reference rows (0): the verdict text and
    pictures share, on their own features."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    model = LogisticRegression(max_iter=1000).fit(x_fit, y_fit)
    auc = float(roc_auc_score(y_held, model.predict_proba(x_held)[:, 1]))
    return auc, text_threshold(reference_rows, y_held), model


def text_drift(reference: pd.Series, live: pd.Series, *, reference_rows: int,
               seed: int = 0) -> TextDrift | None:
    """The domain classifier on two sets of texts; None when either side has too few texts
    (fewer than `MIN_TEXTS`) or no word at all for a verdict to mean anything."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(seed)
    ref, cur = _sample(reference, rng), _sample(live, rng)
    if len(ref) < MIN_TEXTS or len(cur) < MIN_TEXTS:
        return None
    texts = np.concatenate([ref, cur])
    labels = np.concatenate([np.zeros(len(ref), int), np.ones(len(cur), int)])
    x_train, x_test, y_train, y_test = train_test_split(
        texts, labels, test_size=0.5, stratify=labels, random_state=seed)
    vectorizer = TfidfVectorizer(sublinear_tf=True, min_df=1, max_features=20000)
    try:
        features = vectorizer.fit_transform(x_train)
    except ValueError:  # every text empty or stop words only: nothing to compare
        return None
    auc, threshold, model = domain_classifier(features, y_train, vectorizer.transform(x_test),
                                              y_test, reference_rows=reference_rows)
    words = np.asarray(vectorizer.get_feature_names_out())
    order = np.argsort(model.coef_[0])
    drift = auc > threshold
    return TextDrift(auc=auc, threshold=threshold, drift=bool(drift),
                     live_words=[str(w) for w in words[order[::-1][:TOP_WORDS]]],
                     reference_words=[str(w) for w in words[order[:TOP_WORDS]]])


def word_counts(values: pd.Series) -> pd.Series:
    """Words per text (missing texts left out): what the monitor page draws for a text column."""
    present = values[values.notna()].map(str)
    return present.str.split().map(len).astype(float).reset_index(drop=True)


def _sample(values: pd.Series, rng: np.random.Generator) -> np.ndarray:
    present = values[values.notna()].map(str).to_numpy(dtype=object)
    if len(present) > MAX_TEXTS:
        present = present[np.sort(rng.choice(len(present), MAX_TEXTS, replace=False))]
    return present
