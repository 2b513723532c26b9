"""Small generated text tables: a sentiment-like label carried by a few words."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

POSITIVE = ["great", "good", "love", "excellent", "fine", "happy"]
NEGATIVE = ["bad", "awful", "hate", "poor", "sad", "boring"]
FILLER = ["the", "a", "movie", "film", "was", "it", "and", "this", "plot", "actor", "scene",
          "story"]


def make_reviews(n: int = 300, seed: int = 0, missing_every: int = 40) -> pd.DataFrame:
    """A review text (label words among filler), a number, a category and a 0/1 label.

    Every `missing_every`-th text is missing and the one after it blank: their own cases.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = int(rng.integers(2))
        words = list(rng.choice(FILLER, int(rng.integers(2, 12))))
        words += list(rng.choice(POSITIVE if label else NEGATIVE, 2))
        rng.shuffle(words)
        text: str | None = " ".join(words)
        if missing_every and i % missing_every == 0:
            text = None
        elif missing_every and i % missing_every == 1:
            text = "  "
        rows.append({"review": text, "age": float(rng.normal()),
                     "color": str(rng.choice(["red", "green", "blue"])), "label": label})
    return pd.DataFrame(rows)


@pytest.fixture
def reviews() -> pd.DataFrame:
    return make_reviews()


def trained_bundle(directory, p, epochs: int = 2, **knobs):
    """A bundle of a small network trained on prepared table `p` (with its reference)."""
    from fullcycle.models.bundle import save_bundle
    from fullcycle.recipe.trainer import task_metric, train

    outcome = train(p, epochs=epochs, hidden=[8], seed=0, **knobs)
    return save_bundle(directory, outcome.model.cpu().eval(),
                       {"features": p.preprocessor.to_dict(),
                        "target": p.target_encoding.to_dict()},
                       p.task, {"metric": {"name": task_metric(p)}, "errors": {"dev": 0.5}},
                       p.preprocessor.input_schema(),
                       classes=list(p.classes) if p.classes else None,
                       reference=p.frame_of("train"))
